"""A synthetic print presentation attack for liveness evaluation (ISO/IEC 30107-3 style).

A photo is printed on a card (a white paper margin, a mild paper look), the card is held as a flat
plane in front of a pinhole webcam and moved the way an attacker imitating a live user would:
turned left and right like a head turn, tilted, rolled, shifted and brought nearer or farther.
Each frame is rendered by projecting the card's 4 corners through the 3-D pose and warping the card
with the resulting homography over a static background, then blurred along the card's motion,
lit by a smoothly changing global light and given mild sensor noise.

Every random choice is drawn from the ``rng`` passed in, in a fixed order, so a clip is
reproducible from its seed. The trajectory is drawn first: :func:`card_poses` given a generator
in the same state returns the poses of the frames :func:`synthesise_print_attack` renders.

Conventions: image x to the right, y down, the camera looking along +z. A positive yaw brings the
card's right edge (as seen in the image) towards the camera, a positive pitch its top edge, and a
positive roll turns it clockwise in the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["CardMotion", "card_poses", "synthesise_print_attack"]

Image = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]
Pose = tuple[float, float, float]

_MARGIN_FRAC = 0.04  # white paper border, as a fraction of the photo's longer side
_PAPER_BGR = (235.0, 239.0, 241.0)  # printer paper under indoor light, not pure white
_INK_FLOOR = 16.0  # the darkest a print gets: blacks are lifted
_DESATURATION = 0.1  # share of grey mixed into the printed colours
_PRINT_NOISE = 3.0  # std of the print grain, 0..255
_SENSOR_NOISE = 2.0  # std of the webcam's noise, 0..255
_EXPOSURE = 0.5  # shutter open for this share of the frame interval: blur = speed * exposure
_LIGHT_DIR = (-0.3, -0.5, -1.0)  # towards the room light, from the card (above left, front)


@dataclass(frozen=True, slots=True)
class CardMotion:
    """Limits of the card's motion over a clip. Angles in degrees, shifts as a fraction of the
    frame's width (x) and height (y), ``scale_range`` relative to the rest distance."""

    duration_s: float = 4.0
    fps: float = 15.0
    max_yaw_deg: float = 35.0  # rotation of the card about its vertical axis
    max_pitch_deg: float = 20.0  # about its horizontal axis
    max_roll_deg: float = 10.0
    max_shift_frac: float = 0.08  # translation as a fraction of the frame size
    scale_range: tuple[float, float] = (0.9, 1.15)
    motion_blur_px: float = 6.0  # max length of the motion-blur kernel, following the motion
    light_change: float = 0.25  # max relative brightness change over the clip (smooth)

    def __post_init__(self) -> None:
        if self.frame_count < 2:
            raise ValueError(
                f"a clip needs at least 2 frames, got duration*fps = {self.frame_count}"
            )
        low, high = self.scale_range
        if not 0.0 < low <= high:
            raise ValueError(f"scale_range must satisfy 0 < low <= high, got {self.scale_range}")
        limits = (
            self.max_yaw_deg,
            self.max_pitch_deg,
            self.max_roll_deg,
            self.max_shift_frac,
            self.motion_blur_px,
            self.light_change,
        )
        if min(limits) < 0.0 or max(self.max_yaw_deg, self.max_pitch_deg) >= 80.0:
            raise ValueError("motion limits must be >= 0, and yaw and pitch below 80 degrees")
        if self.light_change >= 2.0:
            raise ValueError(f"light_change must be below 2, got {self.light_change}")

    @property
    def frame_count(self) -> int:
        return round(self.duration_s * self.fps)


@dataclass(frozen=True, slots=True)
class _Trajectory:
    """Per-frame card pose and light: angles in degrees, shifts as fractions of the frame size."""

    yaw: FloatArray
    pitch: FloatArray
    roll: FloatArray
    shift_x: FloatArray
    shift_y: FloatArray
    scale: FloatArray
    light: FloatArray  # multiplies the whole frame


