"""``realname eval attacks --tolerances``: could the prompt-locked rule forgive natural movement?

The shipped rule (:func:`~realname.liveness.challenge.match_scheduled`) fails a capture for any
action
other than a blink outside a window of its own (``UNPROMPTED_ACTION``). The simulated prompted
users of :func:`~realname.evaluation.attacks.evaluate_prompted_genuine` fail mostly for that:
the live clips of the data were not recorded against prompts, and their people turn, nod and
talk between the labelled actions. This module measures candidate relaxations, each as a filter
on the shipped rule's unprompted events, on both sides at once:

* prompted BPCER on the labelled live clips (the simulation of ``evaluate_prompted_genuine``);
* the worst live clip replayed unchanged (pass rate over ``draws`` issued challenges);
* the universal looping recording (:func:`~realname.evaluation.attacks.loop_events`) at rates
  0.5-2 actions a second, several phases, and **sizes chosen by the attacker**: every action at
  the same size (1.1, 1.4 or 2 times its detection threshold) or alternating large and small
  ones (a relaxation by size invites exactly that).

Sizes are normalised by the detection threshold of the action (``turn_deg``, ``nod_deg``,
``mouth_open_mar``) so that turns, nods and mouths compare. Candidates (none ships):

* ``strict``: the shipped rule.
* ``relative_size``: an unprompted action is forgiven when it is smaller than ``0.8`` times the
  smallest prompted step of its kind (both turns are one kind) in the same capture; kinds not
  prompted are judged strictly.
* ``prompted_kinds_only``: only actions of a kind the challenge prompts count.
* ``between_prompts_only``: only actions peaking between the first prompt and the last window's
  end count (the settle time and the tail are forgiven).
* ``continuation``: an action of a step's kind that begins within 1 s after that step's event
  ends is taken as part of the response.
* ``size_floor``: ``relative_size``, and for kinds not prompted anything under 1.5 times the
  detection threshold is forgiven.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from random import Random
from typing import Any

from realname.evaluation import attacks
from realname.evaluation.attacks import ClipEvents, loop_events, upper_95
from realname.liveness.actions import ActionEvent
from realname.liveness.challenge import Challenge, ChallengeMatch, issue_challenge, match_scheduled
from realname.policy import Action, ActionPolicy, PromptPolicy

__all__ = ["CANDIDATES", "ToleranceRow", "evaluate_tolerances"]

Rule = Callable[[Challenge, Sequence[ActionEvent], PromptPolicy], ChallengeMatch]
_KIND: Mapping[Action, str] = {
    "blink": "blink",
    "turn_left": "turn",
    "turn_right": "turn",
    "nod": "nod",
    "open_mouth": "mouth",
}
LOOP_SIZES: tuple[tuple[float, ...], ...] = ((1.1,), (1.4,), (2.0,), (2.0, 1.1), (2.0, 1.1, 1.1))
LOOP_RATES: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0)


def _thresholds(actions: ActionPolicy) -> dict[Action, float]:
    return {
        "blink": 1.0,
        "turn_left": actions.turn_deg,
        "turn_right": actions.turn_deg,
        "nod": actions.nod_deg,
        "open_mouth": actions.mouth_open_mar,
    }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A relaxation: which unprompted events of the shipped rule it forgives."""

    name: str
    rho: float = 0.0  # forgive under rho x the smallest prompted step of the same kind
    floor: float = 0.0  # kinds not prompted: forgive under floor x the detection threshold
    other_kinds: bool = False  # forgive every kind the challenge does not prompt
    span_only: bool = False  # forgive outside [first prompt, last window end]
    continuation_s: float = 0.0
    under_way_ok: bool = False  # forgive an action already under way when recording began

    def rule(self, thresholds: Mapping[Action, float]) -> Rule:
        def judged(
            challenge: Challenge, events: Sequence[ActionEvent], prompts: PromptPolicy
        ) -> ChallengeMatch:
            match = match_scheduled(challenge, events, prompts)
            schedule = challenge.schedule
            assert schedule is not None
            seen = [s for s in match.steps if s.event is not None]
            kept = []
            for e in match.unprompted:
                kind = _KIND[e.action]
                size = e.magnitude / thresholds[e.action]
                same = [
                    s.event.magnitude / thresholds[s.action]
                    for s in seen
                    if s.event is not None and _KIND[s.action] == kind
                ]
                prompted = any(_KIND[a] == kind for a in challenge.steps)
                if self.span_only and not (
                    schedule.prompts_s[0] <= e.peak_s <= max(schedule.window_ends_s)
                ):
                    continue
                if self.under_way_ok and e.start_s <= 1e-6:
                    continue
                if self.continuation_s and any(
                    s.action == e.action
                    and s.event is not None
                    and s.event.start_s <= e.start_s <= s.event.end_s + self.continuation_s
                    for s in seen
                ):
                    continue
                if not prompted and (self.other_kinds or size < self.floor):
                    continue
                if same and size < self.rho * min(same):
                    continue
                kept.append(e)
            return ChallengeMatch(match.steps, tuple(kept), match.rule)

        return judged


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("strict"),
    Candidate("relative_size", rho=0.8),
    Candidate("prompted_kinds_only", other_kinds=True),
    Candidate("between_prompts_only", span_only=True),
    Candidate("continuation", continuation_s=1.0),
    Candidate("size_floor", rho=0.8, floor=1.5),
    Candidate("under_way_at_start", under_way_ok=True),
)


