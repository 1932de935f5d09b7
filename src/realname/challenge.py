"""Random challenges and checking that a clip performs them, in order, in time."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from realname.actions import ACTIONS, Action, ActionEvent
from realname.errors import InputError

__all__ = ["Challenge", "StepResult", "issue_challenge", "match_steps", "parse_challenge"]

TURNS: tuple[Action, ...] = ("turn_left", "turn_right")


@dataclass(frozen=True, slots=True)
class Challenge:
    steps: tuple[Action, ...]

    def __str__(self) -> str:
        return ",".join(self.steps)


@dataclass(frozen=True, slots=True)
class StepResult:
    action: Action
    seen_at_s: float | None  # None: the step was not seen (in order, in time)
    event: ActionEvent | None


def issue_challenge(
    rng: Random | None = None, length: int = 3, actions: Sequence[Action] = ACTIONS
) -> Challenge:
    """A random sequence of ``length`` actions: no immediate repeat, at least one blink and one
    turn. ``rng`` defaults to the operating system's cryptographic generator."""
    if length < 2:
        raise InputError("a challenge needs at least 2 steps (one blink and one turn)")
    generator = rng if rng is not None else secrets.SystemRandom()
    pool = [a for a in actions if a in ACTIONS]
    while True:
        steps: list[Action] = []
        for _ in range(length):
            options = [a for a in pool if not steps or a != steps[-1]]
            steps.append(generator.choice(options))
        if "blink" in steps and any(s in TURNS for s in steps):
            return Challenge(tuple(steps))


def parse_challenge(text: str) -> Challenge:
    """``"blink,turn_left"`` -> Challenge; unknown actions are an input error."""
    steps = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in steps if s not in ACTIONS]
    if unknown:
        raise InputError(f"unknown challenge actions {unknown}; known: {', '.join(ACTIONS)}")
    return Challenge(steps)  # type: ignore[arg-type]


def match_steps(
    challenge: Challenge, events: Sequence[ActionEvent], *, step_timeout_s: float
) -> tuple[StepResult, ...]:
    """Each step matched to the first event of its action after the previous step's peak, within
    ``step_timeout_s`` of it (of the clip start for the first step). Other events in between are
    tolerated (natural blinks); a step not seen leaves every later step unseen."""
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
        results.append(StepResult(action, round(event.peak_s, 3), event))
        last = event.peak_s
    return tuple(results)
