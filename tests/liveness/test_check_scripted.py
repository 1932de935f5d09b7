"""check_liveness on scripted clips: fake engines (tests/fakes.py), no model, every verdict
path of the challenge (passed, a missed step, an unprompted action, a blink too long)."""

from dataclasses import replace

import pytest

from realname.engines import Engines
from realname.errors import PolicyError
from realname.liveness.challenge import parse_challenge
from realname.liveness.check import LivenessReason, LivenessReport, check_liveness
from realname.media.video import frames_clip
from realname.policy import MatchPolicy, load_policy
from tests.fakes import (
    FPS,
    FaceState,
    FakeDetector,
    FakeEmbedder,
    FakeLandmarker,
    face_script,
    scripted_frames,
)

# Blink prompted at 1.0 s, turn to the own left at 3.5 s; each window 2.2 s (the policy's).
CHALLENGE = "blink@1.00-3.20,turn_left@3.50-5.70"


@pytest.fixture(scope="module")
def fake_policy() -> MatchPolicy:
    """The shipped policy with the fake embedder calibrated as SFace, and the whole frame
    searched on every frame (the fake detector reads its markers off the whole frame only)."""
    policy = load_policy()
    assert policy.liveness is not None
    sface = policy.engines["sface"]
    return replace(
        policy,
        engines={"fake-embedder": replace(sface, engine="fake-embedder")},
        liveness=replace(policy.liveness, detect_every=1),
    )


def judge(states: tuple[FaceState, ...], policy: MatchPolicy) -> LivenessReport:
    frames = scripted_frames(len(states))
    clip = frames_clip(frames, [i / FPS for i in range(len(frames))])
    engines = Engines(FakeDetector(), FakeEmbedder(), FakeLandmarker(states))
    return check_liveness(clip, parse_challenge(CHALLENGE), engines, policy)


def test_when_the_prompted_actions_happen_in_their_windows_then_liveness_passes(
    fake_policy: MatchPolicy,
) -> None:
    report = judge(face_script(7.0, blinks=((1.5, 0.2),), turns=((3.8, 4.8, 20.0),)), fake_policy)
    assert report.passed and report.reasons == ()
    assert [s.seen_at_s is not None for s in report.steps] == [True, True]
    assert report.unprompted == ()
    assert report.checks["three_d_structure"].applicable  # the turn showed a real head's depth
    assert all(c.passed for c in report.checks.values())


def test_when_a_prompted_step_is_missed_then_challenge_incomplete(
    fake_policy: MatchPolicy,
) -> None:
    report = judge(face_script(7.0, blinks=((1.5, 0.2),)), fake_policy)
    assert not report.passed
    assert report.reasons == (LivenessReason.CHALLENGE_INCOMPLETE,)
    assert report.steps[0].seen_at_s is not None and report.steps[1].seen_at_s is None


def test_when_an_action_happens_outside_every_window_then_unprompted_action(
    fake_policy: MatchPolicy,
) -> None:
    states = face_script(8.0, blinks=((1.5, 0.2),), turns=((3.8, 4.8, 20.0), (6.2, 7.2, -20.0)))
    report = judge(states, fake_policy)
    assert not report.passed
    assert report.reasons == (LivenessReason.UNPROMPTED_ACTION,)
    assert [s.seen_at_s is not None for s in report.steps] == [True, True]
    assert [e.action for e in report.unprompted] == ["turn_right"]


def test_when_the_eyes_stay_closed_too_long_then_it_is_no_blink(
    fake_policy: MatchPolicy,
) -> None:
    assert fake_policy.liveness is not None
    assert fake_policy.liveness.actions.blink_max_s < 1.0
    report = judge(face_script(7.0, blinks=((1.5, 1.0),), turns=((3.8, 4.8, 20.0),)), fake_policy)
    assert not report.passed
    assert report.reasons == (LivenessReason.CHALLENGE_INCOMPLETE,)
    assert report.steps[0].seen_at_s is None and report.steps[1].seen_at_s is not None
    assert "blink" not in [e.action for e in report.actions]


def test_when_the_policy_has_no_liveness_section_then_policy_error(
    fake_policy: MatchPolicy,
) -> None:
    with pytest.raises(PolicyError):
        judge(face_script(1.0), replace(fake_policy, liveness=None))
