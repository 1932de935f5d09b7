"""``realname eval attacks``: the universal recording against both challenge rules (issue 10).

The worst replay an attacker who cannot follow prompts can make: one recording that loops every
challenge action (:data:`~realname.actions.ACTIONS`, in that order) at a steady rate of 0.5-2
actions a second, started at any phase. It is built as an **event timeline** (what
:func:`~realname.actions.detect_actions` would report for it), not as video, so every rate and
phase can be tried exactly:

* each action's onset is ``phase + k / rate``; its event rises from onset to peak in
  ``rise_s`` and ends ``length_s`` after onset (:data:`DEFAULT_SHAPES`, assumed: a voluntary
  blink lasts 0.1-0.4 s and the detector accepts at most 0.7 s; a head turn or nod to 12 degrees
  and back about 0.8-1 s). Where the loop is faster than an action's length allows, the action
  is compressed to fill 90% of its slot.
* an event counts as detected when the clip holds the part the detector needs: a blink wholly
  (the eyes must be seen to reopen), a turn, nod or open mouth its peak (an excursion cut by the
  clip's start or end is still reported when its peak is inside). A loop's events therefore
  start and end across the clip's edges.

Two rules, the pass probability per capture attempt of each:

* **Order only** (:func:`~realname.challenge.match_steps`, as before issue 10): every challenge the
  issuer can draw (uniform over its support: no immediate repeat, a blink and a turn), a clip as
  long as the page recorded then (1 s settle, 2.5 s per step, 0.5 s tail), the policy's
  ``step_timeout_s``. The probability is the share of challenges passed.
* **Prompt-locked** (:func:`~realname.challenge.match_scheduled`): ``draws`` challenges with
  schedules from :func:`~realname.challenge.issue_challenge` under the policy's ``prompts``
  (a seeded generator: the distribution the CSPRNG draws from), each clip as long as the page
  records every capture (``prompts.capture_s``); ``clip="schedule"`` ends each clip instead
  ``tail_s`` after its last window (what a page that stopped early would record: the figure
  that made the page record the full ``capture_s``). :func:`pass_scheduled` is a vectorised
  copy of the rule; a test checks it against :func:`~realname.challenge.match_scheduled`. With
  no pass seen in ``draws``, the 95% upper bound is ``3 / draws`` (the rule of three).

The worst case is the maximum over the rates and phases of the grid.

TODO (issue 10, the per-clip replay): measure events once per real clip of ``../shared/data``
with :func:`~realname.actions.detect_actions` and replay each clip's timeline against drawn
schedules, as here, for its pass probability as a replay (and, on live clips recorded with
prompts, the live pass rate under the prompt-locked rule). Not done yet.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

import numpy as np
import numpy.typing as npt

from realname.actions import ACTIONS, Action, ActionEvent
from realname.challenge import TURNS, Challenge, PromptPolicy, issue_challenge, match_steps

__all__ = [
    "DEFAULT_SHAPES",
    "AttackCell",
    "EventShape",
    "UniversalRecording",
    "evaluate_universal_recording",
    "loop_events",
    "pass_scheduled",
]

Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class EventShape:
    """Seconds from an action's detected onset to its peak and to its end."""

    rise_s: float
    length_s: float


DEFAULT_SHAPES: Mapping[Action, EventShape] = {
    "blink": EventShape(0.1, 0.3),
    "turn_left": EventShape(0.4, 1.0),
    "turn_right": EventShape(0.4, 1.0),
    "nod": EventShape(0.3, 0.8),
    "open_mouth": EventShape(0.3, 0.8),
}
DEFAULT_RATES: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(31))  # 0.5-2/s
OLD_PAGE_SETTLE_S, OLD_PAGE_STEP_S, OLD_PAGE_TAIL_S = 1.0, 2.5, 0.5  # capture.js before issue 10


def loop_events(
    rate: float,
    phase_s: float,
    until_s: float,
    actions: Sequence[Action] = ACTIONS,
    shapes: Mapping[Action, EventShape] = DEFAULT_SHAPES,
) -> tuple[ActionEvent, ...]:
    """The events of a loop of ``actions`` at ``rate`` actions a second whose first action
    begins at ``phase_s`` (modulo the loop's period) that a clip from 0 to ``until_s`` shows
    (see the module docstring)."""
    slot = 1.0 / rate
    period = slot * len(actions)
    first = phase_s % period - period
    events: list[ActionEvent] = []
    for k in itertools.count():
        onset = first + k * slot
        if onset > until_s:
            break
        action = actions[k % len(actions)]
        shape = shapes[action]
        scale = min(1.0, 0.9 * slot / shape.length_s)
        end = onset + shape.length_s * scale
        peak = onset + shape.rise_s * scale
        if _shown(action, onset, peak, end, 0.0, until_s):
            events.append(ActionEvent(action, onset, end, peak, 1.0))
    return tuple(events)


