"""Contract tests every engine must pass, on a packaged photo (and, for the Protocols' shape,
the fakes of tests/fakes.py too)."""

import inspect
from collections.abc import Callable
from functools import partial
from typing import get_type_hints

import numpy as np
import pytest

from realname.engines import (
    DETECTORS,
    EMBEDDERS,
    LANDMARKERS,
    create_detector,
    create_embedder,
    create_landmarker,
)
from realname.engines.base import (
    Face,
    FaceDetector,
    FaceEmbedder,
    FaceLandmarker,
    Landmarks,
    PoseLandmarker,
)
from realname.errors import SetupError, UnknownEngineError
from tests.fakes import FakeDetector, FakeEmbedder, FakeLandmarker, SlowDetector, fake_image


@pytest.fixture(scope="module")
def face(engines, astronaut):
    return engines.detector.detect(astronaut)[0]


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detector_contract(name: str, astronaut: np.ndarray) -> None:
    detector = create_detector(name)
    assert isinstance(detector, FaceDetector) and detector.name == name and detector.version
    detector.load()
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 150 < x + w / 2 < 280 and 50 < y + h / 2 < 200  # Eileen Collins' face
    assert faces[0].score > 0.8
    left_eye, right_eye = faces[0].landmarks[:2]
    assert left_eye[0] < right_eye[0]
    assert detector.detect(np.zeros((240, 320, 3), dtype=np.uint8)) == []


@pytest.mark.parametrize("name", sorted(EMBEDDERS))
def test_embedder_contract(name: str, astronaut: np.ndarray, face) -> None:
    embedder = create_embedder(name)
    assert isinstance(embedder, FaceEmbedder) and embedder.name == name
    with pytest.raises(SetupError):
        embedder.align(astronaut, face)  # used before load()
    embedder.load()
    crop = embedder.align(astronaut, face)
    assert crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[0] == crop.shape[1]
    vectors = embedder.embed([crop, crop[:, ::-1].copy()])
    assert vectors.shape == (2, embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.7  # a face and its mirror image


def test_sface_crop_is_112_square(engines, astronaut, face) -> None:
    assert engines.embedder.align(astronaut, face).shape == (112, 112, 3)


@pytest.mark.parametrize("name", sorted(LANDMARKERS))
def test_landmarker_contract(name: str, astronaut: np.ndarray, face) -> None:
    landmarker = create_landmarker(name)
    assert isinstance(landmarker, FaceLandmarker)
    landmarker.load()
    points = landmarker.landmarks(astronaut, face)
    assert points.shape == (landmarker.n_points, 2)
    # dlib order: 36-41 the image-left eye, 42-47 the other; 30 the nose tip.
    left_eye, right_eye = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    np.testing.assert_allclose(left_eye, face.landmarks[0], atol=8)
    np.testing.assert_allclose(right_eye, face.landmarks[1], atol=8)


def test_unknown_engine_names_are_a_setup_error() -> None:
    with pytest.raises(UnknownEngineError, match="sface"):
        create_embedder("facenet")


# --- the Protocols' shape, for the fakes as for the real engines ------------------------------
# runtime_checkable isinstance() checks attribute names only; these check what every engine,
# fake or real, must offer without needing real model output: the Protocol's methods with its
# parameters, a name and a version, a load() that may be called twice, and the return types.


def _implements(engine: object, protocol: type) -> None:
    hints = get_type_hints(protocol)
    for attr in ("name", "version", "dim", "n_points"):
        if attr in hints:
            value = getattr(engine, attr)
            assert isinstance(value, hints[attr]) and value, attr
    methods = [m for m in dir(protocol) if not m.startswith("_") and callable(getattr(protocol, m))]
    for method in methods:
        expected = [
            p for p in inspect.signature(getattr(protocol, method)).parameters if p != "self"
        ]
        assert list(inspect.signature(getattr(engine, method)).parameters) == expected, method
    assert isinstance(engine, protocol)


def _slow_fake() -> FaceDetector:
    return SlowDetector(FakeDetector())


DETECTOR_FACTORIES: dict[str, Callable[[], FaceDetector]] = {
    "fake": FakeDetector,
    "slow-fake": _slow_fake,
    **{name: partial(create_detector, name) for name in DETECTORS},
}
EMBEDDER_FACTORIES: dict[str, Callable[[], FaceEmbedder]] = {
    "fake": FakeEmbedder,
    **{name: partial(create_embedder, name) for name in EMBEDDERS},
}
LANDMARKER_FACTORIES: dict[str, Callable[[], FaceLandmarker]] = {
    "fake": FakeLandmarker,
    **{name: partial(create_landmarker, name) for name in LANDMARKERS},
}


@pytest.mark.parametrize("kind", sorted(DETECTOR_FACTORIES))
def test_every_detector_has_the_protocol_shape(kind: str, astronaut: np.ndarray) -> None:
    detector = DETECTOR_FACTORIES[kind]()
    _implements(detector, FaceDetector)
    detector.load()
    detector.load()  # idempotent
    for image in (astronaut, fake_image(1)):
        faces = detector.detect(image)
        assert isinstance(faces, list) and all(isinstance(f, Face) for f in faces)
        for f in faces:
            assert len(f.box) == 4 and len(f.landmarks) == 5 and isinstance(f.score, float)


@pytest.mark.parametrize("kind", sorted(EMBEDDER_FACTORIES))
def test_every_embedder_has_the_protocol_shape(kind: str, astronaut: np.ndarray, face) -> None:
    embedder = EMBEDDER_FACTORIES[kind]()
    _implements(embedder, FaceEmbedder)
    embedder.load()
    embedder.load()  # idempotent
    crop = embedder.align(astronaut, face)
    assert crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[0] == crop.shape[1]
    vectors = embedder.embed([crop, crop])
    assert vectors.dtype == np.float32 and vectors.shape == (2, embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert embedder.embed([]).shape == (0, embedder.dim)


@pytest.mark.parametrize("kind", sorted(LANDMARKER_FACTORIES))
def test_every_landmarker_has_the_protocol_shape(kind: str, astronaut: np.ndarray, face) -> None:
    landmarker = LANDMARKER_FACTORIES[kind]()
    _implements(
        landmarker, PoseLandmarker if isinstance(landmarker, PoseLandmarker) else FaceLandmarker
    )
    landmarker.load()
    landmarker.load()  # idempotent
    points = landmarker.landmarks(astronaut, face)
    assert points.dtype == np.float32 and points.shape == (landmarker.n_points, 2)
    if isinstance(landmarker, PoseLandmarker):
        found = landmarker.locate(astronaut, face)
        assert isinstance(found, Landmarks) and found.points.shape == (landmarker.n_points, 2)
        assert len(found.pose) == 3 and all(isinstance(v, float) for v in found.pose)
