"""The synthetic print attack: a card with the astronaut's photo moved in front of a coffee cup."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from realname.evaluation.print_attack import CardMotion, card_poses, synthesise_print_attack

SIZE = (640, 480)
SEED = 7
SHORT = CardMotion(duration_s=1.0, fps=10.0)


@pytest.fixture(scope="module")
def backdrop(coffee: np.ndarray) -> np.ndarray:
    """The coffee cup, resized to exactly the frame size (so the clip uses it unchanged)."""
    return cv2.resize(coffee, SIZE, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def clip(astronaut: np.ndarray, backdrop: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    return synthesise_print_attack(astronaut, backdrop, np.random.default_rng(SEED), size=SIZE)


def _card_corners(frame: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left corners of the bright card on black."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    contours, _ = cv2.findContours(
        (grey > 100).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    outline = max(contours, key=cv2.contourArea)
    quad = cv2.approxPolyDP(outline, 0.02 * cv2.arcLength(outline, True), True).reshape(-1, 2)
    assert len(quad) == 4, f"the card's outline is not a quadrilateral: {quad}"
    total, diff = quad.sum(axis=1), quad[:, 1] - quad[:, 0]
    order = [total.argmin(), diff.argmin(), total.argmax(), diff.argmax()]
    return quad[order].astype(np.float64)


def test_clip_has_duration_times_fps_frames_of_the_requested_size(clip) -> None:
    frames, timestamps = clip
    motion = CardMotion()
    assert len(frames) == len(timestamps) == round(motion.duration_s * motion.fps) == 60
    assert timestamps[0] == 0.0
    np.testing.assert_allclose(np.diff(timestamps), 1.0 / motion.fps)
    for frame in frames:
        assert frame.dtype == np.uint8
        assert frame.shape == (SIZE[1], SIZE[0], 3)


def test_the_card_is_visible_over_the_background(clip, backdrop) -> None:
    frames, _ = clip
    width, height = SIZE
    middle = (slice(height // 2 - 40, height // 2 + 40), slice(width // 2 - 40, width // 2 + 40))
    edge = (slice(0, 40), slice(None))  # the top strip: the card never reaches it
    for frame in frames:
        centre_diff = np.abs(frame[middle].astype(float) - backdrop[middle]).mean()
        edge_diff = np.abs(frame[edge].astype(float) - backdrop[edge]).mean()
        assert centre_diff > 25.0
        assert edge_diff < 0.5 * centre_diff


def test_same_seed_same_clip_and_another_seed_another(astronaut, backdrop) -> None:
    def make(seed: int) -> list[np.ndarray]:
        frames, _ = synthesise_print_attack(
            astronaut, backdrop, np.random.default_rng(seed), SHORT, size=SIZE
        )
        return frames

    first, again, other = make(1), make(1), make(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize(
    "motion",
    [CardMotion(), SHORT, CardMotion(duration_s=10.0, fps=30.0, max_yaw_deg=20.0)],
    ids=["default", "short", "long"],
)
def test_the_card_turns_both_ways_like_a_head_and_stays_within_its_limits(
    motion: CardMotion,
) -> None:
    for seed in range(20):
        poses = np.asarray(card_poses(np.random.default_rng(seed), motion))
        yaw, pitch, roll = poses.T
        assert len(poses) == motion.frame_count
        assert yaw.max() >= 0.7 * motion.max_yaw_deg
        assert yaw.min() <= -0.7 * motion.max_yaw_deg
        assert np.abs(pitch).max() >= 0.7 * motion.max_pitch_deg
        assert np.abs(yaw).max() <= motion.max_yaw_deg + 1e-9
        assert np.abs(pitch).max() <= motion.max_pitch_deg + 1e-9
        assert np.abs(roll).max() <= motion.max_roll_deg + 1e-9


def test_the_poses_are_smooth() -> None:
    motion = CardMotion(fps=30.0)
    yaw = np.asarray(card_poses(np.random.default_rng(SEED), motion))[:, 0]
    # a sweep of +-35 degrees at under 1.5 Hz overall: a few degrees per frame at 30 fps
    assert np.abs(np.diff(yaw)).max() < 8.0
    assert np.abs(np.diff(yaw, 2)).max() < 1.5


def test_the_recovered_card_corners_follow_the_yaw_both_ways(astronaut) -> None:
    black = np.zeros((SIZE[1], SIZE[0], 3), dtype=np.uint8)
    frames, _ = synthesise_print_attack(astronaut, black, np.random.default_rng(SEED), size=SIZE)
    yaw = np.asarray(card_poses(np.random.default_rng(SEED)))[:, 0]
    limit = CardMotion().max_yaw_deg
    signs = set()
    for frame, angle in zip(frames, yaw, strict=True):
        if abs(angle) < 0.5 * limit:
            continue
        top_left, top_right, bottom_right, bottom_left = _card_corners(frame)
        left = np.linalg.norm(bottom_left - top_left)
        right = np.linalg.norm(bottom_right - top_right)
        # the edge turned towards the camera is nearer, so it looks taller
        recovered = np.sign(right - left)
        assert recovered == np.sign(angle), f"yaw {angle:.1f}: left {left:.1f}, right {right:.1f}"
        signs.add(recovered)
    assert signs == {-1.0, 1.0}


def test_the_printed_face_is_detected_when_the_card_faces_the_camera(clip) -> None:
    from realname.engines import load_engines

    engines = load_engines()
    frames, _ = clip
    yaw = np.asarray(card_poses(np.random.default_rng(SEED)))[:, 0]
    frame = frames[int(np.argmin(np.abs(yaw)))]
    faces = engines.detector.detect(frame)
    assert len(faces) >= 1
    x, y = faces[0].centre
    assert 0.25 * SIZE[0] < x < 0.75 * SIZE[0] and 0.1 * SIZE[1] < y < 0.7 * SIZE[1]


def test_a_clip_needs_two_frames() -> None:
    with pytest.raises(ValueError, match="at least 2 frames"):
        CardMotion(duration_s=0.1, fps=10.0)
