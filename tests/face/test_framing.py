"""Framing advice on synthetic frames: the astronaut's head placed in a 640x480 frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from realname.face.framing import FramingAdvice, assess_framing

WIDTH, HEIGHT = 640, 480


def frame_with_head(head: np.ndarray, width: int, centre: tuple[float, float]) -> np.ndarray:
    """A grey 640x480 frame with ``head`` scaled to ``width`` px, centred at ``centre``."""
    frame = np.full((HEIGHT, WIDTH, 3), 110, np.uint8)
    height = round(head.shape[0] * width / head.shape[1])
    scaled = cv2.resize(head, (width, height), interpolation=cv2.INTER_AREA)
    x0 = round(centre[0] * WIDTH - width / 2)
    y0 = round(centre[1] * HEIGHT - height / 2)
    sx0, sy0 = max(0, -x0), max(0, -y0)
    x0, y0 = max(0, x0), max(0, y0)
    w = min(WIDTH - x0, scaled.shape[1] - sx0)
    h = min(HEIGHT - y0, scaled.shape[0] - sy0)
    frame[y0 : y0 + h, x0 : x0 + w] = scaled[sy0 : sy0 + h, sx0 : sx0 + w]
    return frame


def advise(frame: np.ndarray, engines, policy):
    live = policy.liveness
    return assess_framing(
        frame,
        engines.detector,
        policy.quality,
        live.framing,
        analysis_long_side=live.analysis_long_side,
        search=policy.search,
    )


@pytest.fixture(scope="module")
def head(astronaut: np.ndarray) -> np.ndarray:
    # The astronaut's head with little around it: face box about 60% of this crop's width.
    return np.ascontiguousarray(astronaut[20:260, 150:340])


def test_a_face_in_the_oval_is_ok(head, engines, policy) -> None:
    result = advise(frame_with_head(head, 420, (0.5, 0.5)), engines, policy)
    assert result.advice == FramingAdvice.OK, result
    assert result.faces == 1 and result.face_box is not None
    assert 0.22 <= result.face_width <= 0.6
    assert result.to_dict()["advice"] == "OK"


@pytest.mark.parametrize(
    ("width", "centre", "advice"),
    [
        (110, (0.5, 0.5), FramingAdvice.TOO_FAR),
        (950, (0.5, 0.5), FramingAdvice.TOO_CLOSE),
        (420, (0.2, 0.5), FramingAdvice.NOT_CENTRED),
        (420, (0.55, 0.8), FramingAdvice.NOT_CENTRED),
    ],
)
def test_where_the_face_is_gives_the_advice(
    head, engines, policy, width: int, centre: tuple[float, float], advice: str
) -> None:
    result = advise(frame_with_head(head, width, centre), engines, policy)
    assert result.advice == advice, result


def test_light_and_absence(head, engines, policy, coffee) -> None:
    frame = frame_with_head(head, 420, (0.5, 0.5))
    dark = (frame.astype(np.float32) * 0.25).astype(np.uint8)
    assert advise(dark, engines, policy).advice == FramingAdvice.TOO_DARK
    bright = np.clip(frame.astype(np.float32) * 2.2 + 40, 0, 255).astype(np.uint8)
    assert advise(bright, engines, policy).advice in (
        FramingAdvice.TOO_BRIGHT,
        FramingAdvice.NO_FACE,  # washed out past what the detector sees
    )
    empty = np.full((HEIGHT, WIDTH, 3), 110, np.uint8)
    assert advise(empty, engines, policy).advice == FramingAdvice.NO_FACE


def test_a_second_person_in_view_is_advised(head, engines, policy) -> None:
    frame = frame_with_head(head, 200, (0.3, 0.5))
    other = frame_with_head(head, 200, (0.75, 0.5))
    frame[:, 400:] = other[:, 400:]
    result = advise(frame, engines, policy)
    assert result.advice == FramingAdvice.MULTIPLE_FACES and result.faces == 2
