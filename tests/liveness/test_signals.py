"""The eye model runs only where a blink is judged (:func:`realname.liveness.check.blink_spans`,
``extract_signals(eye_spans=...)``): scripted clips with a landmarker whose own eye points barely
close in a blink and an eye model that sees the blink (tests/fakes.py: FakeEyeLandmarker)."""

from dataclasses import replace

import numpy as np
import pytest

from realname.engines.base import EyeLandmarker
from realname.liveness.challenge import parse_challenge
from realname.liveness.check import blink_spans
from realname.policy import LivenessPolicy, MatchPolicy
from tests.fakes import FPS, FakeEyeLandmarker, face_script, fake_engine_policy, judge_scripted

BLINK_THEN_TURN = "blink@1.00-3.20,turn_left@3.50-5.70"


@pytest.fixture(scope="module")
def fake_policy() -> MatchPolicy:
    return fake_engine_policy()


@pytest.fixture(scope="module")
def live(fake_policy: MatchPolicy) -> LivenessPolicy:
    assert fake_policy.liveness is not None
    return fake_policy.liveness


def test_the_fake_has_an_eye_model() -> None:
    assert isinstance(FakeEyeLandmarker(), EyeLandmarker)


def test_a_blink_steps_span_is_its_window_widened_by_the_longest_blink_and_half_the_baseline(
    live: LivenessPolicy,
) -> None:
    margin = live.actions.blink_max_s + live.actions.baseline_window_s / 2
    spans = blink_spans(parse_challenge("turn_left@0.50-2.70,blink@3.00-5.20"), live)
    assert spans is not None and len(spans) == 1
    assert spans[0] == pytest.approx((3.00 - margin, 5.20 + margin))
    first = blink_spans(parse_challenge("blink@0.40-2.60,turn_left@3.00-5.20"), live)
    assert first is not None and first[0][0] == 0.0  # not before the recording's start
    two = blink_spans(parse_challenge("blink@1.00-3.20,turn_left@3.5-5.7,blink@6.0-8.2"), live)
    assert two is not None and len(two) == 2


def test_the_eye_model_runs_everywhere_when_a_blink_may_count_anywhere(
    live: LivenessPolicy,
) -> None:
    # the order-only rule: a blink step may be anywhere in the clip
    assert blink_spans(parse_challenge("blink,turn_left"), live) is None
    # a policy under which an unprompted blink fails the capture
    strict = replace(live, prompts=replace(live.prompts, tolerated=()))
    assert blink_spans(parse_challenge(BLINK_THEN_TURN), strict) is None
    assert blink_spans(parse_challenge("turn_left@0.50-2.70"), strict) is None
    # no blink asked for, blinks tolerated: nowhere
    assert blink_spans(parse_challenge("turn_left@0.50-2.70,turn_right@3.0-5.2"), live) == ()


def test_a_prompted_blink_is_seen_by_the_eye_model_which_runs_in_its_span_only(
    fake_policy: MatchPolicy, live: LivenessPolicy
) -> None:
    states = face_script(7.0, blinks=((1.5, 0.2), (5.0, 0.2)), turns=((3.8, 4.8, 20.0),))
    eyes = FakeEyeLandmarker(states)
    report = judge_scripted(states, fake_policy, BLINK_THEN_TURN, eyes)
    assert report.passed, report.reasons
    assert report.steps[0].action == "blink" and report.steps[0].seen_at_s is not None
    spans = blink_spans(parse_challenge(BLINK_THEN_TURN), live)
    assert spans is not None
    (start, end) = spans[0]
    ran = sorted(set(eyes.eyelid_frames))
    expected = [i for i in range(len(states)) if start <= i / FPS <= end]
    assert ran == expected and len(ran) < len(states)
    assert report.track is not None and report.track.eyelids == len(expected)
    # the blink at 5.0 s, outside the span, is read from the own points: no blink event there
    assert [e.peak_s for e in report.actions if e.action == "blink"] == pytest.approx(
        [1.6], abs=0.1
    )


def test_outside_the_spans_the_own_eye_points_are_scaled_to_the_eye_models_level(
    fake_policy: MatchPolicy,
) -> None:
    states = face_script(7.0, blinks=((1.5, 0.2),), turns=((3.8, 4.8, 20.0),))
    report = judge_scripted(states, fake_policy, BLINK_THEN_TURN, FakeEyeLandmarker(states))
    assert report.track is not None
    # frontal frames outside the span (a turn narrows the eyes in the image)
    outside = [f for f in report.track.frames if not f.eyelids and abs(f.yaw) < 0.5]
    assert len(outside) > 10 and all(f.ear == pytest.approx(0.30, rel=1e-3) for f in outside)
    assert report.baseline.ear == pytest.approx(0.30, rel=1e-3)


def test_without_a_blink_step_the_eye_model_never_runs_and_turns_still_pass(
    fake_policy: MatchPolicy,
) -> None:
    states = face_script(7.0, blinks=((1.5, 0.2),), turns=((1.4, 2.4, 20.0), (3.8, 4.8, -20.0)))
    eyes = FakeEyeLandmarker(states)
    report = judge_scripted(states, fake_policy, "turn_left@1.00-3.20,turn_right@3.50-5.70", eyes)
    assert report.passed, report.reasons
    assert eyes.eyelid_frames == []
    assert report.track is not None and report.track.eyelids == 0
    ears = np.array([f.ear for f in report.track.frames])
    assert np.all(np.isfinite(ears))  # the own points' openness, unscaled
