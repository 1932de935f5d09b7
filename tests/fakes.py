"""Deterministic fake engines that implement the real Protocols (for logic tests).

An image tells the fakes what it shows in three flat blocks along its top edge (they survive
resizing): the person's identity (0 = nobody), the number of equal-sized faces, and the
detection score in hundredths.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from realname.engines import Engines
from realname.engines.base import Face, Landmarks
from realname.liveness.challenge import parse_challenge
from realname.liveness.check import LivenessReport, check_liveness
from realname.media.video import frames_clip
from realname.policy import MatchPolicy, load_policy


class FakeDetector:
    name = "fake-detector"
    version = "1"

    def load(self) -> None:
        pass

    def detect(self, image: np.ndarray) -> list[Face]:
        identity, count, score = read_markers(image)
        if identity == 0:
            return []
        h, w = image.shape[:2]
        size = min(h, w) / 3
        faces = []
        for i in range(max(1, count)):
            x, y = w / 4 + i * size * 1.1 - (count - 1) * size * 0.55, h / 4
            pts = tuple(
                (x + size * fx, y + size * fy)
                for fx, fy in ((0.34, 0.46), (0.66, 0.46), (0.5, 0.64), (0.37, 0.82), (0.63, 0.82))
            )
            faces.append(Face((x, y, size, size), pts, (score or 90) / 100))  # type: ignore[arg-type]
        return faces


class FakeEmbedder:
    name = "fake-embedder"
    version = "1"
    dim = 8

    def load(self) -> None:
        pass

    def align(self, image: np.ndarray, face: Face) -> np.ndarray:
        crop = np.zeros((8, 8, 3), dtype=np.uint8)
        crop[:, :, 0] = read_markers(image)[0]
        return crop

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(crops), self.dim), dtype=np.float32)
        for i, crop in enumerate(crops):
            out[i, int(crop[0, 0, 0]) % self.dim] = 1.0
        return out


def read_markers(image: np.ndarray) -> tuple[int, int, int]:
    h, w = image.shape[:2]
    return tuple(int(image[h // 32, (2 * i + 1) * w // 16, 0]) for i in range(3))  # type: ignore[return-value]


def fake_image(identity: int, faces: int = 1, score: int = 90) -> np.ndarray:
    rng = np.random.default_rng(identity)
    image = rng.integers(60, 200, (480, 640, 3), dtype=np.uint8)
    for i, value in enumerate((identity, faces, score)):
        image[: 480 // 16, i * 80 : (i + 1) * 80, 0] = value
    return image


class SlowDetector:
    """A real detector, 50 ms slower a call: a clip then takes far longer than its budget."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.version = inner, inner.name, inner.version

    def load(self) -> None:
        pass

    def detect(self, image):
        time.sleep(0.05)
        return self.inner.detect(image)


# --- a scripted landmarker: what the face does in each frame, without a model ---------------


@dataclass(frozen=True, slots=True)
class FaceState:
    """What the face shows in one frame: eye openness (EAR), mouth opening (MAR) and head pose
    (degrees, with the sign conventions of :mod:`realname.engines.pose`)."""

    ear: float = 0.30
    mar: float = 0.02
    yaw: float = 0.0
    pitch: float = 0.0


FPS = 15.0


def face_script(
    seconds: float,
    *,
    blinks: tuple[tuple[float, float], ...] = (),  # (start, duration)
    turns: tuple[tuple[float, float, float], ...] = (),  # (start, end, degrees; + own left)
    nods: tuple[tuple[float, float, float], ...] = (),  # (start, end, degrees; + down)
    mouth: tuple[tuple[float, float], ...] = (),  # (start, end) with the mouth open
    ear: float = 0.30,
) -> tuple[FaceState, ...]:
    """One state per frame at ``FPS``: eyes open at ``ear`` and a frontal head, but for the
    blinks (eyes at a third of ``ear``), turns and nods (smooth bumps peaking mid-way) and
    mouth openings (MAR 0.6) given."""
    states = []
    for i in range(round(seconds * FPS)):
        t = i / FPS
        closed = any(start <= t < start + length for start, length in blinks)
        yaw = sum(d * np.sin(np.pi * (t - a) / (b - a)) for a, b, d in turns if a <= t <= b)
        down = sum(d * np.sin(np.pi * (t - a) / (b - a)) for a, b, d in nods if a <= t <= b)
        opened = any(a <= t <= b for a, b in mouth)
        states.append(
            FaceState(
                ear=ear / 3 if closed else ear,
                mar=0.6 if opened else 0.02,
                yaw=float(yaw),
                pitch=-float(down),
            )
        )
    return tuple(states)


