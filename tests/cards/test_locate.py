import cv2
import numpy as np
import pytest

from realname.cards.locate import find_card_quads, order_corners, rectify, turn_degrees
from realname.cards.reading import CARD_HEIGHT, CARD_WIDTH


def _scene(corners: np.ndarray, size=(1200, 900), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    photo = np.full((size[1], size[0], 3), 60, np.uint8)
    for _ in range(30):  # clutter: dark rectangles and lines
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        colour = tuple(int(c) for c in rng.integers(0, 120, 3))
        cv2.rectangle(photo, (int(x), int(y)), (int(x + 80), int(y + 40)), colour, -1)
    card = np.full((CARD_HEIGHT, CARD_WIDTH, 3), 235, np.uint8)
    cv2.putText(card, "513701199507176346", (280, 470), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
    src = np.array(
        [[0, 0], [CARD_WIDTH, 0], [CARD_WIDTH, CARD_HEIGHT], [0, CARD_HEIGHT]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    warped = cv2.warpPerspective(card, matrix, size)
    mask = cv2.warpPerspective(np.full((CARD_HEIGHT, CARD_WIDTH), 255, np.uint8), matrix, size)
    photo[mask > 0] = warped[mask > 0]
    return photo


def _corner_error(found: np.ndarray, truth: np.ndarray) -> float:
    best = min(float(np.abs(np.roll(found, k, axis=0) - truth).max()) for k in range(4))
    return best


@pytest.mark.parametrize(
    "corners",
    [
        [[200, 180], [1000, 220], [980, 720], [180, 690]],  # a slight tilt
        [[300, 150], [900, 260], [860, 700], [250, 600]],  # perspective
    ],
)
def test_a_card_on_clutter_is_found_within_a_few_pixels(corners) -> None:
    truth = np.array(corners, np.float32)
    quads = find_card_quads(_scene(truth))
    assert quads, "no outline found"
    assert _corner_error(quads[0].corners, truth) < 12


def test_two_cards_give_two_outlines_and_nested_ones_count_once() -> None:
    a = np.array([[40, 100], [560, 100], [560, 428], [40, 428]], np.float32)
    b = np.array([[620, 300], [1140, 300], [1140, 628], [620, 628]], np.float32)
    photo = _scene(a)
    photo2 = _scene(b, seed=1)
    photo[:, 600:] = photo2[:, 600:]
    quads = find_card_quads(photo)
    assert len(quads) == 2


def test_a_photo_without_a_card_gives_no_outline() -> None:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)
    assert find_card_quads(noise) == []


def test_corners_are_ordered_long_side_first_and_the_turn_is_read_from_the_top_edge() -> None:
    upright = order_corners([[10, 10], [110, 10], [110, 73], [10, 73]])
    assert upright.tolist() == [[10, 10], [110, 10], [110, 73], [10, 73]]
    assert turn_degrees(upright) == 0
    portrait = order_corners([[10, 10], [73, 10], [73, 110], [10, 110]])  # a card turned 90
    long_side = np.linalg.norm(portrait[1] - portrait[0])
    assert long_side == pytest.approx(100)
    assert turn_degrees(portrait) in (90, 270)
    assert turn_degrees(np.roll(upright, -2, axis=0)) == 180


def test_rectify_warps_to_the_card_frame() -> None:
    truth = np.array([[200, 180], [1000, 220], [980, 720], [180, 690]], np.float32)
    card = rectify(_scene(truth), truth)
    assert card.shape == (CARD_HEIGHT, CARD_WIDTH, 3)
    assert card[20:100, 20:200].mean() > 200  # the card's light body, not the clutter
