"""Geometry of the 68 iBUG points: eye and mouth openness, head pose, and the 5 points.

Head pose is solved with :func:`cv2.solvePnP` against a 3-D face (:class:`FaceModel`, millimetres:
the widely used iBUG-68 mean face by default, the face mesh's own for the mesh landmarker), with
a pinhole camera whose focal length is the image width.
Sign conventions (non-mirrored image, as the camera saw it):

* yaw > 0: the person turns to their **own left** (the nose moves toward the image's right edge);
* pitch > 0: the head tilts **up**;
* roll > 0: the line from the image-left eye to the image-right eye goes down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "IBUG_MEAN_FACE",
    "FaceModel",
    "eye_aspect_ratios",
    "five_points",
    "head_pose",
    "mouth_aspect_ratio",
]

Points = npt.NDArray[np.float32]
_DEGENERATE_PX = 1e-6  # numerical: an eye or mouth of no width has no openness ratio
# Geometry: a pitch beyond a right angle is the same head seen the other way up (the
# decomposition's other solution), folded back by 180 degrees.
_RIGHT_ANGLE = 90.0


@dataclass(frozen=True, slots=True)
class FaceModel:
    """3-D positions (x right, y up, z toward the camera; mm, nose tip at the origin) of some of
    the 68 iBUG points, the face that :func:`head_pose` solves against."""

    name: str
    ids: tuple[int, ...]
    points: npt.NDArray[np.float64]  # len(ids) x 3


# Generic 3-D positions (x right, y up, z toward the camera) of iBUG points, in mm.
_MODEL_IDS = [30, 8, 36, 45, 48, 54, 27, 31, 35, 39, 42, 17, 26, 0, 16]
_MODEL_3D = np.array(
    [
        (0.0, 0.0, 0.0),  # 30 nose tip
        (0.0, -63.6, -12.5),  # 8 chin
        (-43.3, 32.7, -26.0),  # 36 outer corner of the image-left eye
        (43.3, 32.7, -26.0),  # 45 outer corner of the image-right eye
        (-28.9, -28.9, -24.1),  # 48 mouth corner
        (28.9, -28.9, -24.1),  # 54 mouth corner
        (0.0, 33.0, -16.0),  # 27 nose bridge
        (-10.0, -8.0, -12.0),  # 31 nostril
        (10.0, -8.0, -12.0),  # 35 nostril
        (-15.0, 32.0, -24.0),  # 39 inner eye corner
        (15.0, 32.0, -24.0),  # 42 inner eye corner
        (-55.0, 50.0, -30.0),  # 17 brow
        (55.0, 50.0, -30.0),  # 26 brow
        (-70.0, 30.0, -80.0),  # 0 jaw at the ear
        (70.0, 30.0, -80.0),  # 16 jaw at the ear
    ],
    dtype=np.float64,
)

#: The widely used iBUG-68 mean face: the silhouette points of dlib's jaw at the ears included.
IBUG_MEAN_FACE = FaceModel("ibug-mean-face", tuple(_MODEL_IDS), _MODEL_3D)


def _dist(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> float:
    return float(np.hypot(*(a - b)))


def eye_aspect_ratios(points: Points) -> tuple[float, float]:
    """EAR (Soukupova and Cech, 2016) of the image-left eye (36-41) and the image-right eye."""

    def ear(eye: Points) -> float:
        width = _dist(eye[0], eye[3])
        if width <= _DEGENERATE_PX:
            return 0.0
        return (_dist(eye[1], eye[5]) + _dist(eye[2], eye[4])) / (2.0 * width)

    return ear(points[36:42]), ear(points[42:48])


def mouth_aspect_ratio(points: Points) -> float:
    """Inner-lip opening over mouth width (60-67 inner lips, 48/54 corners)."""
    width = _dist(points[48], points[54])
    if width <= _DEGENERATE_PX:
        return 0.0
    opening = (
        _dist(points[61], points[67])
        + _dist(points[62], points[66])
        + _dist(points[63], points[65])
    )
    return opening / (3.0 * width)


def head_pose(
    points: Points, image_size: tuple[int, int], model: FaceModel = IBUG_MEAN_FACE
) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees relative to the camera's line of sight to the head.

    ``image_size`` is (width, height); ``model``: the 3-D face solved against (a landmarker
    brings its own where its points sit elsewhere on the face than dlib's).

    The rotation solved in the camera frame is corrected by the direction of the head from the
    optical axis: a head that moves to the side of the image is seen from an angle and shows its
    side, exactly as a turned head does, and that is what a "turn" means to the camera (and to
    the observers who labelled the data). Without this, a webcam user who turned while leaning
    sideways read as 1 degree of yaw where the labels and the image show a clear turn
    (headtrackr/capture4.mp4 at 2.4 s).
    """
    width, height = image_size
    focal = float(width)
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    image_points = points[list(model.ids)].astype(np.float64)
    # The model's y axis points up, the image's down: flip the model so that both agree.
    flipped = model.points * np.array([1.0, -1.0, -1.0])
    ok, rvec, tvec = cv2.solvePnP(flipped, image_points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok or tvec[2, 0] <= 0:
        return 0.0, 0.0, 0.0
    rotation, _ = cv2.Rodrigues(rvec)
    # Decompose R = Rz(roll) @ Ry(yaw) @ Rx(pitch) in the camera frame (x right, y down, z away).
    sy = math.hypot(rotation[0, 0], rotation[1, 0])
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    yaw = math.degrees(math.atan2(-rotation[2, 0], sy))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    pitch = (pitch + 180.0) % 360.0 - 180.0
    if pitch > _RIGHT_ANGLE:
        pitch -= 180
    elif pitch < -_RIGHT_ANGLE:
        pitch += 180
    tx, ty, tz = (float(v) for v in tvec.ravel())
    sight_yaw = math.degrees(math.atan2(tx, tz))
    sight_pitch = math.degrees(math.atan2(ty, tz))
    return -yaw + sight_yaw, -pitch - sight_pitch, roll


def five_points(points: Points) -> tuple[tuple[float, float], ...]:
    """YuNet-order 5 points (eye centres, nose tip, mouth corners) from the 68."""
    left = points[36:42].mean(axis=0)
    right = points[42:48].mean(axis=0)
    return tuple((float(x), float(y)) for x, y in (left, right, points[30], points[48], points[54]))