def _smooth_path(
    rng: np.random.Generator, t: FloatArray, base_hz: tuple[float, float], min_cycles: float
) -> FloatArray:
    """A smooth path over the frame times ``t`` that spans exactly [-1, 1]: a dominant sine plus
    two weaker, faster ones, random phases, mapped affinely onto [-1, 1] (so both ends are
    reached at some frame). The dominant sine completes at least ``min_cycles`` over the clip."""
    duration = float(t[-1] - t[0]) or 1.0
    base = max(float(rng.uniform(*base_hz)), min_cycles / duration)
    freqs = np.array([base, base * rng.uniform(1.7, 2.6), base * rng.uniform(2.8, 4.2)])
    amps = np.array([1.0, rng.uniform(0.15, 0.35), rng.uniform(0.05, 0.2)])
    phases = rng.uniform(0.0, 2.0 * math.pi, size=3)
    path = (
        amps[:, None] * np.sin(2.0 * math.pi * freqs[:, None] * t[None, :] + phases[:, None])
    ).sum(axis=0)
    low, high = float(path.min()), float(path.max())
    if high - low < 1e-12:
        return np.zeros_like(t)
    return np.asarray(2.0 * (path - low) / (high - low) - 1.0, dtype=np.float64)


def _trajectory(rng: np.random.Generator, motion: CardMotion) -> _Trajectory:
    """Draw the clip's trajectory: yaw sweeps to +-(80..100)% of its limit (a head-turn
    imitation, at least one full left-right cycle), pitch to +-(75..100)% of its limit, the rest
    to a random share of theirs."""
    t = np.arange(motion.frame_count, dtype=np.float64) / motion.fps
    yaw = motion.max_yaw_deg * rng.uniform(0.8, 1.0) * _smooth_path(rng, t, (0.25, 0.45), 1.0)
    pitch = motion.max_pitch_deg * rng.uniform(0.75, 1.0) * _smooth_path(rng, t, (0.15, 0.35), 0.5)
    roll = motion.max_roll_deg * rng.uniform(0.3, 1.0) * _smooth_path(rng, t, (0.1, 0.3), 0.25)
    shift_x = motion.max_shift_frac * rng.uniform(0.3, 1.0) * _smooth_path(rng, t, (0.1, 0.3), 0.25)
    shift_y = motion.max_shift_frac * rng.uniform(0.3, 1.0) * _smooth_path(rng, t, (0.1, 0.3), 0.25)
    low, high = motion.scale_range
    centre, half = (low + high) / 2.0, (high - low) / 2.0
    scale = centre + half * rng.uniform(0.3, 1.0) * _smooth_path(rng, t, (0.05, 0.2), 0.25)
    light_path = _smooth_path(rng, t, (0.05, 0.15), 0.25)
    light = 1.0 + 0.5 * motion.light_change * rng.uniform(0.5, 1.0) * light_path
    return _Trajectory(yaw, pitch, roll, shift_x, shift_y, scale, light)


def card_poses(rng: np.random.Generator, motion: CardMotion = CardMotion()) -> list[Pose]:
    """The (yaw, pitch, roll) of the card in degrees, per frame, drawn as
    :func:`synthesise_print_attack` draws them from a generator in the same state."""
    path = _trajectory(rng, motion)
    return [
        (float(y), float(p), float(r))
        for y, p, r in zip(path.yaw, path.pitch, path.roll, strict=True)
    ]


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> FloatArray:
    """Card-to-camera rotation: yaw about y, then pitch about x, then roll about z."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    about_y = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    about_x = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    about_z = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return np.asarray(about_z @ about_x @ about_y, dtype=np.float64)


def _project_card(
    rotation: FloatArray,
    shift: tuple[float, float],
    scale: float,
    aspect: float,
    size: tuple[int, int],
    card_height_frac: float,
) -> FloatArray:
    """Image positions (4x2: top-left, top-right, bottom-right, bottom-left) of the corners of a
    card of height 1 and width ``aspect``, seen by a pinhole camera of focal length = frame
    width, placed so that at rest it is ``card_height_frac`` of the frame height, centred."""
    width, height = size
    focal = float(width)
    rest_z = focal / (card_height_frac * height)
    z = rest_z / scale
    centre = np.array([shift[0] * width * z / focal, shift[1] * height * z / focal, z])
    half_w, half_h = aspect / 2.0, 0.5
    corners = np.array(
        [
            [-half_w, -half_h, 0.0],
            [half_w, -half_h, 0.0],
            [half_w, half_h, 0.0],
            [-half_w, half_h, 0.0],
        ]
    )
    points = corners @ rotation.T + centre
    projected = focal * points[:, :2] / points[:, 2:3] + np.array([width / 2.0, height / 2.0])
    return np.asarray(projected, dtype=np.float64)


def _as_bgr(image: npt.NDArray[np.uint8], what: str) -> Image:
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise ValueError(f"{what} must be a non-empty uint8 BGR or grey image")
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if image.shape[2] != 3:
        raise ValueError(f"{what} must have 3 channels (BGR), got {image.shape[2]}")
    return image


def _fit_background(background: Image, size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Scale the background to cover the frame, then centre-crop it."""
    width, height = size
    bg_h, bg_w = background.shape[:2]
    factor = max(width / bg_w, height / bg_h)
    new_w, new_h = max(width, round(bg_w * factor)), max(height, round(bg_h * factor))
    interpolation = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
    resized = cv2.resize(background, (new_w, new_h), interpolation=interpolation)
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return np.asarray(resized[y0 : y0 + height, x0 : x0 + width], dtype=np.float32)


