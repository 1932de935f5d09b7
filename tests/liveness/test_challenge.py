import itertools
from random import Random

import pytest

from realname.errors import InputError, PolicyError
from realname.liveness.actions import ActionEvent
from realname.liveness.challenge import (
    Schedule,
    fixed_schedule,
    issue_challenge,
    match_scheduled,
    match_steps,
    parse_challenge,
)
from realname.policy import PromptPolicy


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


# --- Prompt-locked challenges (issue 10) ---


def prompts(**overrides: object) -> PromptPolicy:
    fields: dict[str, object] = {
        "first_prompt_s": (1.0, 1.5),
        "gap_s": (1.6, 3.4),
        "min_reaction_s": 0.2,
        "window_s": 2.2,
        "tail_s": 0.5,
        "steps": (3,),
        "capture_s": 11.0,
    }
    return PromptPolicy(**{**fields, **overrides})  # type: ignore[arg-type]


def at(action: str, onset: float, rise: float = 0.3) -> ActionEvent:
    return ActionEvent(action, onset, onset + 2 * rise, onset + rise, 1.0)  # type: ignore[arg-type]


SCHEDULED = "turn_left@1.00-3.20,blink@3.50-5.70,turn_right@6.00-8.20"


def test_a_scheduled_challenge_round_trips_through_its_string_form() -> None:
    challenge = parse_challenge(SCHEDULED)
    assert challenge.steps == ("turn_left", "blink", "turn_right")
    assert challenge.schedule == Schedule((1.0, 3.5, 6.0), (3.2, 5.7, 8.2))
    assert str(challenge) == SCHEDULED
    assert parse_challenge("blink,turn_left").schedule is None  # stored before schedules
    for bad in ("blink@1.00-3.20,turn_left", "blink@x-1", "blink@1.00", "blink@3-2"):
        with pytest.raises(InputError):
            parse_challenge(bad)


def test_issued_schedules_stay_within_the_policy_bounds_and_round_trip() -> None:
    policy = prompts()
    for seed in range(300):
        challenge = issue_challenge(Random(seed), prompts=policy)
        assert challenge.schedule is not None and len(challenge.steps) == 3
        p, ends = challenge.schedule.prompts_s, challenge.schedule.window_ends_s
        assert 1.0 <= p[0] <= 1.5
        assert all(1.6 - 1e-9 <= b - a <= 3.4 + 1e-9 for a, b in itertools.pairwise(p))
        assert all(abs(e - q - 2.2) < 1e-9 for q, e in zip(p, ends, strict=True))
        assert challenge.schedule.min_capture_s(policy.tail_s) <= policy.capture_s
        assert parse_challenge(str(challenge)) == challenge
    assert issue_challenge(prompts=policy).schedule is not None  # the system CSPRNG
    assert issue_challenge(Random(1)).schedule is None


def test_the_fixed_schedule_is_a_function_of_the_step_count() -> None:
    assert fixed_schedule(3, prompts()) == Schedule((1.0, 3.5, 6.0), (3.2, 5.7, 8.2))
    assert fixed_schedule(2, prompts()).prompts_s == (1.0, 3.5)


def test_a_policy_whose_capture_overruns_its_budget_is_refused() -> None:
    assert prompts().longest_capture_s(3) == 11.0
    with pytest.raises(PolicyError):
        prompts(steps=(3, 4))  # 14.4 s


def test_when_each_action_follows_its_prompt_in_its_window_then_every_step_is_seen() -> None:
    events = [at("turn_left", 1.45), at("blink", 3.9, 0.1), at("turn_right", 6.6)]
    match = match_scheduled(parse_challenge(SCHEDULED), events, prompts())
    assert match.complete and match.unprompted == ()
    first = match.steps[0]
    assert (first.prompt_s, first.window_end_s, first.onset_s) == (1.0, 3.2, 1.45)
    assert first.peak_s == pytest.approx(1.75) and first.reaction_s == pytest.approx(0.45)


def test_when_an_action_begins_before_its_prompt_plus_reaction_then_the_step_fails() -> None:
    events = [at("turn_left", 1.1), at("blink", 3.9, 0.1), at("turn_right", 6.6)]
    match = match_scheduled(parse_challenge(SCHEDULED), events, prompts())
    assert match.steps[0].seen_at_s is None and match.steps[0].prompt_s == 1.0
    assert [s.seen_at_s is not None for s in match.steps] == [False, True, True]


def test_when_an_action_peaks_after_its_window_then_the_step_fails() -> None:
    events = [at("turn_left", 1.45), at("blink", 3.9, 0.1), at("turn_right", 7.95)]
    match = match_scheduled(parse_challenge(SCHEDULED), events, prompts())
    assert match.steps[2].seen_at_s is None and not match.complete


def test_when_a_turn_is_unprompted_then_the_capture_fails_with_unprompted_action() -> None:
    extra = at("turn_right", 1.6)  # in the turn_left window, but not a turn_left
    events = [at("turn_left", 1.45), extra, at("blink", 3.9, 0.1), at("turn_right", 6.6)]
    match = match_scheduled(parse_challenge(SCHEDULED), events, prompts())
    assert match.complete and match.unprompted == (extra,)
    early = at("nod", 0.2)  # before the first prompt: not a challenge step at all
    assert match_scheduled(parse_challenge(SCHEDULED), [early], prompts()).unprompted == (early,)


def test_natural_blinks_outside_any_window_are_tolerated() -> None:
    blinks = [at("blink", t, 0.1) for t in (0.3, 2.2, 5.1, 8.6)]
    events = sorted(
        [at("turn_left", 1.45), *blinks, at("blink", 3.9, 0.1), at("turn_right", 6.6)],
        key=lambda e: e.peak_s,
    )
    match = match_scheduled(parse_challenge(SCHEDULED), events, prompts())
    assert match.complete and match.unprompted == ()
    assert match.steps[1].onset_s == 3.9  # the blink after its prompt, not the one before


def test_match_scheduled_refuses_a_challenge_without_schedule() -> None:
    with pytest.raises(InputError):
        match_scheduled(parse_challenge("blink"), [], prompts())
