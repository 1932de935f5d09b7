"""SFace face embedder (OpenCV Zoo, 2021dec) through ``cv2.FaceRecognizerSF``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines._state import quiet_opencv, require_loaded
from realname.engines.base import Face, FloatArray
from realname.engines.geometry import ARCFACE_SIZE, warp_to_template
from realname.engines.models import resolve_model

__all__ = ["SFaceEmbedder", "l2_normalise"]

_MIN_NORM = 1e-12  # a numerical floor: a zero vector stays zero instead of dividing by 0


def l2_normalise(vectors: FloatArray) -> FloatArray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: FloatArray = (vectors / np.maximum(norms, _MIN_NORM)).astype(np.float32)
    return out


class SFaceEmbedder:
    """Aligned 112x112 crop (similarity transform on the 5 landmarks) to a 128-d unit vector."""

    name = "sface"
    version = "2021dec"
    dim = 128
    crop_size = ARCFACE_SIZE

    def __init__(self) -> None:
        self._net: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        if self._net is not None:
            return
        quiet_opencv()
        # The ONNX graph through cv2.dnn rather than cv2.FaceRecognizerSF: it takes a batch
        # (15.0 instead of 17.2 ms a crop for 5 crops on one core, identical outputs), and
        # loading both would cost 170 MB instead of 85.
        self._net = cv2.dnn.readNetFromONNX(str(resolve_model("sface")))

    def align(self, image: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.uint8]:
        """FaceRecognizerSF.alignCrop's alignment: the least-squares similarity (Umeyama) of the
        5 points onto the ArcFace template, bilinear warp (at most 1 grey level apart from it,
        cosine >= 0.9999994 between the embeddings on 20 LFW faces)."""
        require_loaded(self._net, self.name)
        return warp_to_template(image, face)

    def embed(self, crops: Sequence[npt.NDArray[np.uint8]]) -> FloatArray:
        net = require_loaded(self._net, self.name)
        if not crops:
            return np.empty((0, self.dim), dtype=np.float32)
        blob = cv2.dnn.blobFromImages(
            list(crops), 1.0, (self.crop_size, self.crop_size), (0, 0, 0), swapRB=True
        )
        with self._lock:
            net.setInput(blob)
            out = np.asarray(net.forward(), dtype=np.float32).reshape(len(crops), self.dim)
        return l2_normalise(out)
