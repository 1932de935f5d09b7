"""Shared helpers for engines: a guard that ``load()`` ran."""

from __future__ import annotations

from contextlib import suppress
from typing import TypeVar

from realname.errors import SetupError

T = TypeVar("T")


def require_loaded(obj: T | None, engine: str) -> T:
    if obj is None:
        raise SetupError(f"engine {engine!r} was used before load()", engine=engine)
    return obj


def quiet_opencv() -> None:
    """Keep OpenCV's informational warnings (e.g. about DNN targets) out of the logs."""
    import cv2

    with suppress(AttributeError):  # builds without the logging module
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