def _shown(
    action: Action, onset: float, peak: float, end: float, start: float, stop: float
) -> bool:
    if action == "blink":
        return onset >= start and end <= stop
    return start <= peak <= stop


def _shown_until(event: ActionEvent) -> float:
    """The earliest clip end that still shows ``event``."""
    return event.end_s if event.action == "blink" else event.peak_s


def all_challenges(length: int, actions: Sequence[Action] = ACTIONS) -> tuple[Challenge, ...]:
    """The support of :func:`~realname.challenge.issue_challenge` (uniform on it)."""
    found = []
    for steps in itertools.product(actions, repeat=length):
        if any(a == b for a, b in itertools.pairwise(steps)):
            continue
        if "blink" in steps and any(s in TURNS for s in steps):
            found.append(Challenge(steps))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Draws:
    """Challenges with schedules as arrays: action indices, prompts, window ends, clip ends."""

    steps: npt.NDArray[np.int64]  # (draws, steps), indices into ACTIONS
    prompts_s: npt.NDArray[np.float64]
    window_ends_s: npt.NDArray[np.float64]
    capture_s: npt.NDArray[np.float64]  # (draws,)

    @classmethod
    def of(cls, challenges: Sequence[Challenge], tail_s: float, capture_s: float | None) -> Draws:
        """``capture_s``: every clip's length; None: each ends ``tail_s`` after its last
        window."""
        schedules = [c.schedule for c in challenges]
        if any(s is None for s in schedules):
            raise ValueError("every drawn challenge needs a schedule")
        prompts = np.array([s.prompts_s for s in schedules if s is not None])
        ends = np.array([s.window_ends_s for s in schedules if s is not None])
        return cls(
            np.array([[ACTIONS.index(a) for a in c.steps] for c in challenges]),
            prompts,
            ends,
            ends.max(axis=1) + tail_s if capture_s is None else np.full(len(ends), capture_s),
        )


def pass_scheduled(
    events: Sequence[ActionEvent], draws: Draws, prompts: PromptPolicy
) -> tuple[Bools, Bools]:
    """Per draw: whether the clip passes the prompt-locked rule, and whether it shows an
    unprompted action. The same rule as :func:`~realname.challenge.match_scheduled` on the
    events wholly inside each draw's clip, exact where two steps of one action cannot have
    overlapping windows (``window_s`` under twice the shortest gap, as the policy enforces
    here)."""
    if prompts.window_s >= 2 * prompts.gap_s[0]:
        raise ValueError("windows of two steps of one action could overlap: not modelled")
    n = len(draws.capture_s)
    steps_seen = np.zeros(draws.steps.shape, dtype=bool)
    unprompted = np.zeros(n, dtype=bool)
    earliest = draws.prompts_s + prompts.min_reaction_s - 1e-9
    late = draws.window_ends_s + 1e-9
    for e in events:
        code = ACTIONS.index(e.action)
        visible = _shown_until(e) <= draws.capture_s + 1e-9  # (draws,); shown from the start
        same = draws.steps == code  # (draws, steps)
        fits = same & (e.start_s >= earliest) & (e.peak_s <= late)
        steps_seen |= fits & visible[:, None]
        if e.action not in prompts.tolerated:
            own = same & (draws.prompts_s <= e.peak_s) & (e.peak_s <= draws.window_ends_s)
            unprompted |= visible & ~own.any(axis=1)
    return steps_seen.all(axis=1) & ~unprompted, unprompted


@dataclass(frozen=True, slots=True)
class AttackCell:
    """One loop (rate, phase) under both rules."""

    rate: float
    phase_s: float
    old_passed: int  # challenges passed under the order-only rule
    old_total: int
    new_passed: int  # draws passed under the prompt-locked rule
    new_unprompted: int  # draws failed (also) for an unprompted action
    new_total: int

    @property
    def old_rate(self) -> float:
        return self.old_passed / self.old_total

    @property
    def new_rate(self) -> float:
        return self.new_passed / self.new_total


