"""Speed on one core: ``make bench`` (pytest-benchmark). Targets are checked by reading the
report, not by timed tests: a whole chip-vs-3-frames match should take <= 120 ms."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from realname.engines import Engines, load_engines
from realname.evaluation.datasets import to_chip
from realname.face.match import match_faces
from realname.policy import MatchPolicy, load_policy


@pytest.fixture(scope="module", autouse=True)
def one_core() -> None:
    cv2.setNumThreads(1)


@pytest.fixture(scope="module")
def engines() -> Engines:
    return load_engines("yunet", "sface")


@pytest.fixture(scope="module")
def policy() -> MatchPolicy:
    return load_policy()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize("size", [(320, 240), (640, 480)], ids=["320x240", "640x480"])
def test_detection(benchmark, engines: Engines, photo: np.ndarray, size: tuple[int, int]) -> None:
    image = cv2.resize(photo, size)
    faces = benchmark(engines.detector.detect, image)
    assert len(faces) == 1


def test_one_embedding(benchmark, engines: Engines, photo: np.ndarray) -> None:
    crop = engines.embedder.align(photo, engines.detector.detect(photo)[0])
    vectors = benchmark(engines.embedder.embed, [crop])
    assert vectors.shape == (1, 128)


def test_match_chip_portrait_against_3_frames(
    benchmark, engines: Engines, policy: MatchPolicy, photo: np.ndarray
) -> None:
    chip = to_chip(photo[0:300, 100:340])
    frames = [
        cv2.resize(cv2.convertScaleAbs(photo, alpha=a, beta=b), (640, 480))
        for a, b in ((1, 0), (0.9, 10), (1.1, -5))
    ]
    result = benchmark(match_faces, chip, frames, engines, policy)
    assert result.passed
