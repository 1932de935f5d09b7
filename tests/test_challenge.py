import itertools
from random import Random

import pytest

from realname.actions import ActionEvent
from realname.challenge import issue_challenge, match_steps, parse_challenge
from realname.errors import InputError


def test_challenges_are_random_with_a_blink_and_a_turn_and_no_repeat() -> None:
    seen = set()
    for seed in range(200):
        steps = issue_challenge(Random(seed)).steps
        assert len(steps) == 3
        assert "blink" in steps and {"turn_left", "turn_right"} & set(steps)
        assert all(a != b for a, b in itertools.pairwise(steps))
        seen.add(steps)
    assert len(seen) > 10


def test_default_challenge_uses_the_system_csprng() -> None:
    assert len(issue_challenge().steps) == 3
    assert len(issue_challenge(length=5).steps) == 5
    with pytest.raises(InputError):
        issue_challenge(length=1)


def test_parse_challenge_refuses_unknown_actions() -> None:
    assert parse_challenge("blink, turn_left").steps == ("blink", "turn_left")
    assert parse_challenge("").steps == ()
    with pytest.raises(InputError):
        parse_challenge("blink,smile")


def ev(action: str, t: float) -> ActionEvent:
    return ActionEvent(action, t - 0.2, t + 0.2, t, 1.0)  # type: ignore[arg-type]


def test_steps_in_order_with_natural_extra_blinks() -> None:
    events = [
        ev("blink", 0.5),
        ev("turn_left", 1.5),
        ev("blink", 2.0),
        ev("blink", 2.8),
        ev("turn_right", 3.5),
    ]
    steps = match_steps(parse_challenge("turn_left,blink,turn_right"), events, step_timeout_s=5)
    assert [s.seen_at_s for s in steps] == [1.5, 2.0, 3.5]


def test_steps_out_of_order_are_not_seen() -> None:
    events = [ev("turn_right", 1.0), ev("blink", 2.0), ev("turn_left", 3.0)]
    steps = match_steps(parse_challenge("turn_left,blink,turn_right"), events, step_timeout_s=5)
    assert steps[0].seen_at_s == 3.0
    assert steps[1].seen_at_s is None and steps[2].seen_at_s is None


def test_a_step_after_its_deadline_is_not_seen() -> None:
    events = [ev("blink", 1.0), ev("turn_left", 9.0)]
    steps = match_steps(parse_challenge("blink,turn_left"), events, step_timeout_s=5)
    assert steps[0].seen_at_s == 1.0 and steps[1].seen_at_s is None
