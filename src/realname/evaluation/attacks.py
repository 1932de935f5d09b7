"""``realname eval attacks``: replays against both challenge rules; prompted genuine users.

The worst replay an attacker who cannot follow prompts can make: one recording that loops every
challenge action (:data:`~realname.liveness.actions.ACTIONS`, in that order) at a steady rate of
0.5-2
actions a second, started at any phase. It is built as an **event timeline** (what
:func:`~realname.liveness.actions.detect_actions` would report for it), not as video, so every rate
and
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

* **Order only** (:func:`~realname.liveness.challenge.match_steps`, as before issue 10): every
  challenge the
  issuer can draw (uniform over its support: no immediate repeat, a blink and a turn), a clip as
  long as the page recorded then (1 s settle, 2.5 s per step, 0.5 s tail), the policy's
  ``step_timeout_s``. The probability is the share of challenges passed.
* **Prompt-locked** (:func:`~realname.liveness.challenge.match_scheduled`): ``draws`` challenges
  with
  schedules from :func:`~realname.liveness.challenge.issue_challenge` under the policy's ``prompts``
  (a seeded generator: the distribution the CSPRNG draws from), each clip as long as the page
  records every capture (``prompts.capture_s``); ``clip="schedule"`` ends each clip instead
  ``tail_s`` after its last window (what a page that stopped early would record: the figure
  that made the page record the full ``capture_s``). :func:`pass_scheduled` is a vectorised
  copy of the rule; a test checks it against :func:`~realname.liveness.challenge.match_scheduled`.
  With
  no pass seen in ``draws``, the 95% upper bound is ``3 / draws`` (the rule of three).

The worst case is the maximum over the rates and phases of the grid.

The real clips (``realname eval attacks --data ../shared/data``): the events of every live clip
of the label files are measured once (:func:`measure_clip_events`, kept in memory only), then
only the challenge rules run again.

* **Pre-recorded replays** (:func:`evaluate_clip_replays`): each live clip is an attacker's
  recording, replayed unchanged from the capture's start, so its events are at their own times
  (those after ``prompts.capture_s`` are cut). Order only: the share of every drawable challenge
  passed on the whole clip with the service's ``step_timeout_s``. Prompt-locked: the share of
  ``draws`` seeded draws of :func:`~realname.liveness.challenge.issue_challenge` with the policy's
  prompts, through :func:`pass_scheduled`. Per clip, and the worst clip.
* **Genuine users following the prompts** (:func:`evaluate_prompted_genuine`), **simulated**:
  no clip of the data was recorded against prompts. Each labelled live clip is challenged with
  its labelled actions in order; each step's prompt is put a reaction time (drawn from
  :data:`PROMPTED_REACTION`, an ex-Gaussian of mean 0.55 s; sources there) before the detected
  onset of that step's event, and :func:`~realname.liveness.challenge.match_scheduled` judges the
  clip's
  own, unchanged events. What is simulated is only when the prompts appeared; the actions, their
  dynamics and every spontaneous movement between them are the clip's. Clips whose labelled
  actions begin closer together than the policy's shortest gap (a schedule the issuer never
  draws) are counted and reported apart. BPCER is the mean over clips of each clip's share of
  failed trials.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from realname.errors import InputError
from realname.liveness.actions import ACTIONS, Action, ActionEvent, detect_actions
from realname.liveness.challenge import (
    TURNS,
    Challenge,
    ChallengeMatch,
    Schedule,
    issue_challenge,
    match_scheduled,
    match_steps,
)
from realname.policy import PromptPolicy

if TYPE_CHECKING:
    from realname.engines import Engines
    from realname.policy import MatchPolicy

__all__ = [
    "DEFAULT_SHAPES",
    "PROMPTED_REACTION",
    "AttackCell",
    "ClipEvents",
    "ClipReplays",
    "EventShape",
    "PromptedGenuine",
    "ReactionTime",
    "UniversalRecording",
    "evaluate_clip_replays",
    "evaluate_prompted_genuine",
    "evaluate_universal_recording",
    "loop_events",
    "measure_clip_events",
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
    """The support of :func:`~realname.liveness.challenge.issue_challenge` (uniform on it)."""
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
    unprompted action. The same rule as :func:`~realname.liveness.challenge.match_scheduled` on the
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


class _TwoRules:
    """The pass rates of a tally under the order-only and the prompt-locked rule."""

    __slots__ = ()
    old_passed: int
    old_total: int
    new_passed: int
    new_total: int

    @property
    def old_rate(self) -> float:
        return self.old_passed / self.old_total

    @property
    def new_rate(self) -> float:
        return self.new_passed / self.new_total


@dataclass(frozen=True, slots=True)
class AttackCell(_TwoRules):
    """One loop (rate, phase) under both rules."""

    rate: float
    phase_s: float
    old_passed: int  # challenges passed under the order-only rule
    old_total: int
    new_passed: int  # draws passed under the prompt-locked rule
    new_unprompted: int  # draws failed (also) for an unprompted action
    new_total: int


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


# --- Real clips: each live clip replayed as a recording, and genuine users following prompts ---


@dataclass(frozen=True, slots=True)
class ClipEvents:
    """One live clip of the data, measured once: its labelled actions (in order), its length and
    the events :func:`~realname.liveness.actions.detect_actions` reports on it. ``refused``: the
    input
    error code where the clip cannot be read as an upload (then it has no events)."""

    path: str
    actions: tuple[Action, ...]
    duration_s: float
    events: tuple[ActionEvent, ...]
    refused: str = ""


def measure_clip_events(
    data_dir: Path,
    engines: Engines,
    policy: MatchPolicy,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ClipEvents, ...]:
    """Every live clip of the label files (:mod:`realname.evaluation.liveness_eval`), sampled as
    the service samples, with its events: measured once here, in memory only."""
    from realname.evaluation.liveness_eval import _clip, _label_items
    from realname.liveness.signals import extract_signals

    if policy.liveness is None:
        raise InputError(f"policy {policy.version} has no liveness section")
    live = policy.liveness
    items = [i for i in _label_items(data_dir) if i.label == "live"]
    out: list[ClipEvents] = []
    for n, item in enumerate(items, start=1):
        rel = str(item.path.relative_to(data_dir))
        actions = tuple(a.strip() for a in item.actions.split(";") if a.strip())
        if any(a not in ACTIONS for a in actions):
            raise InputError(f"{rel}: unknown labelled actions {actions}")
        labelled: tuple[Action, ...] = actions  # type: ignore[assignment]
        try:
            clip = _clip(item, policy)
        except InputError as exc:
            out.append(ClipEvents(rel, labelled, 0.0, (), exc.code))
        else:
            track = extract_signals(
                clip.frames,
                clip.timestamps_s,
                engines,
                policy.search,
                detect_every=live.detect_every,
            )
            events, _ = detect_actions(track, live.actions)
            out.append(ClipEvents(rel, labelled, round(clip.duration_s, 3), events))
        if progress is not None:
            progress(n, len(items))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ReplayRow(_TwoRules):
    """One live clip replayed unchanged from the recording's start: the share of every drawable
    challenge it passes under the order-only rule, and of ``new_total`` drawn challenges with
    schedules under the prompt-locked rule (``new_unprompted``: draws failed, also, for an
    unprompted action)."""

    path: str
    duration_s: float
    events: int
    old_passed: int
    old_total: int
    new_passed: int
    new_unprompted: int
    new_total: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "duration_s": self.duration_s,
            "events": self.events,
            "old_passed": self.old_passed,
            "old_total": self.old_total,
            "old_rate": self.old_rate,
            "new_passed": self.new_passed,
            "new_unprompted": self.new_unprompted,
            "new_total": self.new_total,
            "new_rate": self.new_rate,
            "new_upper_95": upper_95(self.new_passed, self.new_total),
        }


@dataclass(frozen=True, slots=True)
class ClipReplays:
    rows: tuple[ReplayRow, ...]
    refused: tuple[str, ...]  # live clips an upload of which is refused (no replay possible)
    draws: int
    capture_s: float
    policy_version: str
    seconds: float

    @property
    def worst_old(self) -> ReplayRow:
        return max(self.rows, key=lambda r: r.old_rate)

    @property
    def worst_new(self) -> ReplayRow:
        return max(self.rows, key=lambda r: r.new_rate)

    def to_dict(self) -> dict[str, Any]:
        old, new = self.worst_old, self.worst_new
        return {
            "policy_version": self.policy_version,
            "clips": len(self.rows),
            "refused": list(self.refused),
            "draws": self.draws,
            "capture_s": self.capture_s,
            "worst_old": {"path": old.path, "pass": old.old_rate},
            "worst_new": {
                "path": new.path,
                "pass": new.new_rate,
                "upper_95": upper_95(new.new_passed, new.new_total),
            },
            "rows": [r.to_dict() for r in self.rows],
            "seconds": self.seconds,
        }


def _visible(events: Sequence[ActionEvent], until_s: float) -> tuple[ActionEvent, ...]:
    return tuple(e for e in events if _shown_until(e) <= until_s + 1e-9)


def evaluate_clip_replays(
    clips: Sequence[ClipEvents],
    prompts: PromptPolicy,
    *,
    step_timeout_s: float,
    policy_version: str = "",
    draws: int = 100_000,
    seed: int = 0,
) -> ClipReplays:
    """Each readable clip of ``clips`` as an attacker's recording, replayed unchanged from the
    capture's start (its events at their own times; those after ``prompts.capture_s`` are cut).
    Order-only rule: every challenge the issuer can draw for each of ``prompts.steps``, on the
    whole clip, with the service's ``step_timeout_s``. Prompt-locked rule: ``draws`` challenges
    with schedules from :func:`~realname.liveness.challenge.issue_challenge` (seeded), each capture
    ``prompts.capture_s`` long; the same draws for every clip."""
    start = time.perf_counter()
    rng = Random(seed)
    drawn = [issue_challenge(rng, prompts=prompts) for _ in range(draws)]
    by_length = {
        n: Draws.of([c for c in drawn if len(c.steps) == n], prompts.tail_s, prompts.capture_s)
        for n in sorted({len(c.steps) for c in drawn})
    }
    support = [c for n in prompts.steps for c in all_challenges(n)]
    rows: list[ReplayRow] = []
    for clip in clips:
        if clip.refused:
            continue
        old_passed = sum(
            all(
                s.seen_at_s is not None
                for s in match_steps(c, clip.events, step_timeout_s=step_timeout_s)
            )
            for c in support
        )
        shown = _visible(clip.events, prompts.capture_s)
        passed = unprompted = 0
        for arrays in by_length.values():
            ok, extra = pass_scheduled(shown, arrays, prompts)
            passed += int(ok.sum())
            unprompted += int(extra.sum())
        rows.append(
            ReplayRow(
                clip.path,
                clip.duration_s,
                len(clip.events),
                old_passed,
                len(support),
                passed,
                unprompted,
                draws,
            )
        )
    return ClipReplays(
        tuple(rows),
        tuple(c.path for c in clips if c.refused),
        draws,
        prompts.capture_s,
        policy_version,
        round(time.perf_counter() - start, 2),
    )


@dataclass(frozen=True, slots=True)
class ReactionTime:
    """An ex-Gaussian choice reaction time, prompt shown to detected onset (seconds): a normal
    part (``mu_s``, ``sigma_s``) plus an exponential tail (``tau_s``); mean ``mu_s + tau_s``.
    See :data:`PROMPTED_REACTION` for the numbers and their source."""

    mu_s: float
    sigma_s: float
    tau_s: float

    def draw(self, rng: np.random.Generator, size: tuple[int, ...]) -> npt.NDArray[np.float64]:
        normal = rng.normal(self.mu_s, self.sigma_s, size)
        return np.asarray(normal + rng.exponential(self.tau_s, size), dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        return {"mu_s": self.mu_s, "sigma_s": self.sigma_s, "tau_s": self.tau_s}


# Choice reaction times are right-skewed and are fitted well by an ex-Gaussian (Ratcliff 1979,
# Psychological Bulletin 86:446; Luce 1986, "Response Times", ch. 6). Their mean grows with the
# log of the number of equally likely alternatives (Hick 1952; Hyman 1953): with five possible
# prompts, visual choice reaction times average about 0.45-0.6 s, simple ones about 0.2-0.25 s.
# Visually triggered head movements start about 0.2-0.3 s after the target at the earliest and
# later when the response must be chosen (Zangemeister and Stark 1982, Experimental Neurology
# 77:563, "Types of gaze movement"). Hence mu 0.40 s, sigma 0.05 s, tau 0.15 s: mean 0.55 s,
# 0.3% below 0.3 s, 5% above 0.85 s, 2% above 1 s. These parameters are chosen within those ranges,
# not fitted to prompted captures (none exist yet).
PROMPTED_REACTION = ReactionTime(0.40, 0.05, 0.15)


@dataclass(frozen=True, slots=True)
class PromptedRow:
    """One labelled live clip, prompted in simulation ``trials`` times. ``found``: whether every
    labelled action has a detected event, in order (else it fails every trial); ``min_gap_s``
    and ``max_gap_s``: between the simulated prompts' mean times (the onsets' spacing), None with
    one step; ``failures``: trials failed, by reason (``missed`` a step, ``unprompted``)."""

    path: str
    actions: tuple[Action, ...]
    found: bool
    onsets_s: tuple[float, ...]
    min_gap_s: float | None
    max_gap_s: float | None
    trials: int
    passed: int
    missed: int
    unprompted: int
    refused: str = ""
    unprompted_actions: tuple[str, ...] = ()  # the actions seen unprompted in any trial

    @property
    def fail_rate(self) -> float:
        return 1.0 - self.passed / self.trials

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "actions": list(self.actions),
            "found": self.found,
            "refused": self.refused,
            "onsets_s": list(self.onsets_s),
            "min_gap_s": self.min_gap_s,
            "max_gap_s": self.max_gap_s,
            "trials": self.trials,
            "passed": self.passed,
            "missed": self.missed,
            "unprompted": self.unprompted,
            "unprompted_actions": list(self.unprompted_actions),
            "fail_rate": self.fail_rate,
        }


@dataclass(frozen=True, slots=True)
class PromptedGenuine:
    rows: tuple[PromptedRow, ...]
    reaction: ReactionTime
    trials: int
    gap_s: tuple[float, float]
    policy_version: str
    seconds: float

    @property
    def bpcer(self) -> float:
        """The mean over clips of each clip's share of failed trials."""
        return float(np.mean([r.fail_rate for r in self.rows])) if self.rows else 0.0

    @property
    def bpcer_missed(self) -> float:
        """The mean over clips of the share of trials with a step not matched in its window."""
        return float(np.mean([r.missed / r.trials for r in self.rows])) if self.rows else 0.0

    @property
    def bpcer_unprompted(self) -> float:
        """The mean over clips of the share of trials with an unprompted action."""
        return float(np.mean([r.unprompted / r.trials for r in self.rows])) if self.rows else 0.0

    def close(self) -> tuple[PromptedRow, ...]:
        """Clips whose labelled actions begin closer together than the policy's shortest gap."""
        return tuple(
            r for r in self.rows if r.min_gap_s is not None and r.min_gap_s < self.gap_s[0]
        )

    def bpcer_within_gaps(self) -> float:
        """BPCER over the clips whose onsets' spacing the policy's gaps allow."""
        rows = [
            r
            for r in self.rows
            if r.min_gap_s is None
            or (r.min_gap_s >= self.gap_s[0] and (r.max_gap_s or 0.0) <= self.gap_s[1])
        ]
        return float(np.mean([r.fail_rate for r in rows])) if rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        rows = self.rows
        return {
            "policy_version": self.policy_version,
            "clips": len(rows),
            "reaction": self.reaction.to_dict(),
            "trials": self.trials,
            "bpcer": self.bpcer,
            "bpcer_missed": self.bpcer_missed,
            "bpcer_unprompted": self.bpcer_unprompted,
            "expected_rejections": sum(r.fail_rate for r in rows),
            "clips_always_passing": sum(r.passed == r.trials for r in rows),
            "clips_always_failing": sum(r.passed == 0 for r in rows),
            "clips_not_found": sum(not r.found for r in rows),
            "clips_closer_than_min_gap": [r.path for r in self.close()],
            "clips_wider_than_max_gap": [
                r.path for r in rows if r.max_gap_s is not None and r.max_gap_s > self.gap_s[1]
            ],
            "bpcer_within_gaps": self.bpcer_within_gaps(),
            "rows": [r.to_dict() for r in rows],
            "seconds": self.seconds,
        }


