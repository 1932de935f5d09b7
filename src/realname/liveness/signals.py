"""Per-frame signals of a clip: face, 68 landmarks, eye and mouth openness, head pose, image stats.

The whole frame is searched every ``detect_every`` analysed frames (counting faces); in between
the face is tracked by running YuNet on a crop around the last face only. A landmarker that
measures pose itself (:class:`~realname.engines.base.PoseLandmarker`, the face mesh) gives its
own pose. Two ways of tracking without the detector were tried and rejected: dlib's 68-point
model started from boxes derived from its previous landmarks (during head turns its yaw jumped
by 20 degrees or more from frame to frame: p95 difference 20 degrees against per-frame detection
on tranvanluyt2203/real.mp4), and the face mesh's own tracking, MediaPipe's way (each crop from
the last frame's points: 837 -> 694 ms for the signals of tranvanluyt2203/real.mp4 in one
thread, as good on the data's clips, but in the browser test the mesh lagged a 60 px head bob
for 4 frames with full confidence and read it as a 28-degree turn, an unprompted action; a
camera jerked by an attacker would do the same). Frames without a face are recorded, never
dropped.

Eye openness: a landmarker with an eye model (:class:`~realname.engines.base.EyeLandmarker`, the
face mesh with the Iris model) runs that model only on frames inside ``eye_spans``, where a blink
is judged (:func:`realname.liveness.check.blink_spans`: a blink step's window and its margins);
on a 166-frame clip it took 0.47 s of the 0.77 s spent in models (LiteRT) and 0.55 s of
the 1.85 s a capture took, pinned to one core. A gate that runs it only where the mesh's own
eyelids dip was measured and rejected: on the 75 live clips of ../shared/data, 20 of the 316
blinks that the Iris model finds show no mesh frame under 0.95 of its local open level.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines import Engines
from realname.engines.base import (
    EyeLandmarker,
    Face,
    FaceDetector,
    FaceLandmarker,
    PoseLandmarker,
)
from realname.engines.pose import (
    eye_aspect_ratios,
    five_points,
    head_pose,
    mouth_aspect_ratio,
)
from realname.errors import FaceError, SetupError
from realname.face.detect import find_faces, iou, redetect_near, select_face
from realname.media.video import check_deadline
from realname.policy import FaceSearch

__all__ = ["FrameSignals", "SignalTrack", "extract_signals"]

Image = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]
NAN = float("nan")
_MIN_REGION_PX = 16  # pixels of face region below which sharpness and brightness mean nothing
# Landmarks spanning fewer pixels than this (in width or height) are no face: a collapsed fit.
_MIN_SPAN_PX = 12


@dataclass(frozen=True, slots=True, eq=False)
class FrameSignals:
    """What one analysed frame shows. ``face_found`` False: every measure is NaN."""

    index: int
    t: float
    face_found: bool
    face_count: int
    detected: bool  # True: YuNet ran on this frame; False: tracked from the previous one
    face: Face | None
    landmarks: Points | None
    ear_left: float = NAN
    ear_right: float = NAN
    mar: float = NAN
    yaw: float = NAN
    pitch: float = NAN
    roll: float = NAN
    inter_eye_px: float = NAN
    sharpness: float = NAN
    brightness: float = NAN
    # True: the eye openness (``ear_*``) is the eye model's (:class:`EyeLandmarker`); False:
    # the landmarker's own eye points, scaled to the eye model's level (see extract_signals)
    eyelids: bool = False

    @property
    def ear(self) -> float:
        return (self.ear_left + self.ear_right) / 2.0


@dataclass(frozen=True, slots=True, eq=False)
class SignalTrack:
    frames: tuple[FrameSignals, ...]
    image_size: tuple[int, int]  # width, height of the analysed frames
    detections: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    eyelids: int = 0  # frames whose eye openness the eye model measured

    def series(self, name: str) -> npt.NDArray[np.float64]:
        return np.array([getattr(f, name) for f in self.frames], dtype=np.float64)

    @property
    def times(self) -> npt.NDArray[np.float64]:
        return np.array([f.t for f in self.frames], dtype=np.float64)

    @property
    def face_fraction(self) -> float:
        if not self.frames:
            return 0.0
        return sum(f.face_found for f in self.frames) / len(self.frames)


def _stats(gray: Image, points: Points) -> tuple[float, float]:
    x0, y0 = np.maximum(points.min(axis=0).astype(int), 0)
    x1, y1 = points.max(axis=0).astype(int)
    region = gray[y0 : max(y1, y0 + 2), x0 : max(x1, x0 + 2)]
    if region.size < _MIN_REGION_PX:
        return NAN, NAN
    return float(cv2.Laplacian(region, cv2.CV_64F).var()), float(region.mean())


def _plausible(points: Points, size: tuple[int, int]) -> bool:
    width, height = size
    span = points.max(axis=0) - points.min(axis=0)
    if span.min() < _MIN_SPAN_PX or not np.all(np.isfinite(points)):
        return False
    centre = points.mean(axis=0)
    return bool(0 <= centre[0] < width and 0 <= centre[1] < height)


def _measure(
    index: int,
    t: float,
    image: Image,
    gray: Image,
    face: Face,
    points: Points,
    face_count: int,
    detected: bool,
    pose: tuple[float, float, float] | None = None,
    eyes: tuple[float, float] | None = None,
) -> FrameSignals:
    """``pose``: the landmarker's own (yaw, pitch, roll); solved from ``points`` when None.
    ``eyes``: the eye model's (left, right) openness; from ``points`` when None."""
    height, width = image.shape[:2]
    ear_l, ear_r = eyes if eyes is not None else eye_aspect_ratios(points)
    yaw, pitch, roll = pose if pose is not None else head_pose(points, (width, height))
    sharp, bright = _stats(gray, points)
    left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    return FrameSignals(
        index=index,
        t=t,
        face_found=True,
        face_count=face_count,
        detected=detected,
        face=Face(face.box, five_points(points), face.score, face.source),  # type: ignore[arg-type]
        landmarks=points,
        ear_left=ear_l,
        ear_right=ear_r,
        mar=mouth_aspect_ratio(points),
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        inter_eye_px=float(math.hypot(*(right - left))),
        sharpness=sharp,
        brightness=bright,
        eyelids=eyes is not None,
    )