def _print_card(
    photo: Image, rng: np.random.Generator, max_height_px: int
) -> npt.NDArray[np.float32]:
    """The photo printed on paper: mildly desaturated, blacks lifted, a white margin, reduced to
    at most ``max_height_px`` (area interpolation), a slight ink spread and print grain."""
    pixels = photo.astype(np.float32)
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY).astype(np.float32)[:, :, None]
    paper = np.asarray(_PAPER_BGR, dtype=np.float32)
    pixels = (1.0 - _DESATURATION) * pixels + _DESATURATION * grey
    printed = np.asarray(_INK_FLOOR + pixels * (paper - _INK_FLOOR) / 255.0, dtype=np.float32)
    height, width = photo.shape[:2]
    margin = max(1, round(_MARGIN_FRAC * max(height, width)))
    card = np.empty((height + 2 * margin, width + 2 * margin, 3), dtype=np.float32)
    card[:] = paper
    card[margin : margin + height, margin : margin + width] = printed
    if card.shape[0] > max_height_px:
        factor = max_height_px / card.shape[0]
        new_size = (max(1, round(card.shape[1] * factor)), max_height_px)
        card = cv2.resize(card, new_size, interpolation=cv2.INTER_AREA)
    card = cv2.GaussianBlur(card, (0, 0), 0.6)
    grain = rng.normal(0.0, _PRINT_NOISE, size=card.shape[:2]).astype(np.float32)
    card += grain[:, :, None]
    return np.asarray(np.clip(card, 0.0, 255.0), dtype=np.float32)


def _line_kernel(length: float, angle: float) -> npt.NDArray[np.float32] | None:
    """A normalised, anti-aliased line of ``length`` px at ``angle`` (radians); None if < 1 px."""
    if length < 1.0:
        return None
    side = 2 * math.ceil(length / 2.0) + 3
    centre = side // 2
    kernel = np.zeros((side, side), dtype=np.float64)
    steps = np.linspace(-length / 2.0, length / 2.0, max(2, math.ceil(length * 4.0)))
    xs = centre + steps * math.cos(angle)
    ys = centre + steps * math.sin(angle)
    x0, y0 = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    fx, fy = xs - x0, ys - y0
    for dx, dy, weight in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        np.add.at(kernel, (y0 + dy, x0 + dx), weight)
    return np.asarray(kernel / kernel.sum(), dtype=np.float32)


def _blur_kernel(
    previous: FloatArray, current: FloatArray, cap_px: float
) -> npt.NDArray[np.float32] | None:
    """Motion blur for a card whose corners moved from ``previous`` to ``current``: along the
    mean corner motion (or the fastest corner's, when the card mostly turns in place), as long as
    the mean corner speed times the exposure, at most ``cap_px``."""
    moves = current - previous
    speeds = np.hypot(moves[:, 0], moves[:, 1])
    length = min(cap_px, _EXPOSURE * float(speeds.mean()))
    mean_move = moves.mean(axis=0)
    direction = mean_move if np.hypot(*mean_move) > 0.25 * speeds.max() else moves[speeds.argmax()]
    return _line_kernel(length, math.atan2(float(direction[1]), float(direction[0])))