def scripted_frames(count: int, identity: int = 1) -> list[np.ndarray]:
    """``count`` frames that the fake detector sees one face of ``identity`` in, each carrying
    its index in a fourth marker block (read by :class:`FakeLandmarker`): a flat grey scene
    with a little sensor noise, no two consecutive frames identical, that no passive check has
    anything to object to."""
    frames = []
    for index in range(count):
        rng = np.random.default_rng(1000 + index)
        # pixel noise, and a grey level that steps each frame (the noise alone averages out in
        # the 64x48 thumbnails of the frozen-frame test)
        noise = rng.integers(-3, 4, (480, 640, 1))
        image = np.repeat(118 + index % 5 + noise, 3, axis=2).astype(np.uint8)
        for i, value in enumerate((identity, 1, 90, index)):
            image[: 480 // 16, i * 80 : (i + 1) * 80, 0] = value
        frames.append(image)
    return frames


def frame_index(image: np.ndarray) -> int:
    """The index that :func:`scripted_frames` wrote into a frame."""
    h, w = image.shape[:2]
    return int(image[h // 32, 7 * w // 16, 0])


def _face_model(state: FaceState) -> np.ndarray:
    """68 iBUG points in 3-D (x right, y down, z toward the camera; in face widths, around the
    nose), with the state's eye and mouth openings."""
    phi = np.linspace(-np.pi / 2, np.pi / 2, 17)
    jaw = np.stack([0.48 * np.sin(phi), 0.5 * np.cos(phi) - 0.05, -0.3 * np.abs(np.sin(phi))], 1)
    brows = [
        (x, -0.22, -0.05) for x in (*np.linspace(-0.38, -0.08, 5), *np.linspace(0.08, 0.38, 5))
    ]
    bridge = [
        (0.0, y, z)
        for y, z in zip(np.linspace(-0.15, 0.05, 4), (0.05, 0.1, 0.15, 0.2), strict=True)
    ]
    nostrils = [(x, 0.1, 0.1 + 0.02 * (x == 0)) for x in np.linspace(-0.08, 0.08, 5)]
    h = state.ear * 0.16 / 2  # EAR = eye height / eye width, the width 0.16

    def eye(outer: float, inner: float) -> list[tuple[float, float, float]]:
        a, b = outer + (inner - outer) / 3, outer + 2 * (inner - outer) / 3
        y = -0.12
        return [
            (outer, y, 0),
            (a, y - h, 0),
            (b, y - h, 0),
            (inner, y, 0),
            (b, y + h, 0),
            (a, y + h, 0),
        ]

    g = state.mar * 0.36 / 2  # MAR = inner-lip opening / mouth width, the width 0.36
    outer_upper = [(x, 0.25 - 0.04 * (1 - abs(x) / 0.18), 0) for x in np.linspace(-0.18, 0.18, 7)]
    outer_lower = [
        (x, 0.25 + 0.05 * (1 - abs(x) / 0.18) + g, 0) for x in np.linspace(0.12, -0.12, 5)
    ]
    inner = [(-0.14, 0.25, 0), (-0.07, 0.25 - g, 0), (0.0, 0.25 - g, 0), (0.07, 0.25 - g, 0)]
    inner += [(0.14, 0.25, 0), (0.07, 0.25 + g, 0), (0.0, 0.25 + g, 0), (-0.07, 0.25 + g, 0)]
    points = [*map(tuple, jaw), *brows, *bridge, *nostrils, *eye(-0.28, -0.12), *eye(0.28, 0.12)]
    points += [*outer_upper, *outer_lower, *inner]
    return np.asarray(points, dtype=np.float64)


class FakeLandmarker:
    """A landmarker that measures pose itself (the :class:`~realname.engines.base.PoseLandmarker`
    Protocol), scripted per frame: frame *i* of :func:`scripted_frames` shows ``states[i]``. Its
    68 points are a 3-D face turned by the state's yaw and pitch and projected into the face
    box, so a turn shows the parallax of a real head (the 3-D structure check passes)."""

    name = "fake-landmarker"
    version = "1"
    n_points = 68

    def __init__(self, states: Sequence[FaceState] = (FaceState(),)) -> None:
        self.states = tuple(states)

    def load(self) -> None:
        pass

    def _state(self, image: np.ndarray) -> FaceState:
        return self.states[min(frame_index(image), len(self.states) - 1)]

    def landmarks(self, image: np.ndarray, face: Face) -> np.ndarray:
        return self.locate(image, face).points

    def locate(self, image: np.ndarray, face: Face) -> Landmarks:
        state = self._state(image)
        yaw, pitch = np.radians(state.yaw), np.radians(state.pitch)
        model = _face_model(state)
        turn = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
        tilt = np.array(
            [[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]]
        )
        seen = model @ turn.T @ tilt.T
        x, y, w, h = face.box
        points = np.stack([x + w / 2 + seen[:, 0] * w, y + 0.45 * h + seen[:, 1] * h], axis=1)
        return Landmarks(points.astype(np.float32), (state.yaw, state.pitch, 0.0))


#: The challenge of the scripted liveness tests: a blink prompted at 1.0 s and a turn to the own
#: left at 3.5 s, each window 2.2 s (the policy's).
SCRIPTED_CHALLENGE = "blink@1.00-3.20,turn_left@3.50-5.70"


def fake_engine_policy() -> MatchPolicy:
    """The shipped policy with the fake embedder calibrated as SFace, and the whole frame
    searched on every frame (the fake detector reads its markers off the whole frame only)."""
    policy = load_policy()
    if policy.liveness is None:
        raise AssertionError("the shipped policy has a liveness section")
    sface = policy.engines["sface"]
    return replace(
        policy,
        engines={"fake-embedder": replace(sface, engine="fake-embedder")},
        liveness=replace(policy.liveness, detect_every=1),
    )


class FakeEyeLandmarker(FakeLandmarker):
    """A scripted landmarker with an eye model (the :class:`~realname.engines.base.EyeLandmarker`
    Protocol), as the face mesh and its iris model behave: its own eye points sit at half the
    eye model's openness and barely close in a blink (a tenth of the closure), while
    :meth:`eyelids` places the lids where ``states`` say. ``eyelid_frames``: the frame indices
    the eye model ran on."""

    name = "fake-eye-landmarker"

    def __init__(self, states: Sequence[FaceState] = (FaceState(),), open_ear: float = 0.30):
        super().__init__(states)
        own = [replace(s, ear=0.5 * (open_ear + 0.1 * (s.ear - open_ear))) for s in self.states]
        self._own = FakeLandmarker(own)
        self._faces: dict[int, Face] = {}
        self.eyelid_frames: list[int] = []

    def locate(self, image: np.ndarray, face: Face) -> Landmarks:
        self._faces[frame_index(image)] = face
        return self._own.locate(image, face)

    def eyelids(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        index = frame_index(image)
        self.eyelid_frames.append(index)
        return super().locate(image, self._faces[index]).points[36:48]


def judge_scripted(
    states: Sequence[FaceState],
    policy: MatchPolicy,
    challenge: str = SCRIPTED_CHALLENGE,
    landmarker: FakeLandmarker | None = None,
) -> LivenessReport:
    """:func:`check_liveness` on a clip scripted frame by frame, with the fake engines (the
    landmarker: ``landmarker``, or a :class:`FakeLandmarker` of ``states``)."""
    frames = scripted_frames(len(states))
    clip = frames_clip(frames, [i / FPS for i in range(len(frames))])
    engines = Engines(FakeDetector(), FakeEmbedder(), landmarker or FakeLandmarker(states))
    return check_liveness(clip, parse_challenge(challenge), engines, policy)
