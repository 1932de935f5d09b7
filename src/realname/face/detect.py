"""Finding the face to use in an image: scale for the detector, refine, pick one, or fall back.

* Small images (a 102x126 chip portrait) are upsampled before detection.
* Large images are detected at a working size, then each face is re-detected on a crop around
  it at native resolution, so landmarks keep their precision at a fraction of the cost.
* A tight crop in which nothing is detected is assumed to be a portrait filling the image
  (``source="whole_image_fallback"``), and said so in the quality reasons.
* :func:`select_face` keeps the dominant face, or raises when none clearly dominates. Given a
  measure of each face's defects (strong pose, covered eyes, blur, too small), a face without
  them is preferred to faces with them: a printed ID photo held before the holder's half-hidden
  face (NUAA's set-up) resolves to the photo where the photo is clearly the larger, and is
  refused otherwise.
* :func:`refine_landmarks` finds the 5 points of a small or tilted face again on a levelled,
  scaled view before alignment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines.base import Face, FaceDetector
from realname.engines.geometry import clamp_box
from realname.errors import MultipleFacesError, NoFaceError
from realname.policy import FaceSearch

__all__ = [
    "SAME_FACE_IOU",
    "DefectMeasure",
    "FaceChoice",
    "Resolution",
    "alignment_view",
    "find_faces",
    "iou",
    "redetect_near",
    "refine_landmarks",
    "select_face",
    "whole_image_face",
]

Image = npt.NDArray[np.uint8]
Strategy = Literal["dominant", "central"]


#: A box found again counts as the face it was looked for at this intersection over union or
#: more. Not a tuned threshold: the overlap at which YuNet's own non-maximum suppression
#: (``YuNetDetector.nms_threshold``) calls two boxes one face.
SAME_FACE_IOU = 0.3

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
    cx, cy = face.centre
    side = 2.2 * max(face.box[2], face.box[3])
    half = side / 2
    x0, y0, x1, y1 = clamp_box(cx - half, cy - half, cx + half, cy + half, image.shape)
    crop = image[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    factor = min(1.0, work / max(crop.shape[:2]))
    if face_px is not None:
        factor = min(factor, face_px / max(face.box[2], 1.0))
    small = _resize(crop, factor) if factor < 1 else crop
    found = [_shift(f, x0, y0, factor) for f in detector.detect(np.ascontiguousarray(small))]
    best = max(found, key=lambda f: iou(f, face), default=None)
    if best is None or iou(best, face) < SAME_FACE_IOU:
        return None
    return Face(best.box, best.landmarks, best.score, face.source)


def _refine(detector: FaceDetector, image: Image, face: Face, work: int) -> Face:
    """Re-detect ``face`` on a crop around it at (up to) native resolution."""
    found = redetect_near(detector, image, face, work)
    if found is None:
        return face
    return Face(found.box, found.landmarks, max(found.score, face.score), face.source)


def upsample_factor(shape: tuple[int, ...], search: FaceSearch) -> float:
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


def refine_landmarks(detector: FaceDetector, image: Image, face: Face, search: FaceSearch) -> Face:
    """A small or tilted ``face`` with its 5 points found again on a crop around it, turned so
    that the eyes are level and scaled so that the face box is ``search.landmark_face_px`` wide,
    then mapped back to ``image``'s pixels; ``face`` unchanged when it is neither, or when that
    finds no face there. The detector places its points best on an upright face of moderate
    size (see :class:`~realname.policy.FaceSearch` for what was measured)."""
    target = float(search.landmark_face_px)
    if target <= 0 or face.source == "whole_image_fallback":
        return face
    (x1, y1), (x2, y2) = face.landmarks[0], face.landmarks[1]
    roll = float(np.degrees(np.arctan2(y2 - y1, x2 - x1)))
    small = face.box[2] < search.refine_below_face_px
    if not small and abs(roll) <= search.refine_above_roll_deg:
        return face
    scale = target / max(face.box[2], 1.0)
    side = round(2.2 * target)
    cx, cy = face.centre
    matrix = cv2.getRotationMatrix2D((cx, cy), roll, scale)
    matrix[0, 2] += side / 2 - cx
    matrix[1, 2] += side / 2 - cy
    interpolation = cv2.INTER_LANCZOS4 if scale > 1 else cv2.INTER_LINEAR
    view = cv2.warpAffine(
        image, matrix, (side, side), flags=interpolation, borderMode=cv2.BORDER_REPLICATE
    )
    height = face.box[3] * scale
    box = (side / 2 - target / 2, side / 2 - height / 2, target, height)
    expected = Face(box, face.landmarks, 0.0)
    found = detector.detect(np.ascontiguousarray(view, dtype=np.uint8))
    best = max(found, key=lambda f: iou(f, expected), default=None)
    if best is None or iou(best, expected) < SAME_FACE_IOU:
        return face
    back = cv2.invertAffineTransform(matrix)
    points = np.asarray(best.landmarks, dtype=np.float64) @ back[:, :2].T + back[:, 2]
    landmarks = tuple((float(px), float(py)) for px, py in points)
    return Face(face.box, landmarks, face.score, face.source)  # type: ignore[arg-type]


def alignment_view(image: Image, face: Face, search: FaceSearch) -> tuple[Image, Face]:
    """The image and face to align from: small images are enlarged first, so that the engine's
    crop is not a bilinear blow-up of a few dozen pixels."""
    factor = upsample_factor(image.shape, search)
    if factor == 1.0:
        return image, face
    return _resize(image, factor), face.scaled(factor)


def find_faces(detector: FaceDetector, image: Image, search: FaceSearch) -> list[Face]:
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


def whole_image_face(image: Image, search: FaceSearch) -> Face | None:
    """A face assumed to fill a tight portrait crop, or None when the image is not one."""
    height, width = image.shape[:2]
    aspect = width / height
    lo, hi = search.fallback_aspect
    if max(height, width) > search.fallback_max_side or not lo <= aspect <= hi:
        return None
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if float(gray.std()) < search.fallback_min_grey_std:  # a flat image is no portrait
        return None
    points = tuple((fx * width, fy * height) for fx, fy in _PORTRAIT_POINTS)
    box = (0.18 * width, 0.25 * height, 0.64 * width, 0.62 * height)
    return Face(box=box, landmarks=points, score=0.0, source="whole_image_fallback")  # type: ignore[arg-type]


#: How a face was chosen: the only face; the only face without defects among faces with them;
#: the face that dominates by size or confidence; a tie broken by position (strategy "central").
Resolution = Literal["single", "fewer_defects", "dominant", "central"]

#: The defects of one face (quality reason codes, such as ``POSE_YAW``); see :func:`select_face`.
DefectMeasure = Callable[[Face], tuple[str, ...]]

# A face with fewer defects is chosen over more defective ones only if it is at least this many
# times as large (box area) as each of them. On the multi-face images of ../shared/data (929 LFW,
# 77 NUAA; the right face known by position or by the person's live template) a ratio of 1.0
# chose one wrong LFW face (a frontal bystander 1.1 times the size of the subject in profile),
# 1.25 none; 0.5 chose 63 wrong ones (bystanders beside a subject turned away).
_CLEANER_MIN_AREA_RATIO = 1.25


@dataclass(frozen=True, slots=True)
class FaceChoice:
    face: Face
    face_count: int
    dominant: bool  # False when the choice was a tie broken by position (strategy "central")
    resolution: Resolution = "single"


def _prominence(face: Face) -> float:
    return face.area * face.score**2


def _dominates(first: Face, other: Face) -> bool:
    bigger = first.area >= 2.0 * other.area and first.score >= other.score - 0.1
    surer = first.score >= other.score + 0.1 and first.area >= 0.5 * other.area
    return bigger or surer


def _refuse(faces: list[Face], role: str, why: str) -> MultipleFacesError:
    return MultipleFacesError(
        f"the {role} image shows {len(faces)} faces and {why}", role=role, face_count=len(faces)
    )


def _pick(ranked: list[Face], strategy: Strategy, image_shape: tuple[int, ...]) -> Face | None:
    """The face that dominates ``ranked`` (most prominent first), the central one of the large
    ones on a tie (strategy "central"), or None."""
    first = ranked[0]
    if all(_dominates(first, other) for other in ranked[1:]):
        return first
    if strategy != "central":
        return None
    height, width = image_shape[:2]
    large = [f for f in ranked if f.area >= 0.25 * first.area]
    scale = float(np.hypot(width, height))

    def off_centre(f: Face) -> float:
        return float(np.hypot(f.centre[0] - width / 2, f.centre[1] - height / 2)) / scale

    return min(large, key=off_centre)


def select_face(
    faces: list[Face],
    image_shape: tuple[int, ...],
    *,
    strategy: Strategy = "dominant",
    role: str = "reference",
    defects: DefectMeasure | None = None,
) -> FaceChoice:
    """The one face to use.

    ``dominant``: the most prominent face if it clearly dominates every other one by size or by
    confidence; otherwise :class:`MultipleFacesError`. ``central``: as ``dominant``, but a tie
    goes to the face nearest the image centre among the large ones (the convention of LFW and
    of web photos).

    ``defects`` (consulted only when there are several faces): when some faces have more
    defects than others, the choice is made among the least defective ones, and stands only if
    the chosen face is at least 1.25 times as large as every more defective face. Otherwise
    ``dominant`` refuses (:class:`MultipleFacesError`): a turned or half-hidden face as large as
    a clean one is exactly the case where guessing goes wrong (a printed ID photo held before
    the holder's half-hidden face, NUAA's set-up); ``central`` decides as without ``defects``.
    """
    if not faces:
        raise NoFaceError(f"no face was found in the {role} image", role=role)
    if len(faces) == 1:
        return FaceChoice(faces[0], 1, True, "single")
    ranked = sorted(faces, key=_prominence, reverse=True)
    if defects is not None:
        counts = {id(f): len(defects(f)) for f in faces}
        fewest = min(counts.values())
        clean = [f for f in ranked if counts[id(f)] == fewest]
        flawed = [f for f in ranked if counts[id(f)] > fewest]
        if flawed:
            picked = _pick(clean, strategy, image_shape)
            if picked is not None and all(
                picked.area >= _CLEANER_MIN_AREA_RATIO * f.area for f in flawed
            ):
                dominant = _pick(clean, "dominant", image_shape) is not None
                return FaceChoice(picked, len(faces), dominant, "fewer_defects")
            if strategy == "dominant":
                raise _refuse(faces, role, "the one without defects is not clearly the largest")
    picked = _pick(ranked, strategy, image_shape)
    if picked is None:
        raise _refuse(faces, role, "none clearly dominates")
    dominant = picked is ranked[0] and _pick(ranked, "dominant", image_shape) is not None
    return FaceChoice(picked, len(faces), dominant, "dominant" if dominant else "central")
