"""Decoding untrusted video uploads into a short, checked clip of frames with timestamps.

A clip arrives as the bytes of a video file (MP4, MOV, WebM/Matroska, AVI or MPEG-PS), as a
sequence of JPEG/PNG frames with timestamps, or as a folder of such frames. The bytes are sniffed
and counted before anything is decoded, and decoded in memory by OpenCV's FFmpeg backend (no
temporary file). Every frame is *grabbed* so the effective frame rate is measured, but only the
frames kept by ``sample_fps`` are *retrieved* (converted to BGR) and downscaled for analysis.

The container's own frame count and frame rate are never trusted for limits (Chromium's
MediaRecorder writes WebM without either): the duration and the frame rate are measured from
the frames actually decoded. Decoding stops as soon as the clip passes the longest allowed
duration, so an hour-long upload costs no more than a 15-second one.

What a truncated file does: an MP4 or MOV cut short loses its ``moov`` index (written last by
most recorders), so FFmpeg cannot open it: :class:`VideoCorruptError`. An MP4, MOV or AVI whose
stream ends well before the frame count its index announces is corrupt too. A truncated WebM or
MPEG-PS has no reliable index: its decodable prefix is judged like any other clip (and usually
fails the duration limit).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import cv2
import numpy as np

from realname.errors import (
    CaptureTimeoutError,
    ImageError,
    ImageTooLargeError,
    ImageTypeError,
    InputError,
    VideoCorruptError,
    VideoEmptyError,
    VideoError,
    VideoFrameRateError,
    VideoResolutionError,
    VideoTooLargeError,
    VideoTooLongError,
    VideoTooShortError,
    VideoTypeError,
)
from realname.media.image import decode_image, load_image, sniff_image
from realname.media.limits import DEFAULT_VIDEO_LIMITS, ImageLimits, VideoLimits

__all__ = [
    "DEFAULT_VIDEO_LIMITS",
    "Clip",
    "VideoLimits",
    "check_deadline",
    "decode_clip",
    "frames_clip",
    "load_clip",
    "sniff_container",
]


@dataclass(frozen=True, slots=True, eq=False)
class Clip:
    """Frames kept from a clip, with their timestamps and what was measured on the source.

    ``frames`` are BGR uint8, downscaled by ``scale`` (1.0 = native) so their long side is at
    most the ``analysis_long_side`` asked for. ``timestamps_s`` are per kept frame, from the start
    of the clip, strictly increasing. ``width``, ``height``, ``source_fps`` (``decoded_frames`` /
    ``duration_s``) and ``codec`` describe the source.
    """

    frames: tuple[np.ndarray, ...]
    timestamps_s: tuple[float, ...]
    source_fps: float
    width: int
    height: int
    duration_s: float
    container: str
    codec: str
    decoded_frames: int
    scale: float


# Image files a frames folder may hold, and the name of its optional timestamp table.
FRAME_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
TIMESTAMPS_FILE = "timestamps.csv"

_EPS_S = 1e-6  # float slack on duration limits
_SAMPLE_SLACK_S = 0.002  # container timestamps are often rounded to the millisecond
_MIN_GAPS_FRAMES = 2  # frames needed to measure one gap between them
_IMAGE_NDIM = 2  # an array of fewer dimensions is no image (load_image refuses it)
_MAX_SANE_FPS = 240.0  # a reported frame rate above this is a time base, not a frame rate
_INDEXED = frozenset({"mp4", "mov", "avi"})  # containers whose frame count comes from an index
_OPEN_PARAMS = [
    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
    10_000,
    cv2.CAP_PROP_READ_TIMEOUT_MSEC,
    10_000,
    cv2.CAP_PROP_HW_ACCELERATION,
    cv2.VIDEO_ACCELERATION_NONE,
]


def sniff_container(data: bytes) -> str:
    """Container of a video from its magic bytes: ``mp4``, ``mov``, ``webm``, ``avi`` or ``mpg``.

    An ISO-BMFF ``ftyp`` box is ``mov`` when its major brand is ``qt  ``, else ``mp4``; any EBML
    file (WebM or Matroska) is ``webm``; ``mpg`` is an MPEG program stream or elementary stream.
    """
    if not data:
        raise VideoEmptyError("the video is empty (0 bytes)")
    if data[4:8] == b"ftyp":
        return "mov" if data[8:12] == b"qt  " else "mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "avi"
    if data[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpg"
    raise VideoTypeError(
        "not a supported video: expected MP4, MOV, WebM, AVI or MPEG bytes",
        first_bytes=data[:8].hex(),
    )


def _iter_boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """ISO-BMFF boxes in ``data[start:end]`` as (type, payload start, box end); stops if cut."""
    boxes: list[tuple[bytes, int, int]] = []
    i = start
    while i + 8 <= end:
        (size,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        header = 8
        if size == 1:
            if i + 16 > end:
                break
            (size,) = struct.unpack(">Q", data[i + 8 : i + 16])
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            boxes.append((kind, i + header, -1))  # cut short: the box runs past the data
            break
        boxes.append((kind, i + header, i + size))
        i += size
    return boxes


def _diagnose_unopenable(data: bytes, container: str) -> VideoError:
    """Why FFmpeg could not open a sniffed container: a missing index, no video track, or else."""
    if container in ("mp4", "mov"):
        top = _iter_boxes(data, 0, len(data))
        moov = next((box for box in top if box[0] == b"moov"), None)
        if moov is None or moov[2] < 0:
            return VideoCorruptError(
                f"the {container.upper()} file has no complete moov index (truncated, or still "
                "being written when it was uploaded)",
                container=container,
            )
        handlers: list[bytes] = []
        stack = [moov]
        while stack:
            _, payload, box_end = stack.pop()
            for kind, child, child_end in _iter_boxes(data, payload, box_end):
                if kind in (b"trak", b"mdia") and child_end > 0:
                    stack.append((kind, child, child_end))
                elif kind == b"hdlr" and child + 12 <= len(data):
                    handlers.append(data[child + 8 : child + 12])
        if b"vide" not in handlers:
            return VideoTypeError(
                f"the {container.upper()} file has no video track",
                container=container,
                tracks=",".join(h.decode("latin-1") for h in handlers),
            )
    return VideoCorruptError(
        f"the {container.upper()} data could not be opened as a video (corrupt, or a codec "
        "this build cannot decode)",
        container=container,
    )


def _fourcc(value: float) -> str:
    code = int(value) if math.isfinite(value) and value > 0 else 0
    text = code.to_bytes(4, "little", signed=False).decode("latin-1") if code < 2**32 else ""
    return "".join(ch for ch in text if ch.isprintable()).strip()


def _sane_fps(fps: float) -> float | None:
    return fps if math.isfinite(fps) and 0.0 < fps <= _MAX_SANE_FPS else None


def _target_size(width: int, height: int, long_side: int | None) -> tuple[int, int, float]:
    if long_side is None or max(width, height) <= long_side:
        return width, height, 1.0
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale)), scale


def _check_args(sample_fps: float | None, analysis_long_side: int | None) -> None:
    if sample_fps is not None and not (math.isfinite(sample_fps) and sample_fps > 0):
        raise InputError(f"sample_fps must be positive or None, not {sample_fps!r}")
    if analysis_long_side is not None and analysis_long_side < 1:
        raise InputError(f"analysis_long_side must be positive or None, not {analysis_long_side}")


def _check_bytes(size: int, subject: str, limits: VideoLimits) -> None:
    """Refuse ``size`` bytes over the limit: :class:`VideoTooLargeError`, its detail starting
    with ``subject`` (which carries its verb: ``"the frames are"``)."""
    if size > limits.max_bytes:
        raise VideoTooLargeError(
            f"{subject} {size} bytes, over the limit of {limits.max_bytes}",
            size_bytes=size,
            max_bytes=limits.max_bytes,
        )


def _check_resolution(width: int, height: int, limits: VideoLimits) -> None:
    short = min(width, height)
    if short < limits.min_short_side or short > limits.max_short_side:
        raise VideoResolutionError(
            f"the video is {width}x{height}: its short side of {short} px is outside "
            f"{limits.min_short_side}-{limits.max_short_side} px",
            width=width,
            height=height,
            min_short_side=limits.min_short_side,
            max_short_side=limits.max_short_side,
        )
    aspect = max(width, height) / short
    if aspect > limits.max_aspect:
        raise VideoResolutionError(
            f"the video is {width}x{height}: an aspect ratio of {aspect:.2f}:1, over the limit "
            f"of {limits.max_aspect:g}:1 (no camera records such a strip)",
            width=width,
            height=height,
            max_aspect=limits.max_aspect,
        )
    if width * height > limits.max_pixels:
        raise VideoResolutionError(
            f"the video is {width}x{height} = {width * height} pixels a frame, over the limit "
            f"of {limits.max_pixels} (1080p)",
            width=width,
            height=height,
            max_pixels=limits.max_pixels,
        )


def check_deadline(deadline: float | None, stage: str) -> None:
    """Raise :class:`CaptureTimeoutError` once ``time.monotonic()`` passes ``deadline``."""
    if deadline is not None and time.monotonic() > deadline:
        raise CaptureTimeoutError(
            f"the clip could not be judged within its time budget (stopped while {stage})",
            stage=stage,
        )


def _check_too_long(elapsed_s: float, frames: int, limits: VideoLimits) -> None:
    if elapsed_s > limits.max_duration_s + _EPS_S:
        raise VideoTooLongError(
            f"the video runs past {limits.max_duration_s:g} s (decoding stopped at "
            f"{elapsed_s:.2f} s)",
            duration_s=round(elapsed_s, 3),
            max_duration_s=limits.max_duration_s,
        )
    if frames > limits.max_frames:
        raise VideoTooLongError(
            f"the video has more than {limits.max_frames} frames",
            max_frames=limits.max_frames,
        )


def _measure(times: Sequence[float], fallback_interval_s: float | None) -> tuple[float, float]:
    """(duration, one frame interval): last - first + the median gap between frames."""
    if len(times) >= _MIN_GAPS_FRAMES:
        interval = float(np.median(np.diff(np.asarray(times, dtype=np.float64))))
    else:
        interval = fallback_interval_s or 0.0
    return times[-1] - times[0] + interval, interval


def _check_measured(duration_s: float, frames: int, limits: VideoLimits) -> float:
    """The effective frame rate, after checking the duration and the frame rate limits."""
    _check_too_long(duration_s, frames, limits)
    if duration_s < limits.min_duration_s - _EPS_S:
        raise VideoTooShortError(
            f"the video lasts {duration_s:.2f} s, under the minimum of {limits.min_duration_s:g} s",
            duration_s=round(duration_s, 3),
            min_duration_s=limits.min_duration_s,
        )
    fps = frames / duration_s
    if fps < limits.min_fps:
        raise VideoFrameRateError(
            f"the video has {frames} frames in {duration_s:.2f} s = {fps:.1f} fps, under the "
            f"minimum of {limits.min_fps:g} fps",
            fps=round(fps, 2),
            min_fps=limits.min_fps,
            frames=frames,
        )
    return fps


class _Sampler:
    """Keeps a frame when its timestamp reaches the next sampling time (every frame if None)."""

    def __init__(self, sample_fps: float | None) -> None:
        self._step = None if sample_fps is None else 1.0 / sample_fps
        self._next = 0.0

    def keep(self, t: float) -> bool:
        if self._step is None:
            return True
        if t + _SAMPLE_SLACK_S < self._next:
            return False
        self._next = (math.floor((t + _SAMPLE_SLACK_S) / self._step) + 1) * self._step
        return True


def _resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (frame.shape[1], frame.shape[0]) == size:
        return np.ascontiguousarray(frame)
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def decode_clip(
    data: bytes,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    *,
    sample_fps: float | None = 15.0,
    analysis_long_side: int | None = 640,
    deadline: float | None = None,
) -> Clip:
    """Decode untrusted video bytes in memory into a checked :class:`Clip`, or raise a
    :class:`~realname.errors.VideoError`.

    Every frame is grabbed (counted and timed); only frames kept at ``sample_fps`` (all when
    None) are retrieved and downscaled to ``analysis_long_side`` (no limit when None). The frame
    size is checked from the container's header before decoding and again on the first frame.
    ``deadline`` (a :func:`time.monotonic` instant) is checked between frames:
    :class:`~realname.errors.CaptureTimeoutError` once it passes.
    """
    _check_args(sample_fps, analysis_long_side)
    data = bytes(data)
    if not data:
        raise VideoEmptyError("the video is empty (0 bytes)")
    _check_bytes(len(data), "the video file is", limits)
    container = sniff_container(data)
    # OpenCV 5 reads from any object with read() and seek() (its IStreamReader protocol); the
    # stream must outlive the capture.
    stream = io.BytesIO(data)
    cap = cv2.VideoCapture(cast("cv2.IStreamReader", stream), cv2.CAP_FFMPEG, _OPEN_PARAMS)
    try:
        if not cap.isOpened():
            raise _diagnose_unopenable(data, container)
        return _read_capture(cap, container, limits, sample_fps, analysis_long_side, deadline)
    finally:
        cap.release()


def _frame_time(
    pos_ms: float, origin: float, times: Sequence[float], reported_fps: float | None, container: str
) -> float:
    """The timestamp of a grabbed frame from the first one: its position, or one interval past
    the last frame when the position is not sane or not increasing."""
    t = pos_ms / 1000.0 - origin if math.isfinite(pos_ms) else math.nan
    if not times:
        return 0.0
    if t > times[-1]:
        return t
    interval = 1.0 / reported_fps if reported_fps else _measure(times, None)[1]
    if interval <= 0:
        raise VideoCorruptError(
            "the video has neither usable timestamps nor a frame rate", container=container
        )
    return times[-1] + interval


def _check_index(container: str, reported_frames: int, decoded: int, limits: VideoLimits) -> None:
    """Refuse an indexed stream that ends well before the frame count its index announces."""
    if container not in _INDEXED or reported_frames <= 0:
        return
    missing = reported_frames - decoded
    if missing > max(limits.max_missing_frames, limits.max_missing_share * reported_frames):
        raise VideoCorruptError(
            f"the video stream ends after {decoded} of the {reported_frames} frames its "
            "index announces (truncated or corrupt)",
            container=container,
            decoded_frames=decoded,
            indexed_frames=reported_frames,
        )


@dataclass(slots=True)
class _Kept:
    """The frames kept so far, downscaled to the size fixed by the first one."""

    analysis_long_side: int | None
    frames: list[np.ndarray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    width: int = 0
    height: int = 0
    size: tuple[int, int] = (0, 0)
    scale: float = 1.0

    def add(self, frame: np.ndarray, t: float, limits: VideoLimits) -> None:
        if not self.frames:
            self.height, self.width = int(frame.shape[0]), int(frame.shape[1])
            _check_resolution(self.width, self.height, limits)
            size_w, size_h, self.scale = _target_size(
                self.width, self.height, self.analysis_long_side
            )
            self.size = (size_w, size_h)
        self.frames.append(_resize(frame, self.size))
        self.times.append(t)


def _read_capture(
    cap: cv2.VideoCapture,
    container: str,
    limits: VideoLimits,
    sample_fps: float | None,
    analysis_long_side: int | None,
    deadline: float | None,
) -> Clip:
    reported_w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    reported_h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if reported_w > 0 and reported_h > 0:
        _check_resolution(reported_w, reported_h, limits)  # before decoding anything
    reported_fps = _sane_fps(float(cap.get(cv2.CAP_PROP_FPS)))
    reported_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    codec = _fourcc(float(cap.get(cv2.CAP_PROP_FOURCC)))
    kept = _Kept(analysis_long_side)
    times = _grab_frames(cap, container, limits, sample_fps, reported_fps, deadline, kept)
    if not times:
        raise VideoCorruptError(
            f"no frame of the {container.upper()} video could be decoded", container=container
        )
    _check_index(container, reported_frames, len(times), limits)
    duration, _ = _measure(times, 1.0 / reported_fps if reported_fps else None)
    fps = _check_measured(duration, len(times), limits)
    return Clip(
        frames=tuple(kept.frames),
        timestamps_s=tuple(kept.times),
        source_fps=fps,
        width=kept.width,
        height=kept.height,
        duration_s=duration,
        container=container,
        codec=codec,
        decoded_frames=len(times),
        scale=kept.scale,
    )


def _grab_frames(
    cap: cv2.VideoCapture,
    container: str,
    limits: VideoLimits,
    sample_fps: float | None,
    reported_fps: float | None,
    deadline: float | None,
    kept: _Kept,
) -> list[float]:
    """Grab every frame (timed and counted against the limits), retrieving into ``kept`` those
    the sampler keeps; the timestamps of every decoded frame, from the first one."""
    sampler = _Sampler(sample_fps)
    times: list[float] = []
    origin: float | None = None
    while True:
        check_deadline(deadline, "decoding the clip")
        if not cap.grab():
            return times
        pos_ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
        if origin is None:
            origin = pos_ms / 1000.0 if math.isfinite(pos_ms) and pos_ms >= 0 else 0.0
        t = _frame_time(pos_ms, origin, times, reported_fps, container)
        times.append(t)
        _check_too_long(t, len(times), limits)
        if not sampler.keep(t):
            continue
        ok, frame = cap.retrieve()
        if not ok or frame is None or frame.size == 0:
            raise VideoCorruptError(
                f"frame {len(times) - 1} of the video could not be decoded", container=container
            )
        kept.add(frame, t, limits)


def _image_to_video_error(error: ImageError, index: int) -> VideoError:
    detail = f"frame {index}: {error.detail}"
    if isinstance(error, ImageTooLargeError):
        return VideoTooLargeError(detail, frame=index, image_code=error.code)
    if isinstance(error, ImageTypeError):
        return VideoTypeError(detail, frame=index, image_code=error.code)
    return VideoCorruptError(detail, frame=index, image_code=error.code)


def _frame_times(
    images: Sequence[bytes | np.ndarray], timestamps_s: Sequence[float]
) -> list[float]:
    """The frames' timestamps from the first one, once their count and order are checked."""
    if not images:
        raise VideoEmptyError("the frame sequence is empty")
    if len(images) != len(timestamps_s):
        raise VideoError(
            f"{len(images)} frames but {len(timestamps_s)} timestamps",
            frames=len(images),
            timestamps=len(timestamps_s),
        )
    stamps = [float(t) for t in timestamps_s]
    if not all(math.isfinite(t) for t in stamps) or any(
        b <= a for a, b in itertools.pairwise(stamps)
    ):
        raise VideoError("frame timestamps must be finite and strictly increasing")
    return [t - stamps[0] for t in stamps]


