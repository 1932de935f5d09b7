"""Random challenges, their prompt schedules, and checking that a clip performs them.

Two rules judge a clip against a challenge:

* **Prompt-locked** (:func:`match_scheduled`, the rule for every challenge issued with a
  :class:`Schedule`). The server draws, with the operating system's CSPRNG, when each prompt
  appears (offsets in seconds from the start of the recording) and until when its action may
  peak; the page shows each prompt at its offset. Each step's action must *begin* at or after
  its prompt plus :attr:`~realname.policy.PromptPolicy.min_reaction_s` and *peak* by its
  window's end. Any other
  action (blinks excepted: people blink all the time) seen outside a window of its own step
  fails the capture with ``UNPROMPTED_ACTION``: a recording that loops every action then fails.
* **Order only** (:func:`match_steps`), for challenges without a schedule: each step is the
  first event of its action after the previous step, within a timeout, and every other event is
  tolerated. It is kept **for evaluation of recordings made without prompts** (labelled clips of
  the data sets); one recording looping all five actions satisfies every challenge under it
  (:mod:`realname.evaluation.attacks`).

String form, as stored with a session: ``"blink,turn_left"`` (no schedule) or
``"blink@1.00-3.20,turn_left@3.12-5.32"`` (``action@prompt-window_end``, seconds).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from realname.errors import InputError
from realname.liveness.actions import ActionEvent
from realname.policy import ACTIONS, MIN_CHALLENGE_STEPS, Action, PromptPolicy

__all__ = [
    "MOVEMENT_UNITS",
    "STEP_REASONS",
    "Challenge",
    "ChallengeMatch",
    "Schedule",
    "StepReason",
    "StepResult",
    "draw_schedule",
    "fixed_schedule",
    "issue_challenge",
    "match_scheduled",
    "match_steps",
    "parse_challenge",
]

TURNS: tuple[Action, ...] = ("turn_left", "turn_right")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Per step: when its prompt appears and when its window ends (seconds from the recording
    start, 10 ms resolution)."""

    prompts_s: tuple[float, ...]
    window_ends_s: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.prompts_s) != len(self.window_ends_s):
            raise InputError("a schedule needs one window end per prompt")
        if any(b <= a for a, b in zip(self.prompts_s, self.prompts_s[1:], strict=False)):
            raise InputError("prompts must be in increasing order")
        if any(e <= p or p < 0 for p, e in zip(self.prompts_s, self.window_ends_s, strict=True)):
            raise InputError("each window must end after its prompt")

    def min_capture_s(self, tail_s: float) -> float:
        """The shortest recording this schedule needs: its last window's end plus ``tail_s`` (the
        page records :attr:`~realname.policy.PromptPolicy.capture_s`, which is at least this)."""
        return round(max(self.window_ends_s, default=0.0) + tail_s, 3)


@dataclass(frozen=True, slots=True)
class Challenge:
    steps: tuple[Action, ...]
    schedule: Schedule | None = None  # None: judged by the order-only rule (evaluation)

    def __post_init__(self) -> None:
        if self.schedule is not None and len(self.schedule.prompts_s) != len(self.steps):
            raise InputError("a schedule needs one prompt per step")

    def __str__(self) -> str:
        if self.schedule is None:
            return ",".join(self.steps)
        return ",".join(
            f"{a}@{p:.2f}-{e:.2f}"
            for a, p, e in zip(
                self.steps, self.schedule.prompts_s, self.schedule.window_ends_s, strict=True
            )
        )


class StepReason:
    """Why a step was not seen (:attr:`StepResult.reason`; None for a step seen in time).

    ``measured`` and ``needed`` (:attr:`StepResult.measured`, :attr:`StepResult.needed`, in
    :attr:`StepResult.unit`) say by how much:

    * ``STEP_NOT_SEEN``: no movement of the action at all (under half its threshold).
    * ``STEP_TOO_SMALL``: the action was begun but stayed under its threshold: its peak from
      the person's baseline, as :mod:`realname.liveness.actions` measures it (degrees for turns
      and nods, closure depth for blinks, mouth opening for the mouth), against the threshold.
    * ``STEP_TOO_EARLY``: seen, but begun before its prompt plus ``min_reaction_s``: the
      reaction (onset - prompt) against the minimum reaction (s).
    * ``STEP_TOO_LATE``: seen, begun in time but peaking after its window's end: the peak
      against the window's end (s from the recording's start).
    * ``STEP_AFTER_DEADLINE``: order-only rule: seen, but after the step deadline: its peak's
      delay after the previous step's peak (or the clip's start) against ``step_timeout_s``.
    * ``STEP_NOT_REACHED``: order-only rule: not judged, an earlier step was not seen.
    """

    NOT_SEEN = "STEP_NOT_SEEN"
    TOO_SMALL = "STEP_TOO_SMALL"
    TOO_EARLY = "STEP_TOO_EARLY"
    TOO_LATE = "STEP_TOO_LATE"
    AFTER_DEADLINE = "STEP_AFTER_DEADLINE"
    NOT_REACHED = "STEP_NOT_REACHED"


