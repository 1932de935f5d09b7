"""Framing advice for the capture page: is the face where the liveness check can use it?

The page sends a small still of its preview a few times a second; :func:`assess_framing` finds
the faces in it and answers with one advice code, the first that applies:

* ``NO_FACE``;
* ``MULTIPLE_FACES``: a second face at least half as wide as the main one;
* ``TOO_DARK``, ``TOO_BRIGHT``: the face's mean grey level against the probe quality limits;
* ``TOO_FAR``: a face narrower than ``min_face_width`` of the frame, or whose eyes would be
  closer than the probe quality limit once the clip is analysed at ``analysis_long_side``;
* ``TOO_CLOSE``: wider than ``max_face_width`` (a turning head would leave the frame);
* ``NOT_CENTRED``: the face centre further than ``max_centre_offset`` of the frame from its
  centre;
* else ``OK``.

This is guidance, not a verdict: the server still judges the whole clip. Nothing is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines.base import FaceDetector
from realname.engines.geometry import clamp_box
from realname.face.detect import find_faces
from realname.policy import FaceSearch, FramingPolicy, QualityPolicy

__all__ = ["FramingAdvice", "FramingResult", "assess_framing"]

#: A second face at least this fraction of the main one's width is someone else in view; a
#: poster far behind is not. A rule of the advice (it judges nothing: the clip is judged).
_OTHER_FACE_WIDTH = 0.5


class FramingAdvice:
    """Stable advice codes (the page translates them)."""

    OK = "OK"
    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    TOO_DARK = "TOO_DARK"
    TOO_BRIGHT = "TOO_BRIGHT"
    TOO_FAR = "TOO_FAR"
    TOO_CLOSE = "TOO_CLOSE"
    NOT_CENTRED = "NOT_CENTRED"


@dataclass(frozen=True, slots=True)
class FramingResult:
    advice: str
    face_box: tuple[float, float, float, float] | None  # x, y, w, h as fractions of the frame
    face_width: float  # fraction of the frame width (NaN without a face)
    inter_eye_px: float  # at the analysis resolution of the clip
    brightness: float  # mean grey level of the face box
    faces: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "advice": self.advice,
            "face_box": None if self.face_box is None else [round(v, 4) for v in self.face_box],
            "face_width": round(self.face_width, 4),
            "inter_eye_px": round(self.inter_eye_px, 1),
            "brightness": round(self.brightness, 1),
            "faces": self.faces,
        }


def assess_framing(
    image: npt.NDArray[np.uint8],
    detector: FaceDetector,
    quality: QualityPolicy,
    framing: FramingPolicy,
    *,
    analysis_long_side: int,
    search: FaceSearch,
) -> FramingResult:
    height, width = image.shape[:2]
    found = find_faces(detector, image, search)
    nan = float("nan")
    if not found:
        return FramingResult(FramingAdvice.NO_FACE, None, nan, nan, nan, 0)
    widest = max(f.box[2] for f in found)
    faces = sorted(
        (f for f in found if f.box[2] >= _OTHER_FACE_WIDTH * widest), key=lambda f: -f.box[2]
    )
    if len(faces) > 1:
        return FramingResult(FramingAdvice.MULTIPLE_FACES, None, nan, nan, nan, len(faces))
    face = faces[0]
    x, y, w, h = face.box
    box = (x / width, y / height, w / width, h / height)
    x0, y0, x1, y1 = clamp_box(x, y, x + w, y + h, image.shape)
    gray = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) if x1 > x0 and y1 > y0 else None
    brightness = float(gray.mean()) if gray is not None else nan
    inter_eye = face.inter_eye_px * analysis_long_side / max(width, height)
    offset = max(abs(box[0] + box[2] / 2 - 0.5), abs(box[1] + box[3] / 2 - 0.5))
    if brightness < quality.min_brightness:
        advice = FramingAdvice.TOO_DARK
    elif brightness > quality.max_brightness:
        advice = FramingAdvice.TOO_BRIGHT
    elif box[2] < framing.min_face_width or inter_eye < quality.min_inter_eye_px_probe:
        advice = FramingAdvice.TOO_FAR
    elif box[2] > framing.max_face_width:
        advice = FramingAdvice.TOO_CLOSE
    elif offset > framing.max_centre_offset:
        advice = FramingAdvice.NOT_CENTRED
    else:
        advice = FramingAdvice.OK
    return FramingResult(advice, box, box[2], inter_eye, brightness, 1)
