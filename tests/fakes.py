"""Deterministic fake engines that implement the real Protocols (for logic tests).

An image tells the fakes what it shows in three flat blocks along its top edge (they survive
resizing): the person's identity (0 = nobody), the number of equal-sized faces, and the
detection score in hundredths.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from realname.engines.base import Face


class FakeDetector:
    name = "fake-detector"
    version = "1"

    def load(self) -> None:
        pass

    def detect(self, image: np.ndarray) -> list[Face]:
        identity, count, score = read_markers(image)
        if identity == 0:
            return []
        h, w = image.shape[:2]
        size = min(h, w) / 3
        faces = []
        for i in range(max(1, count)):
            x, y = w / 4 + i * size * 1.1 - (count - 1) * size * 0.55, h / 4
            pts = tuple(
                (x + size * fx, y + size * fy)
                for fx, fy in ((0.34, 0.46), (0.66, 0.46), (0.5, 0.64), (0.37, 0.82), (0.63, 0.82))
            )
            faces.append(Face((x, y, size, size), pts, (score or 90) / 100))  # type: ignore[arg-type]
        return faces


class FakeEmbedder:
    name = "fake-embedder"
    version = "1"
    dim = 8

    def load(self) -> None:
        pass

    def align(self, image: np.ndarray, face: Face) -> np.ndarray:
        crop = np.zeros((8, 8, 3), dtype=np.uint8)
        crop[:, :, 0] = read_markers(image)[0]
        return crop

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(crops), self.dim), dtype=np.float32)
        for i, crop in enumerate(crops):
            out[i, int(crop[0, 0, 0]) % self.dim] = 1.0
        return out


def read_markers(image: np.ndarray) -> tuple[int, int, int]:
    h, w = image.shape[:2]
    return tuple(int(image[h // 32, (2 * i + 1) * w // 16, 0]) for i in range(3))  # type: ignore[return-value]


def fake_image(identity: int, faces: int = 1, score: int = 90) -> np.ndarray:
    rng = np.random.default_rng(identity)
    image = rng.integers(60, 200, (480, 640, 3), dtype=np.uint8)
    for i, value in enumerate((identity, faces, score)):
        image[: 480 // 16, i * 80 : (i + 1) * 80, 0] = value
    return image


class SlowDetector:
    """A real detector, 50 ms slower a call: a clip then takes far longer than its budget."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.name, self.version = inner, inner.name, inner.version

    def load(self) -> None:
        pass

    def detect(self, image):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return self.inner.detect(image)
