"""YuNet face detector (OpenCV Zoo, 2023mar) through ``cv2.FaceDetectorYN``."""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines._state import quiet_opencv, require_loaded
from realname.engines.base import Face
from realname.models import resolve_model

__all__ = ["YuNetDetector"]


class YuNetDetector:
    """Boxes, 5 landmarks and a confidence for every face in a BGR image."""

    name = "yunet"
    version = "2023mar"

    def __init__(self, score_threshold: float = 0.6, nms_threshold: float = 0.3, top_k: int = 50):
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self._net: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        if self._net is not None:
            return
        quiet_opencv()
        path = resolve_model("yunet")
        self._net = cv2.FaceDetectorYN.create(
            str(path), "", (320, 320), self.score_threshold, self.nms_threshold, self.top_k
        )

    def detect(self, image: npt.NDArray[np.uint8]) -> list[Face]:
        net = require_loaded(self._net, self.name)
        height, width = image.shape[:2]
        with self._lock:  # setInputSize + detect mutate the shared net
            net.setInputSize((width, height))
            _, raw = net.detect(image)
        if raw is None:
            return []
        faces = [
            Face(
                box=(float(r[0]), float(r[1]), float(r[2]), float(r[3])),
                landmarks=tuple((float(r[4 + 2 * i]), float(r[5 + 2 * i])) for i in range(5)),  # type: ignore[arg-type]
                score=float(r[14]),
            )
            for r in raw
        ]
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces
