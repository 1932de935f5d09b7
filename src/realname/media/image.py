"""Decoding untrusted image bytes safely: sniff the type, read the size from the header, decode.

The pixel count is read from the file header *before* anything is decoded, so a decompression
bomb (a small file that expands to gigapixels) is refused without allocating it. Truncated JPEG
and PNG files, which OpenCV would half-decode with a grey bottom, are refused too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from realname.errors import (
    ImageCorruptError,
    ImageDimensionsError,
    ImageEmptyError,
    ImageTooLargeError,
    ImageTypeError,
)
from realname.media.limits import DEFAULT_IMAGE_LIMITS, ImageLimits

__all__ = [
    "ImageLimits",
    "check_bytes",
    "check_dimensions",
    "decode_image",
    "load_image",
    "sniff_image",
]


DEFAULT_LIMITS = DEFAULT_IMAGE_LIMITS  # the defaults of every function here

# Markers and header sizes of the formats sniffed below (their specifications, not policy).
_JPEG_PREFIX = 0xFF  # every JPEG marker starts with this byte (repeated as fill)
_JPEG_RST = range(0xD0, 0xD8)  # RST0..RST7: no length field
_JPEG_SOF = range(0xC0, 0xD0)  # SOF0..SOF15 ...
_JPEG_NOT_SOF = (0xC4, 0xC8, 0xCC)  # ... except DHT, JPG and DAC: they carry no frame size
_PNG_IHDR_END = 24  # signature (8) + chunk length and type (8) + width and height (8)
_BMP_SIZE_END = 26  # file header (14) + DIB header size (4) + width and height (8)
_WEBP_VP8_END = 30  # RIFF header (12) + chunk header (8) + frame tag and start code (6) + size
_WEBP_VP8L_END = 25  # RIFF header (12) + chunk header (8) + signature (1) + 4 bytes of size
_WEBP_VP8X_END = 30  # RIFF header (12) + chunk header (8) + flags (4) + 2 x 3 bytes of size
_GREY, _BGR, _BGRA = 2, 3, 4  # an array's dimensions (grey) or channels (colour, with alpha)


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str
    width: int
    height: int


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != _JPEG_PREFIX:
            i += 1
            continue
        marker = data[i + 1]
        if marker == _JPEG_PREFIX:
            i += 1
            continue
        if marker in (0xD8, 0x01) or marker in _JPEG_RST:
            i += 2
            continue
        if i + 4 > n:
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC) carry the frame size.
        if marker in _JPEG_SOF and marker not in _JPEG_NOT_SOF:
            if i + 9 > n:
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise ImageCorruptError("JPEG header has no frame size (truncated or corrupt)")


def _jpeg_complete(data: bytes) -> bool:
    return data.rstrip(b"\x00").endswith(b"\xff\xd9")


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < _PNG_IHDR_END or data[12:16] != b"IHDR":
        raise ImageCorruptError("PNG header is missing its IHDR chunk")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _png_complete(data: bytes) -> bool:
    return b"IEND" in data[-16:]


def _bmp_size(data: bytes) -> tuple[int, int]:
    if len(data) < _BMP_SIZE_END:
        raise ImageCorruptError("BMP header is truncated")
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= _WEBP_VP8_END:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= _WEBP_VP8L_END:
        b = data[21:25]
        width = 1 + (((b[1] & 0x3F) << 8) | b[0])
        height = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return width, height
    if chunk == b"VP8X" and len(data) >= _WEBP_VP8X_END:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    raise ImageCorruptError("WebP header is truncated or of an unknown kind")


def sniff_image(data: bytes) -> ImageHeader:
    """Type and size of an image from its first bytes, without decoding it."""
    if not data:
        raise ImageEmptyError("the image is empty (0 bytes)")
    if data[:3] == b"\xff\xd8\xff":
        width, height = _jpeg_size(data)
        return ImageHeader("jpeg", width, height)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        width, height = _png_size(data)
        return ImageHeader("png", width, height)
    if data[:2] == b"BM":
        width, height = _bmp_size(data)
        return ImageHeader("bmp", width, height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        width, height = _webp_size(data)
        return ImageHeader("webp", width, height)
    raise ImageTypeError(
        "not a supported image: expected JPEG, PNG, BMP or WebP bytes", first_bytes=data[:8].hex()
    )


def check_bytes(size: int, subject: str, limits: ImageLimits = DEFAULT_LIMITS) -> None:
    """Refuse ``size`` bytes over the limit (:class:`ImageTooLargeError`, naming ``subject``)."""
    if size > limits.max_bytes:
        raise ImageTooLargeError(
            f"{subject} is {size} bytes, over the limit of {limits.max_bytes}",
            size_bytes=size,
            max_bytes=limits.max_bytes,
        )


def check_dimensions(width: int, height: int, limits: ImageLimits = DEFAULT_LIMITS) -> None:
    """Refuse a size (from a header, before decoding) over the pixel limit
    (:class:`ImageTooLargeError`), under ``min_side`` (:class:`ImageCorruptError`), or of an
    aspect ratio no camera or chip produces (:class:`ImageDimensionsError`)."""
    pixels = width * height
    if pixels > limits.max_pixels:
        raise ImageTooLargeError(
            f"the image is {width}x{height} = {pixels} pixels, over the limit of "
            f"{limits.max_pixels}",
            width=width,
            height=height,
            max_pixels=limits.max_pixels,
        )
    if width < limits.min_side or height < limits.min_side:
        raise ImageCorruptError(
            f"the image is {width}x{height}, under {limits.min_side} px a side",
            width=width,
            height=height,
        )
    aspect = max(width, height) / min(width, height)
    if aspect > limits.max_aspect:
        raise ImageDimensionsError(
            f"the image is {width}x{height}: an aspect ratio of {aspect:.1f}:1, over the limit "
            f"of {limits.max_aspect:g}:1 (no camera or chip produces such a strip)",
            width=width,
            height=height,
            max_aspect=limits.max_aspect,
        )


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Decode untrusted bytes into a BGR uint8 array, or raise an :class:`ImageError`."""
    check_bytes(len(data), "the image file", limits)
    header = sniff_image(data)
    check_dimensions(header.width, header.height, limits)
    if header.format == "jpeg" and not _jpeg_complete(data):
        raise ImageCorruptError("the JPEG file is truncated (no end-of-image marker)")
    if header.format == "png" and not _png_complete(data):
        raise ImageCorruptError("the PNG file is truncated (no IEND chunk)")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageCorruptError(f"the {header.format.upper()} data could not be decoded")
    if image.shape[:2] != (header.height, header.width):
        raise ImageCorruptError("the decoded size does not match the header")
    return np.ascontiguousarray(image)


def load_image(
    source: str | Path | bytes | np.ndarray, limits: ImageLimits = DEFAULT_LIMITS
) -> np.ndarray:
    """An image from a path, bytes, or an already-decoded BGR array (checked, not copied)."""
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim not in (_GREY, _BGR):
            raise ImageTypeError("an image array must be uint8, HxW or HxWx3 (BGR)")
        if source.ndim == _GREY:
            return cv2.cvtColor(source, cv2.COLOR_GRAY2BGR)
        if source.shape[2] == _BGRA:
            return cv2.cvtColor(source, cv2.COLOR_BGRA2BGR)
        if source.shape[2] != _BGR:
            raise ImageTypeError("an image array must have 1, 3 or 4 channels")
        check_dimensions(int(source.shape[1]), int(source.shape[0]), limits)
        return source
    if isinstance(source, bytes | bytearray | memoryview):
        return decode_image(bytes(source), limits)
    path = Path(source)
    check_bytes(path.stat().st_size, path.name, limits)
    return decode_image(path.read_bytes(), limits)
