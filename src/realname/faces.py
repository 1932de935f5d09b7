"""Finding the face to use in an image: scale for the detector, refine, pick one, or fall back.

* Small images (a 102x126 chip portrait) are upsampled before detection.
* Large images are detected at a working size, then each face is re-detected on a crop around
  it at native resolution, so landmarks keep their precision at a fraction of the cost.
* A tight crop in which nothing is detected is assumed to be a portrait filling the image
  (``source="whole_image_fallback"``), and said so in the quality reasons.
* :func:`select_face` keeps the dominant face, or raises when none clearly dominates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines.base import Face, FaceDetector
from realname.errors import MultipleFacesError, NoFaceError

__all__ = [
    "FaceChoice",
    "FaceSearch",
    "alignment_view",
    "find_faces",
    "iou",
    "redetect_near",
    "select_face",
    "whole_image_face",
]

Image = npt.NDArray[np.uint8]
Strategy = Literal["dominant", "central"]


@dataclass(frozen=True, slots=True)
class FaceSearch:
    """How faces are searched for. Part of :class:`~realname.policy.MatchPolicy`."""

    work_long_side: int = 320  # detect at most at this long side, then refine at native size
    upsample_below_short_side: int = 200  # smaller images are upsampled ...
    upsample_to_short_side: int = 300  # ... to this short side
    # ... but never past this many pixels, whatever the input: a second guard behind the
    # aspect limit of ImageLimits (a 20,000 x 40 strip enlarged to a 300 px short side was 45
    # megapixels, and 4 GB in the detector). 4:3 at a 300 px short side is 0.12 megapixels;
    # 3:1 (the widest image accepted) is 0.27.
    upsample_max_pixels: int = 500_000
    refine: bool = True
    fallback_max_side: int = 400  # whole-image fallback only for tight crops up to this size
    fallback_aspect: tuple[float, float] = (0.6, 1.05)  # width / height of a portrait crop


DEFAULT_SEARCH = FaceSearch()

# Where the 5 points sit, as fractions of width and height, in a tight ID-style portrait
# (head and shoulders, as on the chip of a Chinese ID card).
_PORTRAIT_POINTS = ((0.35, 0.47), (0.65, 0.47), (0.50, 0.59), (0.38, 0.71), (0.62, 0.71))


def _resize(image: Image, factor: float) -> Image:
    # Lanczos when enlarging: on 102x126 chips it gave a sharper aligned crop than bicubic
    # (lfw_chip FNMR 2.62% against 2.90%, and 3.10% aligning on the chip itself).
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LANCZOS4
    height, width = image.shape[:2]
    if round(width * factor) < 1 or round(height * factor) < 1:  # a strip: keep 1 px a side
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        return np.asarray(cv2.resize(image, size, interpolation=interpolation), dtype=np.uint8)
    return np.asarray(
        cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation), dtype=np.uint8
    )


def iou(a: Face, b: Face) -> float:
    """Intersection over union of two face boxes."""
    ax, ay, aw, ah = a.box
    bx, by, bw, bh = b.box
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _shift(face: Face, dx: float, dy: float, factor: float) -> Face:
    x, y, w, h = face.box
    return Face(
        box=(x / factor + dx, y / factor + dy, w / factor, h / factor),
        landmarks=tuple((px / factor + dx, py / factor + dy) for px, py in face.landmarks),  # type: ignore[arg-type]
        score=face.score,
        source=face.source,
    )


def redetect_near(
    detector: FaceDetector, image: Image, face: Face, work: int, face_px: float | None = None
) -> Face | None:
    """The face overlapping ``face`` found on a crop around it (at most ``work`` px a side, and
    scaled so the face is about ``face_px`` wide when given), or None. Used to refine a coarse
    detection and to track a face from one frame to the next."""
    height, width = image.shape[:2]
    cx, cy = face.centre
    side = 2.2 * max(face.box[2], face.box[3])
    x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    x1, y1 = min(width, round(cx + side / 2)), min(height, round(cy + side / 2))
    crop = image[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    factor = min(1.0, work / max(crop.shape[:2]))
    if face_px is not None:
        factor = min(factor, face_px / max(face.box[2], 1.0))
    small = _resize(crop, factor) if factor < 1 else crop
    found = [_shift(f, x0, y0, factor) for f in detector.detect(np.ascontiguousarray(small))]
    best = max(found, key=lambda f: iou(f, face), default=None)
    if best is None or iou(best, face) < 0.3:
        return None
    return Face(best.box, best.landmarks, best.score, face.source)


def _refine(detector: FaceDetector, image: Image, face: Face, work: int) -> Face:
    """Re-detect ``face`` on a crop around it at (up to) native resolution."""
    found = redetect_near(detector, image, face, work)
    if found is None:
        return face
    return Face(found.box, found.landmarks, max(found.score, face.score), face.source)


def upsample_factor(shape: tuple[int, ...], search: FaceSearch = DEFAULT_SEARCH) -> float:
    """How much a small image is enlarged for detection and alignment (1.0: not at all).

    The enlarged image never exceeds ``search.upsample_max_pixels`` (an image already that
    large is not enlarged at all)."""
    short = min(shape[:2])
    if short < 1 or short >= search.upsample_below_short_side:
        return 1.0
    factor = search.upsample_to_short_side / short
    pixels = float(shape[0]) * float(shape[1])
    if pixels * factor * factor > search.upsample_max_pixels:
        factor = (search.upsample_max_pixels / pixels) ** 0.5
    return factor if factor > 1.0 else 1.0


def alignment_view(
    image: Image, face: Face, search: FaceSearch = DEFAULT_SEARCH
) -> tuple[Image, Face]:
    """The image and face to align from: small images are enlarged first, so that the engine's
    crop is not a bilinear blow-up of a few dozen pixels."""
    factor = upsample_factor(image.shape, search)
    if factor == 1.0:
        return image, face
    return _resize(image, factor), face.scaled(factor)


def find_faces(
    detector: FaceDetector, image: Image, search: FaceSearch = DEFAULT_SEARCH
) -> list[Face]:
    """Every face in ``image`` in its own pixel coordinates, most confident first."""
    long = max(image.shape[:2])
    factor = upsample_factor(image.shape, search)
    if factor > 1.0:
        faces = detector.detect(_resize(image, factor))
        return [f.scaled(1.0 / factor, "detected_upsampled") for f in faces]
    if long <= search.work_long_side:
        return detector.detect(image)
    factor = search.work_long_side / long
    faces = [f.scaled(1.0 / factor) for f in detector.detect(_resize(image, factor))]
    if search.refine:
        faces = [_refine(detector, image, f, search.work_long_side) for f in faces]
    return faces


def whole_image_face(image: Image, search: FaceSearch = DEFAULT_SEARCH) -> Face | None:
    """A face assumed to fill a tight portrait crop, or None when the image is not one."""
    height, width = image.shape[:2]
    aspect = width / height
    lo, hi = search.fallback_aspect
    if max(height, width) > search.fallback_max_side or not lo <= aspect <= hi:
        return None
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if float(gray.std()) < 12.0:  # a flat image is no portrait
        return None
    points = tuple((fx * width, fy * height) for fx, fy in _PORTRAIT_POINTS)
    box = (0.18 * width, 0.25 * height, 0.64 * width, 0.62 * height)
    return Face(box=box, landmarks=points, score=0.0, source="whole_image_fallback")  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class FaceChoice:
    face: Face
    face_count: int
    dominant: bool  # False when the choice was a tie broken by position (strategy "central")


def _prominence(face: Face) -> float:
    return face.area * face.score**2


def _dominates(first: Face, other: Face) -> bool:
    bigger = first.area >= 2.0 * other.area and first.score >= other.score - 0.1
    surer = first.score >= other.score + 0.1 and first.area >= 0.5 * other.area
    return bigger or surer


def select_face(
    faces: list[Face],
    image_shape: tuple[int, ...],
    *,
    strategy: Strategy = "dominant",
    role: str = "reference",
) -> FaceChoice:
    """The one face to use.

    ``dominant``: the most prominent face if it clearly dominates every other one by size or by
    confidence (a customer holding a printed photo before a half-hidden face); otherwise
    :class:`MultipleFacesError`. ``central``: as ``dominant``, but a tie goes to the face nearest
    the image centre among the large ones (the convention of LFW and of web photos).
    """
    if not faces:
        raise NoFaceError(f"no face was found in the {role} image", role=role)
    ranked = sorted(faces, key=_prominence, reverse=True)
    first = ranked[0]
    if len(ranked) == 1 or all(_dominates(first, other) for other in ranked[1:]):
        return FaceChoice(first, len(faces), True)
    if strategy == "central":
        height, width = image_shape[:2]
        large = [f for f in ranked if f.area >= 0.25 * first.area]
        scale = float(np.hypot(width, height))

        def off_centre(f: Face) -> float:
            return float(np.hypot(f.centre[0] - width / 2, f.centre[1] - height / 2)) / scale

        return FaceChoice(min(large, key=off_centre), len(faces), False)
    raise MultipleFacesError(
        f"the {role} image shows {len(faces)} faces and none clearly dominates",
        role=role,
        face_count=len(faces),
    )