def _frames_size(images: Sequence[bytes | np.ndarray]) -> tuple[int, int]:
    """The one (width, height) of all the frames, read from their headers (nothing decoded)."""
    shapes: set[tuple[int, int]] = set()
    for index, image in enumerate(images):
        if isinstance(image, np.ndarray):
            shapes.add(
                (int(image.shape[1]), int(image.shape[0])) if image.ndim >= _IMAGE_NDIM else (0, 0)
            )
            continue
        try:
            header = sniff_image(bytes(image))
        except ImageError as error:
            raise _image_to_video_error(error, index) from error
        shapes.add((header.width, header.height))
    if len(shapes) != 1:
        raise VideoError("the frames are not all the same size", sizes=len(shapes))
    return next(iter(shapes))


def _decode_frame(image: bytes | np.ndarray, index: int, limits: ImageLimits) -> np.ndarray:
    try:
        if isinstance(image, np.ndarray):
            return load_image(image, limits).copy()  # the clip owns its frames
        return decode_image(bytes(image), limits)
    except ImageError as error:
        raise _image_to_video_error(error, index) from error


def frames_clip(
    images: Sequence[bytes | np.ndarray],
    timestamps_s: Sequence[float],
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    *,
    sample_fps: float | None = 15.0,
    analysis_long_side: int | None = 640,
    deadline: float | None = None,
) -> Clip:
    """A :class:`Clip` from a sequence of JPEG/PNG (or BMP/WebP) frames, or BGR arrays, with
    their timestamps in seconds (strictly increasing; any origin).

    The timestamps and the encoded sizes are checked before any frame is decoded; only the frames
    kept at ``sample_fps`` are decoded. ``decoded_frames`` is the number of frames given and
    ``codec`` is empty. The frame size is held to the same limits as a video's, and
    ``deadline`` is checked between frames, as in :func:`decode_clip`.
    """
    _check_args(sample_fps, analysis_long_side)
    times = _frame_times(images, timestamps_s)
    total = sum(len(image) for image in images if not isinstance(image, np.ndarray))
    _check_bytes(total, "the frames are", limits)
    duration, _ = _measure(times, None)
    fps = _check_measured(duration, len(times), limits)

    width, height = _frames_size(images)
    _check_resolution(width, height, limits)
    size_w, size_h, scale = _target_size(width, height, analysis_long_side)

    image_limits = ImageLimits(max_bytes=limits.max_bytes)
    sampler = _Sampler(sample_fps)
    frames: list[np.ndarray] = []
    kept_times: list[float] = []
    for index, (image, t) in enumerate(zip(images, times, strict=True)):
        if not sampler.keep(t):
            continue
        check_deadline(deadline, "decoding the frames")
        frame = _decode_frame(image, index, image_limits)
        if (frame.shape[1], frame.shape[0]) != (width, height):
            raise VideoError("the frames are not all the same size", frame=index)
        frames.append(_resize(frame, (size_w, size_h)))
        kept_times.append(t)
    return Clip(
        frames=tuple(frames),
        timestamps_s=tuple(kept_times),
        source_fps=fps,
        width=width,
        height=height,
        duration_s=duration,
        container="frames",
        codec="",
        decoded_frames=len(images),
        scale=scale,
    )