STEP_REASONS = (
    StepReason.NOT_SEEN,
    StepReason.TOO_SMALL,
    StepReason.TOO_EARLY,
    StepReason.TOO_LATE,
    StepReason.AFTER_DEADLINE,
    StepReason.NOT_REACHED,
)

#: The unit of ``measured`` and ``needed`` of a movement (STEP_TOO_SMALL) by action.
MOVEMENT_UNITS: dict[str, str] = {
    "blink": "ratio",
    "turn_left": "deg",
    "turn_right": "deg",
    "nod": "deg",
    "open_mouth": "mar",
}


def _amount(value: float, unit: str | None) -> str:
    if unit == "deg":
        return f"{value:.1f} deg"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step as judged. Without a schedule ``prompt_s``, ``window_end_s`` and ``reaction_s``
    are None (there was no prompt); without a matching event every event field is None, and
    ``reason`` says why (:class:`StepReason`), with ``measured`` against ``needed`` (in
    ``unit``: ``deg``, ``ratio``, ``mar`` or ``s``) and, for a movement that was seen but not
    counted, when it peaked (``observed_at_s``)."""

    action: Action
    seen_at_s: float | None  # the event's peak; None: the step was not seen
    event: ActionEvent | None
    prompt_s: float | None = None
    window_end_s: float | None = None
    onset_s: float | None = None  # the event's start
    peak_s: float | None = None
    reaction_s: float | None = None  # onset - prompt
    reason: str | None = None  # a StepReason code when not seen
    measured: float | None = None
    needed: float | None = None
    unit: str | None = None
    observed_at_s: float | None = None  # the peak of the movement not counted

    def why(self) -> str:
        """Why the step was not seen, in words ("" for a step seen)."""
        m, n, u = self.measured, self.needed, self.unit
        at = f" at {self.observed_at_s:.2f} s" if self.observed_at_s is not None else ""
        if self.reason == StepReason.TOO_SMALL and m is not None and n is not None:
            return f"too small: peaked {_amount(m, u)}{at}, needs {_amount(n, u)}"
        if self.reason == StepReason.TOO_EARLY and m is not None and n is not None:
            return (
                f"begun too early: {m:.2f} s after its prompt, needs at least {n:.2f} s "
                f"(peaked{at})"
            )
        if self.reason == StepReason.TOO_LATE and m is not None and n is not None:
            return f"too late: peaked {m:.2f} s, after its window's end at {n:.2f} s"
        if self.reason == StepReason.AFTER_DEADLINE and m is not None and n is not None:
            return (
                f"after the step deadline: peaked{at}, {m:.2f} s after the previous step "
                f"(or the clip's start), deadline {n:.2f} s"
            )
        if self.reason == StepReason.NOT_REACHED:
            return "not judged: an earlier step was not seen"
        if self.reason is None:
            return ""
        return f"no {self.action} movement"

    def explain(self) -> str:
        """One line: the prompt and its window (scheduled rule), when the action began and
        peaked, and the reaction time; or that the step was not seen, and why."""
        timing = (
            f"prompt {self.prompt_s:.2f} s, window to {self.window_end_s:.2f} s"
            if self.prompt_s is not None and self.window_end_s is not None
            else "no prompt schedule"
        )
        if self.event is None or self.onset_s is None or self.peak_s is None:
            why = self.why()
            detail = f" ({self.reason}: {why})" if self.reason is not None else ""
            return f"{self.action}: {timing}; not seen{detail}"
        reaction = f" (reaction {self.reaction_s:.2f} s)" if self.reaction_s is not None else ""
        return (
            f"{self.action}: {timing}; began {self.onset_s:.2f} s{reaction}, "
            f"peaked {self.peak_s:.2f} s"
        )


@dataclass(frozen=True, slots=True)
class ChallengeMatch:
    """The steps of a challenge as judged, and the events no step prompted (``unprompted``,
    always empty under the order-only rule). ``rule``: ``"scheduled"`` or ``"order"``."""

    steps: tuple[StepResult, ...]
    unprompted: tuple[ActionEvent, ...]
    rule: str

    @property
    def complete(self) -> bool:
        return all(s.seen_at_s is not None for s in self.steps)


def _centis(generator: Random, bounds: tuple[float, float]) -> int:
    lo, hi = round(bounds[0] * 100), round(bounds[1] * 100)
    return lo + generator.randrange(hi - lo + 1)


def draw_schedule(steps: int, prompts: PromptPolicy, rng: Random | None = None) -> Schedule:
    """Prompt offsets within the policy's bounds, uniform on a 10 ms grid (``rng`` defaults to
    the operating system's CSPRNG), and window ends ``window_s`` after each."""
    generator = rng if rng is not None else secrets.SystemRandom()
    at = _centis(generator, prompts.first_prompt_s)
    offsets = [at]
    for _ in range(steps - 1):
        at += _centis(generator, prompts.gap_s)
        offsets.append(at)
    return _schedule(offsets, prompts)


