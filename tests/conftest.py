"""Shared fixtures: real engines loaded once, packaged test images, and the data folder."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path | None:
    """``REALNAME_DATA`` or ``../shared/data`` beside the repository, if present."""
    env = os.environ.get("REALNAME_DATA")
    candidates = [Path(env)] if env else [REPO.parent / "shared" / "data"]
    return next((p for p in candidates if p.is_dir()), None)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if root is None:
        pytest.skip(
            "real data not found: set REALNAME_DATA or place shared/data beside the repository"
        )
    return root


@pytest.fixture(scope="session")
def engines():
    from realname.engines import load_engines

    return load_engines("yunet", "sface", "mesh")


@pytest.fixture(scope="session")
def policy():
    from realname.policy import load_policy

    return load_policy()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (Eileen Collins), BGR 512x512: one clear frontal face."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def astronaut_face(astronaut: np.ndarray) -> np.ndarray:
    """A 240x300 head-and-shoulders crop of the astronaut."""
    return np.ascontiguousarray(astronaut[0:300, 100:340])


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """A cup of coffee: no face."""
    from skimage import data

    return cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)


def encode(image: np.ndarray, ext: str = ".jpg") -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()
