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
