import numpy as np

from realname.passive import deformation, three_d_structure
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
    from realname.passive import banding, colour_spread, moire

    policy = load_policy().liveness
    assert policy is not None
    t = track(seconds=1.0)
    frames = _frames_with_face(len(t.frames), _astronaut_face())
    for check in (moire, colour_spread, banding):
        result = check(frames, t, policy.passive)
        assert result.applicable and result.passed, result
        assert np.isfinite(result.score)


def test_a_screen_grid_beat_is_moire() -> None:
    from realname.passive import moire, moire_peak

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
    from realname.passive import banding, colour_spread

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
