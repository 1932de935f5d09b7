from typing import Any

import numpy as np

from realname.liveness.passive import deformation, three_d_structure
from realname.policy import load_policy
from tests.signal_fakes import track

# A generic 3-D face: 48 points (jaw, brows, nose, eyes) with real depth.
RNG = np.random.default_rng(3)
FACE3D = np.column_stack(
    [RNG.uniform(-70, 70, 48), RNG.uniform(-60, 60, 48), RNG.uniform(-60, 30, 48)]
)


def project(points3d: np.ndarray, yaw_deg: float) -> np.ndarray:
    a = np.radians(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    p = points3d @ rot.T + np.array([0, 0, 600])
    return (600 * p[:, :2] / p[:, 2:3] + 320).astype(np.float32)


def as68(points48: np.ndarray) -> np.ndarray:
    out = np.zeros((68, 2), np.float32)
    out[:48] = points48
    out[48:] = points48.mean(axis=0)
    # eye centres far enough apart for the normalisation
    out[36:42] = points48[36:42]
    return out


def test_a_turning_head_is_not_a_plane_but_a_turning_photo_is() -> None:
    flat = FACE3D.copy()
    flat[:, 2] = 0
    _, head = deformation(project(FACE3D, 0), project(FACE3D, 25))
    _, photo = deformation(project(flat, 0), project(flat, 25))
    assert photo < 1e-3
    assert head > 0.05


def test_three_d_check_on_tracks() -> None:
    policy = load_policy().liveness
    assert policy is not None
    t = track(turns=((1.0, 2.0, 25.0),))
    frames = []
    for f in t.frames:
        f3 = FACE3D
        points = as68(project(f3, f.yaw))
        frames.append(type(f)(**{**{k: getattr(f, k) for k in f.__slots__}, "landmarks": points}))
    live = type(t)(tuple(frames), t.image_size, t.detections)
    check = three_d_structure(live, 0.0, policy.passive)
    assert check.applicable and check.passed, check
    still = three_d_structure(track(), 0.0, policy.passive)
    assert not still.applicable and still.passed  # nothing to judge without a turn


def _frames_with_face(n: int, face: np.ndarray) -> list[np.ndarray]:
    """Frames whose face box (100, 100, 200, 200) of the fake track holds ``face``."""
    frames = []
    for _ in range(n):
        frame = np.full((480, 640, 3), 90, np.uint8)
        frame[100:300, 100:300] = face
        frames.append(frame)
    return frames


def _astronaut_face() -> np.ndarray:
    import cv2
    from skimage import data

    face = data.astronaut()[20:220, 160:330, ::-1]  # RGB -> BGR
    return np.ascontiguousarray(cv2.resize(face, (200, 200), interpolation=cv2.INTER_AREA))


def test_recapture_statistics_pass_a_natural_face() -> None:
    from realname.liveness.passive import banding, colour_spread, moire

    policy = load_policy().liveness
    assert policy is not None
    t = track(seconds=1.0)
    frames = _frames_with_face(len(t.frames), _astronaut_face())
    for check in (moire, colour_spread, banding):
        result = check(frames, t, policy.passive)
        assert result.applicable and result.passed, result
        assert np.isfinite(result.score)


def test_a_screen_grid_beat_is_moire() -> None:
    from realname.liveness.passive import moire, moire_peak

    policy = load_policy().liveness
    assert policy is not None
    face = _astronaut_face().astype(np.float64)
    yy, xx = np.mgrid[0:200, 0:200]
    # A pixel grid recaptured slightly off-axis beats into a fine periodic pattern.
    grating = 12.0 * np.sin(2 * np.pi * (0.31 * xx + 0.07 * yy))
    striped = np.clip(face + grating[:, :, None], 0, 255).astype(np.uint8)
    gray_clean = _astronaut_face().mean(axis=2).astype(np.uint8)
    gray_striped = striped.mean(axis=2).astype(np.uint8)
    assert moire_peak(gray_striped) > moire_peak(gray_clean) + 1.0
    assert np.isnan(moire_peak(np.zeros((40, 40), np.uint8)))  # too small to judge
    t = track(seconds=1.0)
    result = moire(_frames_with_face(len(t.frames), striped), t, policy.passive)
    assert not result.passed and result.score > result.threshold


def test_a_colour_cast_and_banding_are_recapture_cues() -> None:
    from realname.liveness.passive import banding, colour_spread

    policy = load_policy().liveness
    assert policy is not None
    t = track(seconds=1.0)
    face = _astronaut_face()
    # Glossy screen: saturated magenta and green patches over the skin.
    cast = face.copy()
    cast[60:100, 60:140] = (255, 0, 255)
    cast[110:150, 60:140] = (0, 255, 0)
    result = colour_spread(_frames_with_face(len(t.frames), cast), t, policy.passive)
    assert not result.passed, result
    # A grey picture re-quantised to 16 levels: a comb histogram.
    grey = face.mean(axis=2, keepdims=True).astype(np.uint8) // 16 * 16
    combed = np.repeat(grey, 3, axis=2)
    result = banding(_frames_with_face(len(t.frames), combed), t, policy.passive)
    assert not result.passed and result.score > 0.5, result


# Cues for a screen that fills the frame (measured by `realname eval passive`): synthetic
# clips of the astronaut photo shown in a fake video player, built at test time.


def _moving_track(boxes: list[tuple[float, float, float, float]], fps: float = 5.0):
    from realname.engines.base import Face
    from realname.liveness.signals import FrameSignals, SignalTrack

    frames = []
    for i, (x, y, w, h) in enumerate(boxes):
        cx, cy = x + w / 2, y + h / 2
        points = ((cx - 25, cy - 15), (cx + 25, cy - 15), (cx, cy + 5), (cx - 20, cy + 30))
        face = Face((x, y, w, h), (*points, (cx + 20, cy + 30)), 0.9)
        frames.append(FrameSignals(i, i / fps, True, 1, True, face, None))
    return SignalTrack(tuple(frames), (640, 360), len(frames))


def _player_clip(*, shaky: bool, controls: bool, n: int = 12) -> tuple[list[np.ndarray], object]:
    """A 640x360 frame showing the astronaut (face near (250, 100)), moved as a hand-held
    phone's video moves when ``shaky``, under a player's fixed control bar when ``controls``."""
    import cv2
    from skimage import data

    scene = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512
    rng = np.random.default_rng(1)
    frames, boxes = [], []
    for _ in range(n):
        dx, dy = (int(v) for v in rng.integers(-14, 15, 2)) if shaky else (0, 0)
        # The visible part of the scene (at most 512 px wide), stretched to the player's 640x360.
        frame = cv2.resize(np.ascontiguousarray(scene[40 + dy : 400 + dy, dx + 20 :]), (640, 360))
        if controls:
            frame[300:360] = (frame[300:360] * 0.35).astype(np.uint8)
            cv2.rectangle(frame, (20, 312), (620, 316), (255, 255, 255), -1)  # progress bar
            cv2.fillPoly(frame, [np.array([[24, 326], [24, 350], [44, 338]])], (255, 255, 255))
            cv2.putText(frame, "0:12 / 1:05", (60, 346), 0, 0.7, (255, 255, 255), 2)
            cv2.putText(frame, "HD  CC", (540, 346), 0, 0.6, (255, 255, 255), 2)
        frames.append(frame)
        boxes.append((170.0 - dx - 20, 20.0 - dy, 130.0, 150.0))
    return frames, _moving_track(boxes)


def test_a_player_bar_fixed_over_moving_video_is_a_static_overlay() -> None:
    from realname.liveness.passive import static_overlay

    frames, t = _player_clip(shaky=True, controls=True)
    replay = static_overlay(frames, t, every=1)  # type: ignore[arg-type]
    frames, t = _player_clip(shaky=True, controls=False)
    handheld = static_overlay(frames, t, every=1)  # type: ignore[arg-type]
    frames, t = _player_clip(shaky=False, controls=True)
    still_camera = static_overlay(frames, t, every=1)  # type: ignore[arg-type]
    assert replay > 0.3, replay
    assert abs(handheld) < 0.15, handheld  # everything moves: nothing stands out
    assert abs(still_camera) < 0.15, still_camera  # everything still: nothing stands out


def test_a_re_filmed_screen_lifts_the_black_level_and_compresses_the_range() -> None:
    from realname.liveness.passive import tone_levels

    frames, _ = _player_clip(shaky=False, controls=False, n=4)
    # An emissive screen filmed again: blacks lifted by the backlight, highlights compressed.
    screen = [(f * 0.55 + 70).astype(np.uint8) for f in frames]
    black, spread = tone_levels(frames, every=1)
    black_screen, spread_screen = tone_levels(screen, every=1)
    assert black_screen > black + 50
    assert spread_screen < 0.6 * spread
    assert np.isnan(tone_levels([], every=1)[0])


def test_a_background_as_sharp_as_the_face_is_flat() -> None:
    import cv2

    from realname.liveness.passive import depth_flatness

    frames, t = _player_clip(shaky=False, controls=False, n=4)
    # A real scene near the camera: the background out of focus, the face sharp.
    soft = []
    for f in frames:
        blurred = cv2.GaussianBlur(f, (0, 0), 4)
        blurred[20:170, 150:280] = f[20:170, 150:280]
        soft.append(blurred)
    assert depth_flatness(frames, t, every=1) > 3 * depth_flatness(soft, t, every=1)  # type: ignore[arg-type]


def test_a_replay_of_face_crops_jumps_around_a_still_face() -> None:
    from realname.liveness.passive import frame_jumps

    frames, t = _player_clip(shaky=False, controls=False)
    face = frames[0][20:170, 150:280].copy()
    rng = np.random.default_rng(2)
    crops = []
    for f in frames:
        # Each crop was cut at another moment: the surroundings jump, the face stays put.
        jumped = np.roll(f, tuple(int(v) for v in rng.integers(-60, 60, 2)), axis=(0, 1))
        jumped[20:170, 150:280] = face
        crops.append(jumped)
    still = frame_jumps(frames, t)  # type: ignore[arg-type]
    assert frame_jumps(crops, t) > 10 * max(still, 1.0)  # type: ignore[arg-type]


def _sliding_track(times: list[float], xs: list[float]) -> Any:
    """A 200 px face whose box moves to each of ``xs`` at each of ``times`` (no landmarks)."""
    from realname.engines.base import Face
    from realname.liveness.signals import FrameSignals, SignalTrack

    frames = tuple(
        FrameSignals(
            index=i,
            t=t,
            face_found=True,
            face_count=1,
            detected=True,
            face=Face((x, 100, 200, 200), ((0, 0),) * 5, 0.9),
            landmarks=None,
        )
        for i, (t, x) in enumerate(zip(times, xs, strict=True))
    )
    return SignalTrack(frames=frames, image_size=(640, 480), detections=len(frames))


def test_a_fast_turn_with_jittered_timestamps_is_no_jump_but_a_real_jump_is() -> None:
    from realname.liveness.passive import _count_jumps

    passive = load_policy().liveness.passive  # type: ignore[union-attr]
    # 15 fps, the face moving 0.49 widths in one camera interval (7.3 widths/s: a fast turn,
    # under the policy's 8), with one frame stamped 10 ms late: one interval reads 57 ms.
    step = 1 / 15
    times = [i * step for i in range(30)]
    times[10] += 0.010
    xs = [100.0] * 30
    for i in range(11, 30):
        xs[i] = xs[i - 1] + (98.0 if i == 11 else 0.0)
    assert (
        times[11] - times[10] < 0.058
        and 98 / 200 / (times[11] - times[10]) > passive.max_jump_per_s
    )
    assert _count_jumps(_sliding_track(times, xs), passive) == 0
    # The same clip at even times still has no jump; a face that moves 1.5 widths between two
    # frames (a cut in a replay) has one, jittered or not.
    even = [i * step for i in range(30)]
    assert _count_jumps(_sliding_track(even, xs), passive) == 0
    cut = [100.0] * 15 + [400.0] * 15
    assert _count_jumps(_sliding_track(times, cut), passive) == 1
    assert _count_jumps(_sliding_track(even, cut), passive) == 1
    # a dropped frame keeps its longer time: 0.8 widths over two intervals is 6 widths/s
    gap = [t for i, t in enumerate(even) if i != 15]
    moved = [100.0] * 15 + [260.0] * 14
    assert _count_jumps(_sliding_track(gap, moved), passive) == 0