def extract_signals(
    frames: Sequence[Image],
    timestamps: Sequence[float],
    engines: Engines,
    search: FaceSearch,
    *,
    detect_every: int = 5,
    workers: int = 2,
    deadline: float | None = None,
    eye_spans: Sequence[tuple[float, float]] | None = None,
) -> SignalTrack:
    """Signals for every frame given (sample the clip before calling).

    With ``workers`` > 1 the clip is cut into that many consecutive parts, each starting with a
    full detection, analysed in threads (OpenCV releases the GIL while it detects).
    ``deadline`` (a :func:`time.monotonic` instant) is checked before every frame:
    :class:`~realname.errors.CaptureTimeoutError` once it passes.

    ``eye_spans``: with a landmarker that has an eye model (:class:`EyeLandmarker`, the face
    mesh), the (start, end) times in seconds where eye openness is judged, so that the eye
    model runs there only (None: on every frame). Elsewhere the landmarker's own eye points
    give the openness, scaled per eye by the median ratio of the two measures on the frames
    where both were taken (1 when none were): the person's own open-eye level carries across."""
    landmarker = engines.landmarker
    if landmarker is None:
        raise SetupError("liveness needs a landmarker engine (REALNAME_LANDMARKER)")
    start = time.perf_counter()
    n = len(frames)
    parts = max(1, min(workers, n // 20))
    bounds = [round(i * n / parts) for i in range(parts + 1)]
    spans = None if eye_spans is None else tuple(eye_spans)
    job = _Job(
        frames, timestamps, engines.detector, landmarker, search, detect_every, deadline, spans
    )
    if parts == 1:
        results = [_extract(job, 0, n)]
    else:
        with ThreadPoolExecutor(max_workers=parts) as pool:
            futures = [pool.submit(_extract, job, a, b) for a, b in itertools.pairwise(bounds)]
            results = [f.result() for f in futures]
    out = _scale_own_eyes(
        [frame for part, _, _ in results for frame in part],
        [pair for _, _, pairs in results for pair in pairs],
    )
    size = (frames[0].shape[1], frames[0].shape[0]) if frames else (0, 0)
    return SignalTrack(
        frames=tuple(out),
        image_size=size,
        detections=sum(d for _, d, _ in results),
        timings_ms={"signals": round((time.perf_counter() - start) * 1000, 1)},
        eyelids=sum(f.eyelids for f in out),
    )


#: One frame's eye openness (left, right) by the landmarker's own points, then by the eye model.
_EyePair = tuple[tuple[float, float], tuple[float, float]]


def _scale_own_eyes(frames: list[FrameSignals], pairs: list[_EyePair]) -> list[FrameSignals]:
    """The frames whose eyes the eye model did not measure, their openness scaled per eye to the
    eye model's level (see :func:`extract_signals`)."""
    if not pairs or all(f.eyelids or not f.face_found for f in frames):
        return frames
    own = np.array([p[0] for p in pairs], dtype=np.float64)
    model = np.array([p[1] for p in pairs], dtype=np.float64)
    factors = []
    for side in (0, 1):
        usable = np.isfinite(own[:, side]) & np.isfinite(model[:, side]) & (own[:, side] > 0)
        ratios = model[usable, side] / own[usable, side]
        factors.append(float(np.median(ratios)) if len(ratios) else 1.0)
    left, right = factors
    return [
        f
        if f.eyelids or not f.face_found
        else replace(f, ear_left=f.ear_left * left, ear_right=f.ear_right * right)
        for f in frames
    ]


@dataclass(frozen=True, slots=True, eq=False)
class _Job:
    """What every part of a clip is analysed with."""

    frames: Sequence[Image]
    timestamps: Sequence[float]
    detector: FaceDetector
    landmarker: FaceLandmarker
    search: FaceSearch
    detect_every: int
    deadline: float | None
    eye_spans: tuple[tuple[float, float], ...] | None

    def eye_model_at(self, t: float) -> EyeLandmarker | None:
        """The landmarker, if its eye model measures the eyes of a frame at ``t`` (see
        :func:`extract_signals`)."""
        landmarker = self.landmarker
        if not isinstance(landmarker, EyeLandmarker):
            return None
        if self.eye_spans is None or any(a <= t <= b for a, b in self.eye_spans):
            return landmarker
        return None


def _detect(
    job: _Job, image: Image, previous: Face | None, search: FaceSearch
) -> tuple[Face | None, int]:
    """The face of a frame searched in the whole of it, and the number of faces there: the
    central one, or the one overlapping ``previous`` most when there are others."""
    faces = find_faces(job.detector, image, search)
    try:
        face: Face | None = select_face(faces, image.shape, strategy="central", role="frame").face
    except FaceError:
        face = None
    if face is not None and previous is not None and len(faces) > 1:
        # Keep following the same person when others are around.
        last = previous
        face = max(faces, key=lambda f: iou(f, last))
    return face, len(faces)


def _points(
    job: _Job, image: Image, face: Face
) -> tuple[Points | None, tuple[float, float, float] | None]:
    """The plausible landmarks of ``face`` and, from a landmarker that measures it, its pose."""
    size = (image.shape[1], image.shape[0])
    landmarker = job.landmarker
    if isinstance(landmarker, PoseLandmarker):
        found = landmarker.locate(image, face)
        return (found.points, found.pose) if _plausible(found.points, size) else (None, None)
    candidate = landmarker.landmarks(image, face)
    return (candidate if _plausible(candidate, size) else None), None


def _extract(job: _Job, first: int, stop: int) -> tuple[list[FrameSignals], int, list[_EyePair]]:
    out: list[FrameSignals] = []
    pairs: list[_EyePair] = []
    previous: Face | None = None  # the last frame's face
    # A landmarker that places its own crop from the box needs no second detection pass at
    # full resolution (measured: 4.5 ms a detection on 640x480 frames).
    posing = isinstance(job.landmarker, PoseLandmarker)
    coarse = replace(job.search, refine=False) if posing else job.search
    face_count = 0
    since_detection = job.detect_every
    detections = 0
    for index in range(first, stop):
        check_deadline(job.deadline, "analysing the frames")
        image, t = job.frames[index], float(job.timestamps[index])
        gray = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
        face: Face | None = None
        detected = True
        if previous is not None and since_detection < job.detect_every:
            # Track: YuNet on a crop around the last face, same boxes as a full detection.
            face = redetect_near(job.detector, image, previous, job.search.work_long_side)
            detected = False
        if face is None:
            detections += 1
            since_detection = 0
            face, face_count = _detect(job, image, previous, coarse)
        points, pose = _points(job, image, face) if face is not None else (None, None)
        since_detection += 1
        if points is None or face is None:
            out.append(FrameSignals(index, t, False, face_count, detected, None, None))
            previous = None
            continue
        eyes = None
        if (eye_model := job.eye_model_at(t)) is not None:
            eyes = _eyelid_openness(eye_model, image, points)
            pairs.append((eye_aspect_ratios(points), eyes))
        out.append(_measure(index, t, image, gray, face, points, face_count, detected, pose, eyes))
        previous = face
    return out, detections, pairs


def _eyelid_openness(
    landmarker: EyeLandmarker, image: Image, points: Points
) -> tuple[float, float]:
    """Eye openness (left, right) from the eye model's eyelids placed on ``points``."""
    refined = points.copy()
    refined[36:48] = landmarker.eyelids(image, points)
    return eye_aspect_ratios(refined)
