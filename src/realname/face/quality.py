"""Quality of one face: size, sharpness, exposure, pose, eyes, cover, other faces. Each failure is a
code (a mask, a hand or sunglasses over the face: ``FACE_OCCLUDED``, see
:mod:`realname.face.occlusion`).

Measurements are made on a canonical 112x112 crop (the 5 landmarks warped onto the standard
ArcFace template), so they do not depend on the matching engine. Pose comes from the 5 landmarks
(a quick estimate, good to a few degrees near frontal; liveness uses the 68-point model).
Sign conventions: yaw > 0 when the person turns to their own left (nose toward the image's right
edge, in a non-mirrored image); pitch > 0 when the head tilts up; roll > 0 when the line from the
image-left eye to the image-right eye goes down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines.base import Face
from realname.engines.geometry import warp_to_template
from realname.face.occlusion import OcclusionCues, measure_occlusion, occluded_cues
from realname.policy import QualityPolicy

__all__ = ["FaceQuality", "QualityReason", "assess_quality", "canonical_crop", "estimate_pose"]


class QualityReason:
    """Stable reason codes for quality failures."""

    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    FACE_BLURRY = "FACE_BLURRY"
    FACE_TOO_DARK = "FACE_TOO_DARK"
    FACE_TOO_BRIGHT = "FACE_TOO_BRIGHT"
    FACE_CLIPPED = "FACE_CLIPPED"
    POSE_YAW = "POSE_YAW"
    POSE_PITCH = "POSE_PITCH"
    POSE_ROLL = "POSE_ROLL"
    EYES_NOT_VISIBLE = "EYES_NOT_VISIBLE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    FACE_NOT_DETECTED = "FACE_NOT_DETECTED"
    FACE_OCCLUDED = (
        "FACE_OCCLUDED"  # a mask, a hand, sunglasses or hair: see realname.face.occlusion
    )


# Frontal geometry of the template: nose offset from the eye-mouth axis is 0, and the nose sits
# at this fraction of the way from the eye line down to the mouth line.
_NOSE_DEPTH_RATIO = 0.55  # nose tip protrusion / inter-eye distance, for yaw
# With YuNet's points the nose tip of a frontal face sits 0.563 of the way from the eye line to
# the mouth line (median of 400 LFW images, 2026-11-28; the ArcFace template says 0.495).
_FRONTAL_NOSE_FRACTION = 0.563
_DEGENERATE_PX = 1e-6  # numerical: a mouth at the eye line gives no ratio to divide by
# A clipped pixel: within 5 grey levels of black or of white (the share of them is policy:
# QualityPolicy.max_clipped_fraction).
_CLIPPED_DARK, _CLIPPED_BRIGHT = 5, 250


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """Measured quality of one face, the limits applied, and what failed."""

    inter_eye_px: float
    sharpness: float
    brightness: float
    clipped_fraction: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    eye_contrast: float
    face_count: int
    detection_score: float
    reasons: tuple[str, ...]
    # None: not judged (beyond occlusion_max_abs_pose_deg); else the cues of realname.face.occlusion
    occlusion: OcclusionCues | None = None
    occluded_cues: tuple[str, ...] = ()  # the cues below their limits

    @property
    def acceptable(self) -> bool:
        return not self.reasons

    @property
    def rank(self) -> float:
        """Higher is better: used to pick the best probe frames."""
        frontal = 1.0 - min(1.0, (abs(self.yaw_deg) + abs(self.pitch_deg)) / 60.0)
        sharp = min(1.0, self.sharpness / 300.0)
        size = min(1.0, self.inter_eye_px / 80.0)
        return -len(self.reasons) + frontal + 0.5 * sharp + 0.5 * size + 0.5 * self.detection_score


def canonical_crop(image: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.uint8]:
    """The 112x112 ArcFace crop that quality is measured on (edges replicated, not black)."""
    return warp_to_template(image, face, cv2.BORDER_REPLICATE)


def estimate_pose(face: Face) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the 5 landmarks; see the module docstring for signs."""
    pts = face.landmark_array().astype(np.float64)
    eye_l, eye_r, nose, mouth_l, mouth_r = pts
    eye_vec = eye_r - eye_l
    inter_eye = float(np.hypot(*eye_vec)) or 1.0
    roll = math.degrees(math.atan2(eye_vec[1], eye_vec[0]))
    # Rotate into the face's own frame (undo roll) before measuring yaw and pitch.
    c, s = math.cos(-math.radians(roll)), math.sin(-math.radians(roll))
    rot = np.array([[c, -s], [s, c]])
    eye_mid = (eye_l + eye_r) / 2
    mouth_mid = (mouth_l + mouth_r) / 2
    nose_f = rot @ (nose - eye_mid)
    mouth_f = rot @ (mouth_mid - eye_mid)
    axis_x = mouth_f[0] * (nose_f[1] / mouth_f[1]) if abs(mouth_f[1]) > _DEGENERATE_PX else 0.0
    yaw_ratio = (nose_f[0] - axis_x) / (_NOSE_DEPTH_RATIO * inter_eye)
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, yaw_ratio))))
    flat = abs(mouth_f[1]) <= _DEGENERATE_PX
    fraction = _FRONTAL_NOSE_FRACTION if flat else nose_f[1] / mouth_f[1]
    pitch_ratio = (_FRONTAL_NOSE_FRACTION - fraction) / 0.5
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, pitch_ratio))))
    return yaw, pitch, roll


