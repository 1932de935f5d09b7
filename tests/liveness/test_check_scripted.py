"""check_liveness on scripted clips: fake engines (tests/fakes.py), no model, every verdict
path of the challenge (passed, a missed step, an unprompted action, a blink too long)."""

from dataclasses import replace

import pytest

from realname.errors import PolicyError
from realname.liveness.check import LivenessReason
from realname.policy import MatchPolicy
from tests.fakes import face_script, fake_engine_policy, judge_scripted


@pytest.fixture(scope="module")
def fake_policy() -> MatchPolicy:
    return fake_engine_policy()


def test_when_the_prompted_actions_happen_in_their_windows_then_liveness_passes(
    fake_policy: MatchPolicy,
) -> None:
    report = judge_scripted(
        face_script(7.0, blinks=((1.5, 0.2),), turns=((3.8, 4.8, 20.0),)), fake_policy
    )
    assert report.passed and report.reasons == ()
    assert [s.seen_at_s is not None for s in report.steps] == [True, True]
    assert report.unprompted == ()
    assert report.checks["three_d_structure"].applicable  # the turn showed a real head's depth
    assert all(c.passed for c in report.checks.values())


def test_when_a_prompted_step_is_missed_then_challenge_incomplete(
    fake_policy: MatchPolicy,
) -> None:
    report = judge_scripted(face_script(7.0, blinks=((1.5, 0.2),)), fake_policy)
    assert not report.passed
    assert report.reasons == (LivenessReason.CHALLENGE_INCOMPLETE,)
    assert report.steps[0].seen_at_s is not None and report.steps[1].seen_at_s is None


def test_when_an_action_happens_outside_every_window_then_unprompted_action(
    fake_policy: MatchPolicy,
) -> None:
    states = face_script(8.0, blinks=((1.5, 0.2),), turns=((3.8, 4.8, 20.0), (6.2, 7.2, -20.0)))
    report = judge_scripted(states, fake_policy)
    assert not report.passed
    assert report.reasons == (LivenessReason.UNPROMPTED_ACTION,)
    assert [s.seen_at_s is not None for s in report.steps] == [True, True]
    assert [e.action for e in report.unprompted] == ["turn_right"]


def test_when_the_eyes_stay_closed_too_long_then_it_is_no_blink(
    fake_policy: MatchPolicy,
) -> None:
    assert fake_policy.liveness is not None
    assert fake_policy.liveness.actions.blink_max_s < 1.0
    report = judge_scripted(
        face_script(7.0, blinks=((1.5, 1.0),), turns=((3.8, 4.8, 20.0),)), fake_policy
    )
    assert not report.passed
    assert report.reasons == (LivenessReason.CHALLENGE_INCOMPLETE,)
    assert report.steps[0].seen_at_s is None and report.steps[1].seen_at_s is not None
    assert "blink" not in [e.action for e in report.actions]


def test_when_the_policy_has_no_liveness_section_then_policy_error(
    fake_policy: MatchPolicy,
) -> None:
    with pytest.raises(PolicyError):
        judge_scripted(face_script(1.0), replace(fake_policy, liveness=None))
