import struct
import zlib

import cv2
import numpy as np
import pytest

from realname.errors import (
    ImageCorruptError,
    ImageDimensionsError,
    ImageEmptyError,
    ImageTooLargeError,
    ImageTypeError,
)
from realname.media.image import ImageLimits, decode_image, load_image, sniff_image
from tests.conftest import encode


def test_decodes_jpeg_png_bmp_webp(astronaut_face: np.ndarray) -> None:
    for ext in (".jpg", ".png", ".bmp", ".webp"):
        image = decode_image(encode(astronaut_face, ext))
        assert image.shape == astronaut_face.shape, ext


def test_when_empty_then_image_empty_error() -> None:
    with pytest.raises(ImageEmptyError):
        decode_image(b"")


def test_when_bytes_are_not_an_image_then_type_error() -> None:
    with pytest.raises(ImageTypeError) as info:
        decode_image(b"%PDF-1.7 this is a document, not a photo")
    assert info.value.code == "IMAGE_TYPE"


def test_when_jpeg_is_truncated_then_corrupt_error(astronaut_face: np.ndarray) -> None:
    data = encode(astronaut_face)
    with pytest.raises(ImageCorruptError):
        decode_image(data[: len(data) // 2])


def test_when_png_is_truncated_then_corrupt_error(astronaut_face: np.ndarray) -> None:
    data = encode(astronaut_face, ".png")
    with pytest.raises(ImageCorruptError):
        decode_image(data[: len(data) - 100])


def test_when_jpeg_body_is_garbage_then_corrupt_error(astronaut_face: np.ndarray) -> None:
    data = bytearray(encode(astronaut_face))
    data[600:-2] = bytes(len(data) - 602)  # keep header and end marker, zero the scan
    with pytest.raises(ImageCorruptError):
        decode_image(bytes(data[:620]) + b"\xff\xd9")


def _png_header_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 1024)
    idat_chunk = b"IDAT" + idat
    tail = struct.pack(">I", len(idat)) + idat_chunk + struct.pack(">I", zlib.crc32(idat_chunk))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + body + tail + end


def test_when_image_is_a_decompression_bomb_then_refused_before_decoding() -> None:
    bomb = _png_header_claiming(50_000, 50_000)  # 2.5 gigapixels in about 100 bytes
    assert len(bomb) < 200
    with pytest.raises(ImageTooLargeError) as info:
        decode_image(bomb)
    assert info.value.status == 413
    assert sniff_image(bomb).width == 50_000


def test_when_image_is_over_40_megapixels_then_too_large() -> None:
    with pytest.raises(ImageTooLargeError):
        decode_image(_png_header_claiming(8000, 5001))


def test_when_image_is_a_thin_strip_then_dimensions_error_before_decoding() -> None:
    # A real 20,000 x 40 PNG of zeros is a couple of kilobytes; enlarged for face detection it
    # was 45 megapixels and 4 GB. It is refused from the header, in either orientation.
    ok, buf = cv2.imencode(".png", np.zeros((40, 20_000, 3), np.uint8))
    assert ok and len(buf) < 5_000
    for data in (buf.tobytes(), _png_header_claiming(40, 1_000_000)):
        with pytest.raises(ImageDimensionsError) as info:
            decode_image(data)
        assert info.value.code == "IMAGE_DIMENSIONS" and info.value.status == 422
    with pytest.raises(ImageDimensionsError):
        decode_image(_png_header_claiming(40, 20_000))
    with pytest.raises(ImageDimensionsError):
        load_image(np.zeros((40, 20_000, 3), np.uint8))  # arrays are held to the same limits


def test_aspect_ratios_of_cameras_chips_and_phones_pass() -> None:
    # chip portrait 102x126, 4:3, 16:9, 9:16, 20:9 phones, and the 3:1 limit itself
    sizes = [(102, 126), (640, 480), (1280, 720), (720, 1280), (1080, 2400), (300, 900)]
    for width, height in sizes:
        _, buf = cv2.imencode(".png", np.zeros((height, width, 3), np.uint8))
        assert decode_image(buf.tobytes()).shape == (height, width, 3)
    with pytest.raises(ImageDimensionsError):
        decode_image(_png_header_claiming(301, 100))
    with pytest.raises(ImageDimensionsError):
        decode_image(_png_header_claiming(102, 126), ImageLimits(max_aspect=1.2))


def test_when_file_is_over_the_byte_limit_then_too_large(astronaut_face: np.ndarray) -> None:
    data = encode(astronaut_face)
    with pytest.raises(ImageTooLargeError):
        decode_image(data, ImageLimits(max_bytes=len(data) - 1))


def test_load_image_accepts_arrays_paths_and_bytes(tmp_path, astronaut_face) -> None:
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), astronaut_face)
    assert load_image(path).shape == astronaut_face.shape
    assert load_image(path.read_bytes()).shape == astronaut_face.shape
    gray = cv2.cvtColor(astronaut_face, cv2.COLOR_BGR2GRAY)
    assert load_image(gray).shape == astronaut_face.shape
    with pytest.raises(ImageTypeError):
        load_image(np.zeros((10, 10, 3), dtype=np.float32))