@dataclass(frozen=True, slots=True)
class _Measures:
    """What is measured on the canonical crop of one face."""

    gray: npt.NDArray[np.uint8]
    sharpness: float
    brightness: float
    clipped: float
    eye_contrast: float


def _measure(image: npt.NDArray[np.uint8], face: Face) -> _Measures:
    crop = canonical_crop(image, face)
    gray = np.asarray(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    inner = gray[30:104, 20:92]  # eyes to chin, cheek to cheek
    eye_patches = [gray[47:57, 30:47], gray[47:57, 65:82]]  # around each eye centre
    return _Measures(
        gray=gray,
        sharpness=float(cv2.Laplacian(inner, cv2.CV_64F).var()),
        brightness=float(inner.mean()),
        clipped=float(np.mean((inner <= _CLIPPED_DARK) | (inner >= _CLIPPED_BRIGHT))),
        eye_contrast=float(min(p.std() for p in eye_patches)),
    )


def _limit_reasons(
    face: Face,
    m: _Measures,
    pose: tuple[float, float, float],
    policy: QualityPolicy,
    role: str,
) -> list[str]:
    """The codes of every limit of ``policy`` (occlusion aside) that the face misses."""
    yaw, pitch, roll = pose
    reference = role == "reference"
    min_eye = policy.min_inter_eye_px_reference if reference else policy.min_inter_eye_px_probe
    min_sharpness = policy.min_sharpness_reference if reference else policy.min_sharpness_probe
    failures = (
        (face.source == "whole_image_fallback", QualityReason.FACE_NOT_DETECTED),
        (face.inter_eye_px < min_eye, QualityReason.FACE_TOO_SMALL),
        (m.sharpness < min_sharpness, QualityReason.FACE_BLURRY),
        (m.brightness < policy.min_brightness, QualityReason.FACE_TOO_DARK),
        (m.brightness > policy.max_brightness, QualityReason.FACE_TOO_BRIGHT),
        (m.clipped > policy.max_clipped_fraction, QualityReason.FACE_CLIPPED),
        (abs(yaw) > policy.max_abs_yaw_deg, QualityReason.POSE_YAW),
        (abs(pitch) > policy.max_abs_pitch_deg, QualityReason.POSE_PITCH),
        (abs(roll) > policy.max_abs_roll_deg, QualityReason.POSE_ROLL),
        (m.eye_contrast < policy.min_eye_contrast, QualityReason.EYES_NOT_VISIBLE),
    )
    return [code for failed, code in failures if failed]


def assess_quality(
    image: npt.NDArray[np.uint8],
    face: Face,
    policy: QualityPolicy,
    *,
    face_count: int = 1,
    role: str = "probe",
) -> FaceQuality:
    """Measure one face and list every limit of ``policy`` it misses."""
    m = _measure(image, face)
    yaw, pitch, roll = estimate_pose(face)
    reasons = _limit_reasons(face, m, (yaw, pitch, roll), policy, role)
    if face_count > 1:
        reasons.append(QualityReason.MULTIPLE_FACES)
    limit = policy.occlusion_max_abs_pose_deg
    frontal = max(abs(yaw), abs(pitch), abs(roll)) <= limit
    occlusion = measure_occlusion(m.gray) if frontal else None
    covered = occluded_cues(occlusion, policy) if occlusion is not None else ()
    if covered:
        reasons.append(QualityReason.FACE_OCCLUDED)
    return FaceQuality(
        inter_eye_px=round(face.inter_eye_px, 2),
        sharpness=round(m.sharpness, 2),
        brightness=round(m.brightness, 2),
        clipped_fraction=round(m.clipped, 4),
        yaw_deg=round(yaw, 2),
        pitch_deg=round(pitch, 2),
        roll_deg=round(roll, 2),
        eye_contrast=round(m.eye_contrast, 2),
        face_count=face_count,
        detection_score=round(face.score, 4),
        reasons=tuple(reasons),
        occlusion=occlusion,
        occluded_cues=covered,
    )
