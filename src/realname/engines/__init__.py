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
from typing import TypeVar

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


E = TypeVar("E")


def _create(kind: str, registry: dict[str, Callable[[], E]], name: str) -> E:
    try:
        factory = registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise UnknownEngineError(f"unknown {kind} {name!r}; known: {known}", name=name) from None
    return factory()


def create_detector(name: str) -> FaceDetector:
    return _create("face detector", DETECTORS, name)


def create_embedder(name: str) -> FaceEmbedder:
    return _create("face embedder", EMBEDDERS, name)


def create_landmarker(name: str) -> FaceLandmarker:
    return _create("landmarker", LANDMARKERS, name)


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
