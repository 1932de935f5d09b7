"""YuNet face detector (OpenCV Zoo, 2023mar) through ``cv2.FaceDetectorYN``."""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines._state import quiet_opencv, require_loaded
from realname.engines.base import Face
from realname.engines.models import resolve_model

__all__ = ["YuNetDetector"]


class YuNetDetector:
    """Boxes, 5 landmarks and a confidence for every face in a BGR image."""

    name = "yunet"
    version = "2023mar"

    def __init__(self, score_threshold: float = 0.6, nms_threshold: float = 0.3, top_k: int = 50):
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self._path: str | None = None
        self._local = threading.local()

    def _create(self, path: str) -> Any:
        return cv2.FaceDetectorYN.create(
            path, "", (320, 320), self.score_threshold, self.nms_threshold, self.top_k
        )

    def load(self) -> None:
        if self._path is not None:
            return
        quiet_opencv()
        self._path = str(resolve_model("yunet"))
        self._local.net = self._create(self._path)

    def detect(self, image: npt.NDArray[np.uint8]) -> list[Face]:
        path = require_loaded(self._path, self.name)
        # setInputSize + detect mutate the net: one net per thread (232 KB each), no lock, so
        # that threads detect in parallel (OpenCV releases the GIL).
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._local.net = self._create(path)
        height, width = image.shape[:2]
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
