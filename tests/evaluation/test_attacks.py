"""The universal recording (a loop of every action) against the order-only and prompt-locked
rules, on event timelines: small draw counts, so that the suite stays fast."""

from __future__ import annotations

import time
from random import Random

import pytest

from realname.evaluation.attacks import (
    ClipEvents,
    Draws,
    all_challenges,
    evaluate_clip_replays,
    evaluate_prompted_genuine,
    evaluate_universal_recording,
    loop_events,
    pass_scheduled,
    upper_95,
)
from realname.liveness.actions import Action, ActionEvent
from realname.liveness.challenge import issue_challenge, match_scheduled
from realname.policy import LivenessPolicy, load_policy


@pytest.fixture(scope="module")
def live():
    policy = load_policy().liveness
    assert policy is not None
    return policy


def test_the_issuer_draws_from_34_three_step_challenges() -> None:
    assert len(all_challenges(3)) == 34


def test_a_loop_shows_each_action_in_turn_and_cuts_blinks_at_the_clip_edges() -> None:
    events = loop_events(1.0, 0.5, 6.0)
    assert [e.action for e in events[:5]] == [
        "blink",
        "turn_left",
        "turn_right",
        "nod",
        "open_mouth",
    ]
    assert events[0].start_s == pytest.approx(0.5)
    assert all(e.start_s >= 0 and e.end_s <= 6.0 for e in events if e.action == "blink")
    assert all(0 <= e.peak_s <= 6.0 for e in events)


def test_the_vectorised_rule_agrees_with_match_scheduled(live) -> None:
    rng = Random(3)
    drawn = [issue_challenge(rng, prompts=live.prompts) for _ in range(300)]
    draws = Draws.of(drawn, live.prompts.tail_s, None)
    for rate, phase in ((0.5, 1.75), (0.5, 3.5), (1.0, 0.3), (2.0, 0.1)):
        events = loop_events(rate, phase, float(draws.capture_s.max()))
        passed, unprompted = pass_scheduled(events, draws, live.prompts)
        for i, challenge in enumerate(drawn):
            shown = [e for e in events if _shown(e, float(draws.capture_s[i]))]
            match = match_scheduled(challenge, shown, live.prompts)
            assert bool(unprompted[i]) == bool(match.unprompted), (rate, phase, challenge)
            assert bool(passed[i]) == (match.complete and not match.unprompted)


def test_the_vectorised_rule_agrees_with_match_scheduled_on_prompted_timelines(live) -> None:
    rng = Random(5)
    drawn = [issue_challenge(rng, prompts=live.prompts) for _ in range(100)]
    draws = Draws.of(drawn, live.prompts.tail_s, live.prompts.capture_s)
    agreed_passes = 0
    for k, model in enumerate(drawn[:30]):
        assert model.schedule is not None
        events = [
            ActionEvent(a, p + 0.4, p + 1.0, p + 0.7, 1.0)
            for a, p in zip(model.steps, model.schedule.prompts_s, strict=True)
        ]
        if k % 3 == 0:  # a natural blink, or (k % 2) an unprompted nod
            events.append(ActionEvent("nod" if k % 2 else "blink", 0.2, 0.5, 0.35, 1.0))
        passed, unprompted = pass_scheduled(events, draws, live.prompts)
        for i, challenge in enumerate(drawn):
            match = match_scheduled(challenge, events, live.prompts)
            assert bool(unprompted[i]) == bool(match.unprompted), (k, challenge)
            assert bool(passed[i]) == (match.complete and not match.unprompted), (k, challenge)
        agreed_passes += int(passed[k])
    assert agreed_passes == 25  # all but the 5 with an unprompted nod


def _shown(event: ActionEvent, clip_s: float) -> bool:
    return (event.end_s if event.action == "blink" else event.peak_s) <= clip_s + 1e-9


def test_the_universal_recording_passes_the_old_rule_and_not_the_prompt_locked_one(live) -> None:
    start = time.perf_counter()
    result = evaluate_universal_recording(
        live.prompts,
        step_timeout_s=live.step_timeout_s,
        draws=2000,
        rates=(0.5, 0.55, 0.6, 1.0, 1.5, 2.0),
        phases=12,
    )
    assert time.perf_counter() - start < 10.0
    assert result.worst_old.old_rate == 1.0  # every challenge, as issue 10 found
    assert result.worst_new.new_passed == 0
    assert upper_95(result.worst_new.new_passed, result.draws) <= 1.5e-3
    assert max(c.new_rate for c in result.cells) <= 1e-3
    payload = result.to_dict()
    assert payload["worst_new"]["pass"] <= 1e-3 and len(payload["cells"]) == 6 * 12


def test_clips_that_end_with_their_last_window_would_let_a_slow_loop_through(live) -> None:
    result = evaluate_universal_recording(
        live.prompts,
        step_timeout_s=live.step_timeout_s,
        draws=2000,
        rates=(0.5,),
        phases=8,
        clip="schedule",
    )
    assert result.worst_new.new_passed > 0  # why the page records prompts.capture_s every time


def _clip(path: str, actions: tuple[Action, ...], events: tuple[ActionEvent, ...]) -> ClipEvents:
    return ClipEvents(path, actions, 12.0, events)


STILL_PERSON = (
    ActionEvent("blink", 2.0, 2.2, 2.1, 0.5),
    ActionEvent("turn_left", 5.0, 5.8, 5.4, 20.0),
    ActionEvent("blink", 7.5, 7.7, 7.6, 0.5),
)


def test_a_clip_replayed_passes_the_old_rule_where_its_actions_fit_and_rarely_the_new(
    live: LivenessPolicy,
) -> None:
    result = evaluate_clip_replays(
        [_clip("a.mp4", ("blink", "turn_left"), STILL_PERSON)],
        live.prompts,
        step_timeout_s=live.step_timeout_s,
        draws=2000,
    )
    (row,) = result.rows
    assert row.old_passed >= 1  # blink, turn_left, blink among the 34
    assert row.new_rate < 0.05


def test_a_still_person_prompted_before_each_action_passes_and_a_fidget_fails(
    live: LivenessPolicy,
) -> None:
    fidget = (*STILL_PERSON, ActionEvent("nod", 9.5, 10.2, 9.8, 12.0))
    result = evaluate_prompted_genuine(
        [
            _clip("still.mp4", ("blink", "turn_left"), STILL_PERSON),
            _clip("fidget.mp4", ("blink", "turn_left"), fidget),
            _clip("unlabelled.mp4", (), STILL_PERSON),
        ],
        live.prompts,
        trials=200,
    )
    still, moving = result.rows
    assert still.passed == still.trials
    assert moving.passed == 0 and moving.unprompted_actions == ("nod",)
    assert result.bpcer == pytest.approx(0.5)
