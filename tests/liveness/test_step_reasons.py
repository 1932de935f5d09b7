"""Why a challenge step was not seen (issue 13): each :class:`StepReason` on scripted clips (fake
engines, tests/fakes.py) and on scripted events; ``passed`` and the report's reasons unchanged."""

from dataclasses import replace

import pytest

from realname.liveness.actions import ActionEvent
from realname.liveness.challenge import (
    StepReason,
    match_scheduled,
    match_steps,
    parse_challenge,
)
from realname.liveness.check import LivenessReason
from realname.policy import MatchPolicy, load_policy
from tests.fakes import FPS, face_script, fake_engine_policy, judge_scripted


@pytest.fixture(scope="module")
def fake_policy() -> MatchPolicy:
    return fake_engine_policy()


def test_a_left_turn_under_its_threshold_is_too_small_with_its_peak_and_threshold(
    fake_policy: MatchPolicy,
) -> None:
    assert fake_policy.liveness is not None
    needed = fake_policy.liveness.actions.turn_deg
    report = judge_scripted(
        face_script(7.0, blinks=((1.5, 0.2),), turns=((3.8, 4.8, 9.0),)), fake_policy
    )
    assert not report.passed and report.reasons == (LivenessReason.CHALLENGE_INCOMPLETE,)
    blink, turn = report.steps
    assert blink.reason is None and blink.seen_at_s is not None
    assert turn.seen_at_s is None and turn.reason == StepReason.TOO_SMALL
    assert turn.measured == pytest.approx(9.0, abs=0.1) and turn.needed == needed == 12.0
    assert turn.unit == "deg" and turn.observed_at_s == pytest.approx(4.3, abs=0.07)
    assert "too small: peaked 9.0 deg" in turn.explain() and "needs 12.0 deg" in turn.explain()
    step = report.to_dict()["steps"][1]
    assert step["reason"] == "STEP_TOO_SMALL" and step["needed"] == 12.0


def test_a_shallow_blink_is_too_small_in_closure_depth(fake_policy: MatchPolicy) -> None:
    assert fake_policy.liveness is not None
    actions = fake_policy.liveness.actions
    states = list(face_script(7.0, turns=((3.8, 4.8, 20.0),)))
    for i in range(round(1.5 * FPS), round(1.7 * FPS)):  # eyes at 82% of open: too shallow
        states[i] = replace(states[i], ear=0.30 * 0.82)
    report = judge_scripted(tuple(states), fake_policy)
    blink = report.steps[0]
    assert blink.reason == StepReason.TOO_SMALL and blink.unit == "ratio"
    assert blink.measured == pytest.approx(0.18, abs=0.01)
    assert blink.needed == pytest.approx(1 - actions.blink_close_ratio)
    assert report.steps[1].reason is None


def test_no_movement_at_all_is_not_seen(fake_policy: MatchPolicy) -> None:
    report = judge_scripted(face_script(7.0, blinks=((1.5, 0.2),)), fake_policy)
    turn = report.steps[1]
    assert turn.reason == StepReason.NOT_SEEN and turn.measured is None
    assert turn.explain().endswith("not seen (STEP_NOT_SEEN: no turn_left movement)")


def test_a_turn_begun_before_its_prompt_plus_the_reaction_is_too_early(
    fake_policy: MatchPolicy,
) -> None:
    # onset (half the threshold) about 3.40 s, before 3.50 + 0.20; peak 3.80 s, in the window
    report = judge_scripted(
        face_script(7.0, blinks=((1.5, 0.2),), turns=((3.3, 4.3, 20.0),)), fake_policy
    )
    turn = report.steps[1]
    assert turn.reason == StepReason.TOO_EARLY and turn.unit == "s"
    assert turn.measured is not None and turn.measured < 0.2 == turn.needed
    assert turn.observed_at_s == pytest.approx(3.8, abs=0.07)
    assert LivenessReason.CHALLENGE_INCOMPLETE in report.reasons


def test_a_turn_peaking_after_its_window_is_too_late(fake_policy: MatchPolicy) -> None:
    report = judge_scripted(
        face_script(7.5, blinks=((1.5, 0.2),), turns=((5.0, 6.6, 20.0),)), fake_policy
    )
    turn = report.steps[1]
    assert turn.reason == StepReason.TOO_LATE
    assert turn.needed == 5.7 and turn.measured == pytest.approx(5.8, abs=0.07)
    assert "too late: peaked 5.8" in turn.explain()
    # the reasons of the report are what they were: incomplete, and the turn unprompted
    assert report.reasons == (
        LivenessReason.CHALLENGE_INCOMPLETE,
        LivenessReason.UNPROMPTED_ACTION,
    )


def test_under_the_order_rule_a_turn_after_the_step_deadline_says_so(
    fake_policy: MatchPolicy,
) -> None:
    assert fake_policy.liveness is not None
    timeout = fake_policy.liveness.step_timeout_s
    states = face_script(8.0, blinks=((1.5, 0.2),), turns=((6.5, 7.5, -20.0),))
    report = judge_scripted(states, fake_policy, "blink,turn_right,nod")
    blink, turn, nod = report.steps
    assert blink.reason is None and blink.seen_at_s is not None
    assert turn.reason == StepReason.AFTER_DEADLINE and turn.needed == timeout
    assert turn.observed_at_s == pytest.approx(7.0, abs=0.07)
    assert turn.measured == pytest.approx(7.0 - blink.seen_at_s, abs=0.01)
    assert turn.measured is not None and turn.measured > timeout
    assert "after the step deadline" in turn.explain() and f"{timeout:.2f} s" in turn.explain()
    assert nod.reason == StepReason.NOT_REACHED
    assert report.reasons == (LivenessReason.CHALLENGE_INCOMPLETE,)


def test_under_the_order_rule_a_small_turn_within_the_deadline_is_too_small(
    fake_policy: MatchPolicy,
) -> None:
    states = face_script(6.0, blinks=((1.5, 0.2),), turns=((3.0, 4.0, -8.0),))
    turn = judge_scripted(states, fake_policy, "blink,turn_right").steps[1]
    assert turn.reason == StepReason.TOO_SMALL and turn.measured == pytest.approx(8.0, abs=0.1)


def test_the_rules_say_why_from_events_alone() -> None:
    policy = load_policy()
    assert policy.liveness is not None
    prompts = policy.liveness.prompts
    challenge = parse_challenge("blink@1.00-3.20,turn_left@3.50-5.70")
    early = (ActionEvent("turn_left", 3.55, 4.2, 3.9, 20.0),)
    steps = match_scheduled(challenge, early, prompts).steps
    assert [s.reason for s in steps] == [StepReason.NOT_SEEN, StepReason.TOO_EARLY]
    assert steps[1].measured == pytest.approx(0.05) and steps[1].needed == prompts.min_reaction_s
    in_time = (
        ActionEvent("blink", 1.3, 1.5, 1.4, 0.6),
        ActionEvent("turn_left", 3.8, 4.3, 4.0, 20),
    )
    assert [s.reason for s in match_scheduled(challenge, in_time, prompts).steps] == [None, None]
    order = match_steps(
        parse_challenge("blink,turn_left,nod"),
        (ActionEvent("blink", 0.5, 0.7, 0.6, 0.6), ActionEvent("turn_left", 6.0, 7.0, 6.5, 20)),
        step_timeout_s=5.0,
    )
    assert [s.reason for s in order] == [
        None,
        StepReason.AFTER_DEADLINE,
        StepReason.NOT_REACHED,
    ]
    assert order[1].measured == pytest.approx(5.9) and order[1].observed_at_s == 6.5
