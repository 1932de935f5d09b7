"""Covered faces: a mask, a hand, sunglasses or hair over the eyes (quality reason FACE_OCCLUDED).

Measured on the canonical 112x112 crop of :mod:`realname.face.quality` (the 5 landmarks warped onto
the ArcFace template), so every part of the face sits at a known place. A covered part loses the
structure a visible one has: eyes have an iris, lids and lashes, a mouth has the line between
the lips. Each cue is a ratio to the same face's own other regions, so that light, skin tone,
blur and camera gain cancel out:

=================== ===================================================================
``eye_structure``   mean gradient in the flatter eye region over the median gradient of
                    the cheeks, forehead and nose (sunglasses, a hand or hair: low)
``eye_contrast``    grey-level spread in the flatter eye region over that of the cheeks
                    and nose (a flat patch over an eye: low)
``eye_darkness``    mean grey level of the darker eye region over the median of the
                    cheeks, forehead and nose (dark glasses, hair: low)
``mouth_structure`` mean vertical gradient over the mouth (the lip line) over the median
                    gradient of the cheeks, forehead and nose (a mask, a hand: low)
``mouth_to_eyes``   mean gradient over the mouth over that of the eyes (a mask: low)
=================== ===================================================================

A face is occluded when any cue is below its limit in the policy (``QualityPolicy``). The cues
describe a face near frontal: beyond ``occlusion_max_abs_pose_deg`` of yaw, pitch or roll (45,
well beyond the pose limits, since a cover moves the landmarks and so the pose estimate) occlusion
is not judged. Limits were set on ``realname eval occlusion`` (see ``policy.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.policy import QualityPolicy

__all__ = ["OcclusionCues", "measure_occlusion", "occluded_cues"]

# Regions of the canonical crop (rows y0:y1, columns x0:x1); the template's eyes sit at
# (38, 52) and (74, 52), the nose tip at (56, 72), the mouth corners at (42, 92) and (71, 92).
_EYES = ((44, 60, 28, 50), (44, 60, 62, 84))
_MOUTH = (84, 100, 38, 74)
_CHEEKS = ((62, 82, 22, 40), (62, 82, 72, 90))
_FOREHEAD = (24, 38, 38, 74)
_NOSE = (62, 80, 46, 66)
_EPS = 1.0  # grey levels: keeps a ratio finite on a flat crop


@dataclass(frozen=True, slots=True)
class OcclusionCues:
    """Ratios of one face's parts to its own other regions; see the module docstring."""

    eye_structure: float
    eye_contrast: float
    eye_darkness: float
    mouth_structure: float
    mouth_to_eyes: float


def _region(a: npt.NDArray[np.float32], r: tuple[int, int, int, int]) -> npt.NDArray[np.float32]:
    y0, y1, x0, x1 = r
    return a[y0:y1, x0:x1]


def measure_occlusion(gray: npt.NDArray[Any]) -> OcclusionCues:
    """The cues of a 112x112 grey canonical crop (:func:`realname.face.quality.canonical_crop`)."""
    g = gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    mag = np.abs(gx) + gy
    skin = (*_CHEEKS, _FOREHEAD, _NOSE)
    ref_grad = float(np.median([_region(mag, r).mean() for r in skin])) + _EPS
    ref_level = float(np.median([_region(g, r).mean() for r in skin])) + _EPS
    ref_spread = float(np.median([_region(g, r).std() for r in (*_CHEEKS, _NOSE)])) + _EPS
    eye_grad = [float(_region(mag, r).mean()) for r in _EYES]
    eye_spread = min(float(_region(g, r).std()) for r in _EYES)
    eye_level = min(float(_region(g, r).mean()) for r in _EYES)
    mouth_grad = float(_region(mag, _MOUTH).mean())
    return OcclusionCues(
        eye_structure=round(min(eye_grad) / ref_grad, 4),
        eye_contrast=round(eye_spread / ref_spread, 4),
        eye_darkness=round(eye_level / ref_level, 4),
        mouth_structure=round(float(_region(gy, _MOUTH).mean()) / ref_grad, 4),
        mouth_to_eyes=round(mouth_grad / (sum(eye_grad) / 2 + _EPS), 4),
    )


def occluded_cues(cues: OcclusionCues, policy: QualityPolicy) -> tuple[str, ...]:
    """The names of the cues below their limits (empty: nothing covered)."""
    limits = {
        "eye_structure": policy.min_eye_structure,
        "eye_contrast": policy.min_eye_contrast_ratio,
        "eye_darkness": policy.min_eye_darkness,
        "mouth_structure": policy.min_mouth_structure,
        "mouth_to_eyes": policy.min_mouth_to_eyes,
    }
    return tuple(name for name, limit in limits.items() if getattr(cues, name) < limit)