def _schedule(offsets_cs: Sequence[int], prompts: PromptPolicy) -> Schedule:
    window = round(prompts.window_s * 100)
    return Schedule(
        tuple(o / 100 for o in offsets_cs), tuple((o + window) / 100 for o in offsets_cs)
    )


def fixed_schedule(steps: int, prompts: PromptPolicy) -> Schedule:
    """The dev-mode fixed challenge's schedule, a function of the step count only: the first
    prompt at the earliest offset, then the middle of the gap bounds (with the shipped policy
    1.0 s, then every 2.5 s, as the capture page timed prompts before schedules), so recorded
    clips replay in tests."""
    first = round(prompts.first_prompt_s[0] * 100)
    gap = round((prompts.gap_s[0] + prompts.gap_s[1]) / 2 * 100)
    return _schedule([first + i * gap for i in range(steps)], prompts)


def issue_challenge(
    rng: Random | None = None,
    length: int | None = None,
    actions: Sequence[Action] = ACTIONS,
    prompts: PromptPolicy | None = None,
) -> Challenge:
    """A random sequence of actions: no immediate repeat, at least one blink and one turn.
    ``rng`` defaults to the operating system's cryptographic generator. With ``prompts`` the
    challenge carries a :class:`Schedule` drawn from it, and ``length`` defaults to a step count
    drawn from ``prompts.steps``; without, it has no schedule (order-only rule) and 3 steps."""
    generator = rng if rng is not None else secrets.SystemRandom()
    if length is None:
        length = generator.choice(prompts.steps) if prompts is not None else 3
    if length < MIN_CHALLENGE_STEPS:
        raise InputError("a challenge needs at least 2 steps (one blink and one turn)")
    pool = [a for a in actions if a in ACTIONS]
    while True:
        steps: list[Action] = []
        for _ in range(length):
            options = [a for a in pool if not steps or a != steps[-1]]
            steps.append(generator.choice(options))
        if "blink" in steps and any(s in TURNS for s in steps):
            break
    schedule = draw_schedule(length, prompts, generator) if prompts is not None else None
    return Challenge(tuple(steps), schedule)


def _parse_step(text: str) -> tuple[str, tuple[float, float] | None]:
    action, at, timing = text.partition("@")
    if not at:
        return action.strip(), None
    prompt, dash, end = timing.partition("-")
    try:
        if not dash:
            raise ValueError
        return action.strip(), (round(float(prompt), 2), round(float(end), 2))
    except ValueError:
        raise InputError(f"challenge step {text!r} is not action@prompt-window_end") from None


def parse_challenge(text: str) -> Challenge:
    """``"blink,turn_left"`` -> a challenge without schedule; ``"blink@1.00-3.20,..."`` -> with
    one (every step timed, or none). Unknown actions and malformed timings are input errors."""
    parsed = [_parse_step(s) for s in text.split(",") if s.strip()]
    steps = tuple(a for a, _ in parsed)
    unknown = [s for s in steps if s not in ACTIONS]
    if unknown:
        raise InputError(f"unknown challenge actions {unknown}; known: {', '.join(ACTIONS)}")
    timings = [t for _, t in parsed if t is not None]
    if not timings:
        return Challenge(steps)  # type: ignore[arg-type]
    if len(timings) != len(parsed):
        raise InputError("either every challenge step has a prompt time or none")
    try:
        schedule = Schedule(tuple(p for p, _ in timings), tuple(e for _, e in timings))
    except InputError as exc:
        raise InputError(f"challenge schedule: {exc.detail}") from None
    return Challenge(steps, schedule)  # type: ignore[arg-type]


def _seen(action: Action, event: ActionEvent) -> StepResult:
    return StepResult(
        action, round(event.peak_s, 3), event, onset_s=event.start_s, peak_s=event.peak_s
    )


def match_steps(
    challenge: Challenge, events: Sequence[ActionEvent], *, step_timeout_s: float
) -> tuple[StepResult, ...]:
    """The order-only rule, for evaluation of recordings made without prompts (any schedule of
    ``challenge`` is ignored). Each step matched to the first event of its action after the
    previous step's peak, within ``step_timeout_s`` of it (of the clip start for the first
    step). Other events in between are tolerated (natural blinks); a step not seen leaves every
    later step unseen. Not a defence against a replayed recording: see the module docstring."""
    results: list[StepResult] = []
    last = 0.0
    missing = False
    for action in challenge.steps:
        event = None
        if not missing:
            event = next(
                (
                    e
                    for e in events
                    if e.action == action and e.peak_s > last and e.peak_s - last <= step_timeout_s
                ),
                None,
            )
        if event is None:
            results.append(_missed_in_order(action, events, last, step_timeout_s, missing))
            missing = True
            continue
        results.append(_seen(action, event))
        last = event.peak_s
    return tuple(results)