def _folder_timestamps(folder: Path, files: list[Path], fps: float) -> list[float]:
    table = folder / TIMESTAMPS_FILE
    if not table.is_file():
        if not (math.isfinite(fps) and fps > 0):
            raise InputError(f"fps must be positive, not {fps!r}")
        return [index / fps for index in range(len(files))]
    by_name: dict[str, float] = {}
    with table.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"file", "t_s"} <= set(reader.fieldnames):
            raise VideoError(f"{TIMESTAMPS_FILE} must have the columns file,t_s")
        for row in reader:
            try:
                by_name[row["file"].strip()] = float(row["t_s"])
            except (TypeError, ValueError) as error:
                raise VideoError(f"{TIMESTAMPS_FILE} has a bad row: {row!r}") from error
    missing = [path.name for path in files if path.name not in by_name]
    if missing:
        raise VideoError(
            f"{TIMESTAMPS_FILE} has no timestamp for {len(missing)} frame(s), e.g. {missing[0]}",
            missing=len(missing),
        )
    return [by_name[path.name] for path in files]


def load_clip(
    source: str | Path | bytes,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    *,
    sample_fps: float | None = 15.0,
    analysis_long_side: int | None = 640,
    fps: float = 15.0,
) -> Clip:
    """A clip from video bytes, a video file, or a folder of frames.

    A folder's image files are taken sorted by name; their timestamps come from a
    ``timestamps.csv`` in the folder (columns ``file,t_s``) when there is one, else from ``fps``.
    Sizes are checked with ``stat`` before anything is read.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return decode_clip(
            bytes(source), limits, sample_fps=sample_fps, analysis_long_side=analysis_long_side
        )
    path = Path(source)
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES
        )
        if not files:
            raise VideoEmptyError(f"the folder {path.name} holds no image frames")
        _check_bytes(sum(p.stat().st_size for p in files), f"the frames in {path.name} are", limits)
        if len(files) > limits.max_frames:
            raise VideoTooLongError(
                f"the folder holds more than {limits.max_frames} frames",
                max_frames=limits.max_frames,
            )
        stamps = _folder_timestamps(path, files, fps)
        return frames_clip(
            [p.read_bytes() for p in files],
            stamps,
            limits,
            sample_fps=sample_fps,
            analysis_long_side=analysis_long_side,
        )
    _check_bytes(path.stat().st_size, f"{path.name} is", limits)
    return decode_clip(
        path.read_bytes(), limits, sample_fps=sample_fps, analysis_long_side=analysis_long_side
    )