def evaluate_prompted_genuine(
    clips: Sequence[ClipEvents],
    prompts: PromptPolicy,
    *,
    policy_version: str = "",
    reaction: ReactionTime = PROMPTED_REACTION,
    trials: int = 1000,
    seed: int = 0,
    rule: Callable[[Challenge, Sequence[ActionEvent], PromptPolicy], ChallengeMatch] = (
        match_scheduled
    ),
) -> PromptedGenuine:
    """Genuine users following prompts, simulated on every live clip with labelled actions.

    The challenge is the labelled actions in their labelled order; each step's event is the one
    the order-only rule finds for it on the whole clip (the first of its action after the
    previous step). Each trial draws a reaction time per step from ``reaction`` and puts that
    step's prompt that long before its event's detected onset, the window ``prompts.window_s``
    after the prompt; the clip's own events, unchanged, are then judged by
    :func:`~realname.liveness.challenge.match_scheduled`. Where a prompt would fall before the
    recording
    starts the whole timeline is shifted (as if recording had begun earlier with the person
    still); that changes nothing the rule measures. Prompts that would not be in increasing
    order (two labelled actions beginning within a reaction time's difference) fail that trial
    as missed steps. A clip whose labelled actions are not all found, or that an upload would
    refuse, fails every trial. ``rule``: the shipped rule, or a candidate relaxation of it
    (:mod:`realname.evaluation.tolerance`)."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    rows: list[PromptedRow] = []
    window = prompts.window_s
    for clip in clips:
        if not clip.actions:
            continue
        steps = match_steps(
            Challenge(clip.actions), clip.events, step_timeout_s=clip.duration_s + 1.0
        )
        found = not clip.refused and all(s.event is not None for s in steps)
        if not found:
            rows.append(
                PromptedRow(
                    clip.path,
                    clip.actions,
                    False,
                    (),
                    None,
                    None,
                    trials,
                    0,
                    trials,
                    0,
                    clip.refused,
                )
            )
            continue
        onsets = np.array([s.event.start_s for s in steps if s.event is not None])
        gaps = np.diff(onsets)
        times = reaction.draw(rng, (trials, len(onsets)))
        passed = missed = unprompted = 0
        settles = rng.uniform(*prompts.first_prompt_s, trials)
        seen_unprompted: set[str] = set()
        for rt, settle in zip(times, settles, strict=True):
            at = onsets - rt
            if np.any(np.diff(at) <= 0):
                missed += 1
                continue
            begin = float(at[0]) - float(settle)  # the capture's start, on the clip's clock
            end = max(begin + prompts.capture_s, float(at[-1]) + window + prompts.tail_s)
            schedule = Schedule(
                tuple(float(p) - begin for p in at), tuple(float(p) - begin + window for p in at)
            )
            events = tuple(
                ActionEvent(
                    e.action, e.start_s - begin, e.end_s - begin, e.peak_s - begin, e.magnitude
                )
                for e in clip.events
                if _shown(e.action, e.start_s, e.peak_s, e.end_s, begin, end)
            )
            match = rule(Challenge(clip.actions, schedule), events, prompts)
            if not match.complete:
                missed += 1
            if match.unprompted:
                unprompted += 1
                seen_unprompted.update(e.action for e in match.unprompted)
            if match.complete and not match.unprompted:
                passed += 1
        rows.append(
            PromptedRow(
                clip.path,
                clip.actions,
                True,
                tuple(round(float(o), 3) for o in onsets),
                round(float(gaps.min()), 3) if len(gaps) else None,
                round(float(gaps.max()), 3) if len(gaps) else None,
                trials,
                passed,
                missed,
                unprompted,
                unprompted_actions=tuple(sorted(seen_unprompted)),
            )
        )
    return PromptedGenuine(
        tuple(rows),
        reaction,
        trials,
        prompts.gap_s,
        policy_version,
        round(time.perf_counter() - start, 2),
    )
