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

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from realname.errors import InputError
from realname.liveness.actions import ActionEvent
from realname.policy import ACTIONS, MIN_CHALLENGE_STEPS, Action, PromptPolicy

__all__ = [
    "Challenge",
    "ChallengeMatch",
    "Schedule",
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


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step as judged. Without a schedule ``prompt_s``, ``window_end_s`` and ``reaction_s``
    are None (there was no prompt); without a matching event every event field is None."""

    action: Action
    seen_at_s: float | None  # the event's peak; None: the step was not seen
    event: ActionEvent | None
    prompt_s: float | None = None
    window_end_s: float | None = None
    onset_s: float | None = None  # the event's start
    peak_s: float | None = None
    reaction_s: float | None = None  # onset - prompt

    def explain(self) -> str:
        """One line: the prompt and its window (scheduled rule), when the action began and
        peaked, and the reaction time; or that the step was not seen."""
        timing = (
            f"prompt {self.prompt_s:.2f} s, window to {self.window_end_s:.2f} s"
            if self.prompt_s is not None and self.window_end_s is not None
            else "no prompt schedule"
        )
        if self.event is None or self.onset_s is None or self.peak_s is None:
            return f"{self.action}: {timing}; not seen"
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
            missing = True
            results.append(StepResult(action, None, None))
            continue
        results.append(_seen(action, event))
        last = event.peak_s
    return tuple(results)


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
            results.append(StepResult(action, None, None, prompt_s=prompt, window_end_s=end))
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