@dataclass(frozen=True, slots=True)
class ToleranceRow:
    name: str
    bpcer: float
    worst_replay: str
    replay_passed: int
    replay_draws: int
    loop_passed: int  # at the worst loop (rate, phase, sizes)
    loop_draws: int
    worst_loop: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bpcer": self.bpcer,
            "worst_replay": self.worst_replay,
            "replay_pass": self.replay_passed / self.replay_draws,
            "replay_upper_95": upper_95(self.replay_passed, self.replay_draws),
            "worst_loop": self.worst_loop,
            "loop_pass": self.loop_passed / self.loop_draws,
            "loop_upper_95": upper_95(self.loop_passed, self.loop_draws),
        }


def _passes(
    rule: Rule,
    challenges: Sequence[Challenge],
    events: Sequence[ActionEvent],
    prompts: PromptPolicy,
) -> int:
    count = 0
    for c in challenges:
        m = rule(c, events, prompts)
        count += m.complete and not m.unprompted
    return count


def evaluate_tolerances(
    clips: Sequence[ClipEvents],
    prompts: PromptPolicy,
    actions: ActionPolicy,
    *,
    candidates: Sequence[Candidate] = CANDIDATES,
    draws: int = 2000,
    loop_draws: int = 500,
    phases: int = 8,
    trials: int = 200,
    seed: int = 0,
) -> tuple[tuple[ToleranceRow, ...], float]:
    """Each candidate on both sides (see the module docstring); and the seconds it took."""
    start = time.perf_counter()
    thresholds = _thresholds(actions)
    rng = Random(seed)
    drawn = [issue_challenge(rng, prompts=prompts) for _ in range(draws)]
    rows = []
    for candidate in candidates:
        rule = candidate.rule(thresholds)
        genuine = attacks.evaluate_prompted_genuine(
            clips, prompts, trials=trials, seed=seed, rule=rule
        )
        worst_clip, worst_passed = "", -1
        for clip in clips:
            if clip.refused:
                continue
            shown = attacks._visible(clip.events, prompts.capture_s)
            passed = _passes(rule, drawn, shown, prompts)
            if passed > worst_passed:
                worst_clip, worst_passed = clip.path, passed
        worst_loop, loop_passed = "", -1
        for sizes in LOOP_SIZES:
            for rate in LOOP_RATES:
                period = 5 / rate
                for i in range(phases):
                    events = tuple(
                        replace(e, magnitude=sizes[k % len(sizes)] * thresholds[e.action])
                        for k, e in enumerate(
                            loop_events(rate, period * i / phases, prompts.capture_s)
                        )
                    )
                    passed = _passes(rule, drawn[:loop_draws], events, prompts)
                    if passed > loop_passed:
                        loop_passed = passed
                        worst_loop = f"{rate}/s, phase {period * i / phases:.2f} s, sizes {sizes}"
        rows.append(
            ToleranceRow(
                candidate.name,
                genuine.bpcer,
                worst_clip,
                max(worst_passed, 0),
                draws,
                max(loop_passed, 0),
                loop_draws,
                worst_loop,
            )
        )
    return tuple(rows), round(time.perf_counter() - start, 2)