def _warp(
    image: npt.NDArray[np.float32], homography: npt.NDArray[np.float64], size: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """``image`` seen through ``homography`` on a ``size`` frame, 0 outside it (bilinear)."""
    warped = cv2.warpPerspective(
        image, homography, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return np.asarray(warped, dtype=np.float32)


def _filter(
    image: npt.NDArray[np.float32], kernel: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``image`` convolved with ``kernel``, 0 beyond the frame."""
    filtered = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return np.asarray(filtered, dtype=np.float32)


def _shade(rotation: FloatArray) -> float:
    """Lambertian shading of the card, 1 when it faces the light: tilting it dims it a little."""
    light = np.asarray(_LIGHT_DIR) / np.linalg.norm(_LIGHT_DIR)
    normal = rotation @ np.array([0.0, 0.0, -1.0])
    rest = float(light @ np.array([0.0, 0.0, -1.0]))
    return 0.85 + 0.15 * max(0.0, float(light @ normal)) / rest


def synthesise_print_attack(
    photo: npt.NDArray[np.uint8],
    background: npt.NDArray[np.uint8],
    rng: np.random.Generator,
    motion: CardMotion = CardMotion(),
    *,
    size: tuple[int, int] = (640, 480),
    card_height_frac: float = 0.55,
) -> tuple[list[Image], list[float]]:
    """A webcam clip of ``photo`` printed on a card and moved in front of ``background``.

    ``photo`` and ``background`` are BGR (or grey) uint8 images of any size; ``size`` is the
    frame's (width, height). Returns ``round(duration_s * fps)`` BGR uint8 frames and their
    timestamps in seconds (``i / fps``). Deterministic given the state of ``rng``.
    """
    width, height = size
    if width < 2 or height < 2:
        raise ValueError(f"size must be at least 2x2, got {size}")
    if not 0.0 < card_height_frac <= 1.5:
        raise ValueError(f"card_height_frac must be in (0, 1.5], got {card_height_frac}")
    photo = _as_bgr(photo, "photo")
    backdrop = _fit_background(_as_bgr(background, "background"), size)

    path = _trajectory(rng, motion)
    max_card_px = math.ceil(1.3 * card_height_frac * height * motion.scale_range[1])
    card = _print_card(photo, rng, max_card_px)
    card_h, card_w = card.shape[:2]
    aspect = card_w / card_h
    source = np.array([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]], dtype=np.float32)
    coverage = np.ones((card_h, card_w), dtype=np.float32)

    rotations = [
        _rotation(y, p, r) for y, p, r in zip(path.yaw, path.pitch, path.roll, strict=True)
    ]
    corners = [
        _project_card(rotation, (float(sx), float(sy)), float(s), aspect, size, card_height_frac)
        for rotation, sx, sy, s in zip(
            rotations, path.shift_x, path.shift_y, path.scale, strict=True
        )
    ]

    frames: list[Image] = []
    for i, rotation in enumerate(rotations):
        homography = np.asarray(
            cv2.getPerspectiveTransform(source, corners[i].astype(np.float32)), dtype=np.float64
        )
        # Both are premultiplied by the coverage at the card's edges: blurring them together
        # and compositing stays correct.
        painted = _warp(card, homography, size)
        alpha = _warp(coverage, homography, size)
        neighbour = corners[i - 1] if i > 0 else corners[1]
        kernel = _blur_kernel(neighbour, corners[i], motion.motion_blur_px)
        if kernel is not None:
            painted, alpha = _filter(painted, kernel), _filter(alpha, kernel)
        frame = painted * _shade(rotation) + backdrop * (1.0 - alpha)[:, :, None]
        frame *= float(path.light[i])
        frame += rng.standard_normal(size=frame.shape, dtype=np.float32) * _SENSOR_NOISE
        frames.append(np.asarray(np.clip(np.rint(frame), 0, 255), dtype=np.uint8))
    timestamps = [i / motion.fps for i in range(motion.frame_count)]
    return frames, timestamps