def upper_95(passed: int, total: int) -> float:
    """A 95% upper bound on a probability seen ``passed`` times in ``total``: the rule of three
    at 0, else the Wilson score bound."""
    if passed == 0:
        return 3.0 / total
    p, z = passed / total, 1.96
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return min(1.0, (centre + spread) / (1 + z * z / total))


@dataclass(frozen=True, slots=True)
class UniversalRecording:
    cells: tuple[AttackCell, ...]
    steps: int
    draws: int
    clip: str  # "policy" or "schedule"
    old_clip_s: float
    policy_version: str
    seconds: float

    @property
    def worst_old(self) -> AttackCell:
        return max(self.cells, key=lambda c: (c.old_rate, -c.rate))

    @property
    def worst_new(self) -> AttackCell:
        return max(self.cells, key=lambda c: (c.new_rate, -c.rate))

    def by_rate(self) -> dict[float, tuple[AttackCell, AttackCell]]:
        """Per rate: the worst phase under the old rule and under the new."""
        out: dict[float, tuple[AttackCell, AttackCell]] = {}
        for rate in sorted({c.rate for c in self.cells}):
            row = [c for c in self.cells if c.rate == rate]
            out[rate] = (max(row, key=lambda c: c.old_rate), max(row, key=lambda c: c.new_rate))
        return out

    def to_dict(self) -> dict[str, Any]:
        old, new = self.worst_old, self.worst_new
        return {
            "policy_version": self.policy_version,
            "steps": self.steps,
            "draws": self.draws,
            "clip": self.clip,
            "old_clip_s": self.old_clip_s,
            "worst_old": {"rate": old.rate, "phase_s": old.phase_s, "pass": old.old_rate},
            "worst_new": {
                "rate": new.rate,
                "phase_s": new.phase_s,
                "pass": new.new_rate,
                "upper_95": upper_95(new.new_passed, new.new_total),
            },
            "cells": [
                {
                    "rate": c.rate,
                    "phase_s": c.phase_s,
                    "old_passed": c.old_passed,
                    "old_total": c.old_total,
                    "new_passed": c.new_passed,
                    "new_unprompted": c.new_unprompted,
                    "new_total": c.new_total,
                }
                for c in self.cells
            ],
            "seconds": self.seconds,
        }


def evaluate_universal_recording(
    prompts: PromptPolicy,
    *,
    step_timeout_s: float,
    policy_version: str = "",
    steps: int = 3,
    draws: int = 100_000,
    rates: Sequence[float] = DEFAULT_RATES,
    phases: int = 24,
    seed: int = 0,
    clip: str = "policy",
) -> UniversalRecording:
    """Both rules on every loop of the grid: ``rates`` (actions a second) times ``phases``
    phases spread evenly over each loop's period; see the module docstring."""
    start = time.perf_counter()
    rng = Random(seed)
    drawn = [issue_challenge(rng, length=steps, prompts=prompts) for _ in range(draws)]
    if clip not in ("policy", "schedule"):
        raise ValueError(f"clip must be 'policy' or 'schedule', not {clip!r}")
    arrays = Draws.of(drawn, prompts.tail_s, prompts.capture_s if clip == "policy" else None)
    horizon = float(arrays.capture_s.max())
    support = all_challenges(steps)
    old_clip = OLD_PAGE_SETTLE_S + steps * OLD_PAGE_STEP_S + OLD_PAGE_TAIL_S
    cells: list[AttackCell] = []
    for rate in rates:
        period = len(ACTIONS) / rate
        for i in range(phases):
            phase = round(period * i / phases, 4)
            old_events = loop_events(rate, phase, old_clip)
            old_passed = sum(
                all(
                    s.seen_at_s is not None
                    for s in match_steps(c, old_events, step_timeout_s=step_timeout_s)
                )
                for c in support
            )
            passed, unprompted = pass_scheduled(loop_events(rate, phase, horizon), arrays, prompts)
            cells.append(
                AttackCell(
                    rate,
                    phase,
                    old_passed,
                    len(support),
                    int(passed.sum()),
                    int(unprompted.sum()),
                    draws,
                )
            )
    return UniversalRecording(
        tuple(cells),
        steps,
        draws,
        clip,
        old_clip,
        policy_version,
        round(time.perf_counter() - start, 2),
    )
