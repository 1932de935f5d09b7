"""Engines by name: a registry of factories, chosen from settings.

Constructing an engine does nothing; :meth:`Engines.load` loads every model once.

``dlib68`` and ``dlib-resnet`` are in the optional extra ``pip install 'realname[dlib]'`` (the
68-point model's training data forbids commercial use): they are registered and constructed
without it, and their ``load()`` raises :class:`~realname.errors.ExtraNotInstalledError` when
it is missing. :data:`realname.engines.models.ENGINE_MODELS` names the model files of each engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from realname.engines.base import Face, FaceDetector, FaceEmbedder, FaceLandmarker
from realname.engines.dlib_models import Dlib68Landmarker, DlibResNetEmbedder
from realname.engines.mesh import MeshLandmarker
from realname.engines.sface import SFaceEmbedder
from realname.engines.yunet import YuNetDetector
from realname.errors import UnknownEngineError

__all__ = [
    "DETECTORS",
    "EMBEDDERS",
    "LANDMARKERS",
    "Engines",
    "Face",
    "FaceDetector",
    "FaceEmbedder",
    "FaceLandmarker",
    "create_detector",
    "create_embedder",
    "create_landmarker",
    "load_engines",
]

DETECTORS: dict[str, Callable[[], FaceDetector]] = {"yunet": YuNetDetector}
EMBEDDERS: dict[str, Callable[[], FaceEmbedder]] = {
    "sface": SFaceEmbedder,
    "dlib-resnet": DlibResNetEmbedder,
}
LANDMARKERS: dict[str, Callable[[], FaceLandmarker]] = {
    "dlib68": Dlib68Landmarker,
    "mesh": MeshLandmarker,
}


def _create(kind: str, registry: dict[str, Callable[[], object]], name: str) -> object:
    try:
        return registry[name]()
    except KeyError:
        known = ", ".join(sorted(registry))
        raise UnknownEngineError(f"unknown {kind} {name!r}; known: {known}", name=name) from None


def create_detector(name: str) -> FaceDetector:
    engine = _create("face detector", DETECTORS, name)  # type: ignore[arg-type]
    assert isinstance(engine, FaceDetector)
    return engine


def create_embedder(name: str) -> FaceEmbedder:
    engine = _create("face embedder", EMBEDDERS, name)  # type: ignore[arg-type]
    assert isinstance(engine, FaceEmbedder)
    return engine


def create_landmarker(name: str) -> FaceLandmarker:
    engine = _create("landmarker", LANDMARKERS, name)  # type: ignore[arg-type]
    assert isinstance(engine, FaceLandmarker)
    return engine


@dataclass(slots=True)
class Engines:
    """The engines one process uses, loaded together at start-up."""

    detector: FaceDetector
    embedder: FaceEmbedder
    landmarker: FaceLandmarker | None = None

    @classmethod
    def from_names(cls, detector: str, embedder: str, landmarker: str | None = None) -> Engines:
        return cls(
            create_detector(detector),
            create_embedder(embedder),
            create_landmarker(landmarker) if landmarker else None,
        )

    def load(self) -> Engines:
        self.detector.load()
        self.embedder.load()
        if self.landmarker is not None:
            self.landmarker.load()
        return self


def load_engines(
    detector: str = "yunet", embedder: str = "sface", landmarker: str | None = None
) -> Engines:
    """Build the named engines and load them (once, at start-up)."""
    return Engines.from_names(detector, embedder, landmarker).load()
