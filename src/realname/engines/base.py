"""The engine interfaces. Each engine has a ``name``, a ``version`` and a ``load()`` that does all
the expensive work once; constructing an engine does nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "Face",
    "FaceDetector",
    "FaceEmbedder",
    "FaceLandmarker",
    "FaceSource",
    "FloatArray",
    "Landmarks",
    "PoseLandmarker",
]

FloatArray = npt.NDArray[np.float32]
Point = tuple[float, float]

#: How a face was found: by the detector on the image as given, by the detector on an upsampled
#: copy (small images such as 102x126 chip portraits), or assumed to fill a tight crop in which no
#: face could be detected.
FaceSource = Literal["detected", "detected_upsampled", "whole_image_fallback"]


@dataclass(frozen=True, slots=True)
class Face:
    """One face in image pixel coordinates.

    ``landmarks`` are the 5 points in YuNet's order: the eye on the image's left (the person's
    right eye), the eye on the image's right, the nose tip, the mouth corner on the image's left,
    the mouth corner on the image's right.
    """

    box: tuple[float, float, float, float]  # x, y, width, height
    landmarks: tuple[Point, Point, Point, Point, Point]
    score: float
    source: FaceSource = "detected"

    @property
    def inter_eye_px(self) -> float:
        (x1, y1), (x2, y2) = self.landmarks[0], self.landmarks[1]
        return float(np.hypot(x2 - x1, y2 - y1))

    @property
    def area(self) -> float:
        return float(self.box[2] * self.box[3])

    @property
    def centre(self) -> Point:
        x, y, w, h = self.box
        return (x + w / 2.0, y + h / 2.0)

    def landmark_array(self) -> FloatArray:
        return np.asarray(self.landmarks, dtype=np.float32)

    def scaled(self, factor: float, source: FaceSource | None = None) -> Face:
        """The same face in an image resized by ``factor``."""
        x, y, w, h = self.box
        return Face(
            box=(x * factor, y * factor, w * factor, h * factor),
            landmarks=tuple((px * factor, py * factor) for px, py in self.landmarks),  # type: ignore[arg-type]
            score=self.score,
            source=source or self.source,
        )


@runtime_checkable
class FaceDetector(Protocol):
    name: str
    version: str

    def load(self) -> None: ...

    def detect(self, image: npt.NDArray[np.uint8]) -> list[Face]:
        """Every face found in a BGR image, most confident first."""
        ...


@runtime_checkable
class FaceEmbedder(Protocol):
    name: str
    version: str
    dim: int

    def load(self) -> None: ...

    def align(self, image: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.uint8]:
        """The engine's aligned crop of ``face`` (SFace: 112x112 BGR)."""
        ...

    def embed(self, crops: Sequence[npt.NDArray[np.uint8]]) -> FloatArray:
        """L2-normalised templates, one row per aligned crop."""
        ...


@runtime_checkable
class FaceLandmarker(Protocol):
    name: str
    version: str
    n_points: int

    def load(self) -> None: ...

    def landmarks(self, image: npt.NDArray[np.uint8], face: Face) -> FloatArray:
        """``n_points`` x 2 landmark coordinates (dlib 68-point order) in image pixels."""
        ...


@dataclass(frozen=True, slots=True, eq=False)
class Landmarks:
    """What a landmarker that measures head pose itself found in one frame.

    ``points``: the 68 iBUG points in image pixels; ``pose``: (yaw, pitch, roll) in degrees as
    the landmarker measures it, with the sign conventions of :mod:`realname.engines.pose`.
    """

    points: FloatArray
    pose: tuple[float, float, float]


@runtime_checkable
class PoseLandmarker(FaceLandmarker, Protocol):
    """A landmarker that measures head pose itself, against its own 3-D face (the face mesh)."""

    def locate(self, image: npt.NDArray[np.uint8], face: Face) -> Landmarks:
        """The landmarks of ``face`` in ``image``, with the pose."""
        ...


@runtime_checkable
class EyeLandmarker(PoseLandmarker, Protocol):
    """A pose landmarker whose eyelids a second, costlier model places more exactly (the face
    mesh and MediaPipe's Iris model). ``locate`` gives the landmarker's own eye points and a
    pose solved without the refined ones, so that a frame's pose does not depend on whether
    its eyes were refined; :meth:`eyelids` refines them for the frames where eye openness is
    judged."""

    def eyelids(self, image: npt.NDArray[np.uint8], points: FloatArray) -> FloatArray:
        """Points 36-47 (both eyes, iBUG order), 12 x 2 in image pixels, placed by the eye
        model from the corners in ``points`` (the 68 points ``locate`` gave)."""
        ...