def _missed_in_order(
    action: Action,
    events: Sequence[ActionEvent],
    last: float,
    step_timeout_s: float,
    after_missed: bool,
) -> StepResult:
    """A step the order-only rule did not see, with its reason: not reached (an earlier step
    was missed), after the step deadline (its action came later than ``step_timeout_s``), or
    not seen."""
    if after_missed:
        return StepResult(action, None, None, reason=StepReason.NOT_REACHED)
    late = next((e for e in events if e.action == action and e.peak_s > last), None)
    if late is not None:
        return StepResult(
            action,
            None,
            None,
            reason=StepReason.AFTER_DEADLINE,
            measured=round(late.peak_s - last, 3),
            needed=step_timeout_s,
            unit="s",
            observed_at_s=round(late.peak_s, 3),
        )
    return StepResult(action, None, None, reason=StepReason.NOT_SEEN)


def _missed_in_window(
    action: Action,
    events: Sequence[ActionEvent],
    used: set[int],
    prompt: float,
    end: float,
    prompts: PromptPolicy,
) -> StepResult:
    """A scheduled step not seen, with its reason: its action begun before the prompt plus the
    minimum reaction and peaking in the window (too early), begun in time but peaking after
    the window (too late), or not seen (:func:`realname.liveness.check` then tells a movement
    too small from none)."""
    own = [e for i, e in enumerate(events) if i not in used and e.action == action]
    earliest = prompt + prompts.min_reaction_s - 1e-9
    early = next((e for e in own if e.start_s < earliest and prompt <= e.peak_s <= end), None)
    base = StepResult(action, None, None, prompt_s=prompt, window_end_s=end)
    if early is not None:
        return dataclasses.replace(
            base,
            reason=StepReason.TOO_EARLY,
            measured=round(early.start_s - prompt, 3),
            needed=prompts.min_reaction_s,
            unit="s",
            observed_at_s=round(early.peak_s, 3),
        )
    late = next((e for e in own if earliest <= e.start_s <= end < e.peak_s), None)
    if late is not None:
        return dataclasses.replace(
            base,
            reason=StepReason.TOO_LATE,
            measured=round(late.peak_s, 3),
            needed=end,
            unit="s",
            observed_at_s=round(late.peak_s, 3),
        )
    return dataclasses.replace(base, reason=StepReason.NOT_SEEN)


def match_scheduled(
    challenge: Challenge, events: Sequence[ActionEvent], prompts: PromptPolicy
) -> ChallengeMatch:
    """The prompt-locked rule (see the module docstring). Step *i* is the earliest-peaking event
    of its action that begins at or after ``prompt_i + prompts.min_reaction_s`` and peaks by
    ``window_end_i`` (no event serves two steps). An event of an action not in
    ``prompts.tolerated`` whose peak lies in no window ``[prompt, window end]`` of a step of the
    same action is unprompted."""
    schedule = challenge.schedule
    if schedule is None:
        raise InputError("match_scheduled needs a challenge with a schedule")
    used: set[int] = set()
    results: list[StepResult] = []
    for action, prompt, end in zip(
        challenge.steps, schedule.prompts_s, schedule.window_ends_s, strict=True
    ):
        earliest = prompt + prompts.min_reaction_s - 1e-9
        found = next(
            (
                i
                for i, e in sorted(enumerate(events), key=lambda ie: ie[1].peak_s)
                if i not in used
                and e.action == action
                and e.start_s >= earliest
                and e.peak_s <= end + 1e-9
            ),
            None,
        )
        if found is None:
            results.append(_missed_in_window(action, events, used, prompt, end, prompts))
            continue
        used.add(found)
        event = events[found]
        results.append(
            StepResult(
                action,
                round(event.peak_s, 3),
                event,
                prompt_s=prompt,
                window_end_s=end,
                onset_s=event.start_s,
                peak_s=event.peak_s,
                reaction_s=round(event.start_s - prompt, 3),
            )
        )
    windows = list(zip(challenge.steps, schedule.prompts_s, schedule.window_ends_s, strict=True))
    unprompted = tuple(
        e
        for e in events
        if e.action not in prompts.tolerated
        and not any(a == e.action and p <= e.peak_s <= w for a, p, w in windows)
    )
    return ChallengeMatch(tuple(results), unprompted, "scheduled")
