"""Active liveness from a short clip: the random challenge, passive checks, one person throughout.

:func:`check_liveness` re-judges everything from the frames themselves (never a client's
verdict): per-frame signals, action events against the person's own baseline, the challenge steps
in order and in time (a challenge with a prompt schedule: each action after its prompt and in its
window, and no other action unprompted; see :mod:`realname.liveness.challenge`), and passive checks
(3-D
structure during turns, screen borders, temporal sanity, the same face in every step). A spoof
is a result with reason codes, not an exception.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from realname.engines import Engines
from realname.engines.base import Face
from realname.engines.sface import l2_normalise
from realname.errors import PolicyError
from realname.face.detect import alignment_view
from realname.liveness.actions import ActionEvent, Baseline, detect_actions, movement_of
from realname.liveness.challenge import (
    MOVEMENT_UNITS,
    Challenge,
    StepReason,
    StepResult,
    match_scheduled,
    match_steps,
)
from realname.liveness.passive import (
    Check,
    banding,
    colour_spread,
    glare,
    moire,
    screen_border,
    temporal_sanity,
    three_d_structure,
)
from realname.liveness.signals import FrameSignals, SignalTrack, extract_signals
from realname.media.video import Clip, check_deadline
from realname.policy import LivenessPolicy, MatchPolicy

__all__ = ["LivenessReason", "LivenessReport", "check_liveness", "pick_best_frames"]

Image = npt.NDArray[np.uint8]
_MIN_FACES_COMPARED = 2  # the same person needs two faces to compare


class LivenessReason:
    """Stable reason codes of a failed liveness check."""

    FACE_NOT_SEEN = "FACE_NOT_SEEN"
    CHALLENGE_INCOMPLETE = "CHALLENGE_INCOMPLETE"
    UNPROMPTED_ACTION = "UNPROMPTED_ACTION"  # only for a challenge with a prompt schedule
    FACE_CHANGED = "FACE_CHANGED"
    FLAT_FACE = "FLAT_FACE"
    SCREEN_BORDER = "SCREEN_BORDER"
    GLARE = "GLARE"
    MOIRE = "MOIRE"
    COLOUR_CAST = "COLOUR_CAST"
    BANDING = "BANDING"
    TEMPORAL_ANOMALY = "TEMPORAL_ANOMALY"


_CHECK_REASONS = {
    "three_d_structure": LivenessReason.FLAT_FACE,
    "screen_border": LivenessReason.SCREEN_BORDER,
    "glare": LivenessReason.GLARE,
    "moire": LivenessReason.MOIRE,
    "colour": LivenessReason.COLOUR_CAST,
    "banding": LivenessReason.BANDING,
    "temporal": LivenessReason.TEMPORAL_ANOMALY,
    "same_person": LivenessReason.FACE_CHANGED,
    "face_presence": LivenessReason.FACE_NOT_SEEN,
}


@dataclass(frozen=True, slots=True, eq=False)
class LivenessReport:
    passed: bool
    reasons: tuple[str, ...]
    challenge: tuple[str, ...]
    steps: tuple[StepResult, ...]
    actions: tuple[ActionEvent, ...]
    unprompted: tuple[ActionEvent, ...]  # actions outside their windows (scheduled rule only)
    checks: dict[str, Check]
    baseline: Baseline
    best_frames: tuple[int, ...]  # indices of the analysed frames best for matching
    frames_analysed: int
    duration_s: float
    policy_version: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    track: SignalTrack | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "challenge": list(self.challenge),
            "steps": [
                {
                    "action": s.action,
                    "seen_at_s": s.seen_at_s,
                    "prompt_s": s.prompt_s,
                    "window_end_s": s.window_end_s,
                    "onset_s": s.onset_s,
                    "peak_s": s.peak_s,
                    "reaction_s": s.reaction_s,
                    "reason": s.reason,
                    "measured": s.measured,
                    "needed": s.needed,
                    "unit": s.unit,
                    "observed_at_s": s.observed_at_s,
                }
                for s in self.steps
            ],
            "actions": [
                {"action": a.action, "start_s": a.start_s, "end_s": a.end_s, "peak_s": a.peak_s}
                for a in self.actions
            ],
            "unprompted": [
                {"action": a.action, "start_s": a.start_s, "end_s": a.end_s, "peak_s": a.peak_s}
                for a in self.unprompted
            ],
            "checks": {
                name: {
                    "score": None if not np.isfinite(c.score) else c.score,
                    "threshold": c.threshold,
                    "passed": c.passed,
                    "applicable": c.applicable,
                    "detail": c.detail,
                }
                for name, c in self.checks.items()
            },
            "baseline": asdict(self.baseline),
            "best_frames": list(self.best_frames),
            "frames_analysed": self.frames_analysed,
            "duration_s": self.duration_s,
            "policy_version": self.policy_version,
            "timings_ms": self.timings_ms,
        }


def pick_best_frames(track: SignalTrack, base: Baseline, count: int = 3) -> tuple[int, ...]:
    """Frontal, open-eyed, sharp frames, spread over the clip."""
    scored: list[tuple[float, int]] = []
    for f in track.frames:
        if not f.face_found:
            continue
        off = abs(f.yaw - base.yaw) + abs(f.pitch - base.pitch)
        eyes = min(1.0, f.ear / base.ear) if base.ear > 0 else 0.0
        scored.append((-off / 10.0 + 2.0 * eyes + min(1.0, f.sharpness / 200.0), f.index))
    scored.sort(reverse=True)
    chosen: list[int] = []
    min_gap = max(1, len(track.frames) // (3 * count))
    for _, index in scored:
        if all(abs(index - c) >= min_gap for c in chosen):
            chosen.append(index)
        if len(chosen) == count:
            break
    return tuple(sorted(chosen))


def _same_person(
    frames: Sequence[Image],
    track: SignalTrack,
    indices: Sequence[int],
    best_count: int,
    engines: Engines,
    match_policy: MatchPolicy,
    fmr: str,
) -> Check:
    """Every frame around the challenge steps must match the template of the best frames.

    ``indices``: the best frames first, then the frames at the start and the end of each step's
    event (less turned than its peak, so that pose does not pass for a change of person)."""
    threshold = match_policy.operating_point(engines.embedder.name, fmr).threshold
    picked: list[tuple[int, Face]] = [
        (f.index, f.face)
        for f in (track.frames[i] for i in dict.fromkeys(indices))
        if f.face is not None
    ]
    if len(picked) < _MIN_FACES_COMPARED or best_count < 1:
        return Check("same_person", float("nan"), threshold, True, False, "fewer than 2 faces")
    crops = [
        engines.embedder.align(*alignment_view(frames[index], face, match_policy.search))
        for index, face in picked
    ]
    vectors = l2_normalise(engines.embedder.embed(crops))
    reference = l2_normalise(vectors[:best_count].mean(axis=0, keepdims=True))[0]
    worst = float((vectors @ reference).min())
    return Check(
        "same_person",
        round(worst, 4),
        threshold,
        bool(worst >= threshold),
        True,
        f"lowest similarity of {len(picked)} frames (best frames, start and end of every step) "
        f"to the best frames' template; threshold: the FMR {fmr} operating point",
    )


#: The order of the checks in a report (the order they were written in before they ran in
#: threads; reasons follow it).
_CHECK_ORDER = (
    "three_d_structure",
    "screen_border",
    "glare",
    "moire",
    "colour",
    "banding",
    "temporal",
    "same_person",
)


def _frame_at(track: SignalTrack, t: float) -> FrameSignals | None:
    faces = [f for f in track.frames if f.face_found]
    return min(faces, key=lambda f: abs(f.t - t), default=None)


def _match_challenge(
    challenge: Challenge,
    events: tuple[ActionEvent, ...],
    policy: LivenessPolicy,
    step_timeout_s: float | None,
) -> tuple[tuple[StepResult, ...], tuple[ActionEvent, ...]]:
    """The steps as judged and the unprompted actions: the prompt-locked rule for a challenge
    with a schedule, else the order-only rule (no unprompted actions)."""
    if challenge.schedule is not None:
        matched = match_scheduled(challenge, events, policy.prompts)
        return matched.steps, matched.unprompted
    timeout = step_timeout_s or policy.step_timeout_s
    return match_steps(challenge, events, step_timeout_s=timeout), ()


def _too_small(
    steps: tuple[StepResult, ...],
    track: SignalTrack,
    base: Baseline,
    policy: LivenessPolicy,
    step_timeout_s: float | None,
) -> tuple[StepResult, ...]:
    """Tell a step begun but too small (``STEP_TOO_SMALL``) from one not seen at all: the peak
    of the action's movement (:func:`~realname.liveness.actions.movement_of`) within the step's
    window (the prompt to the window's end; under the order-only rule, the previous step's peak
    to the step deadline) at or above its onset level but under its threshold."""
    if not np.isfinite(base.yaw):
        return steps
    timeout = step_timeout_s or policy.step_timeout_s
    times = track.times
    out: list[StepResult] = []
    last = 0.0
    for step in steps:
        if step.seen_at_s is not None:
            last = step.seen_at_s
        if step.reason != StepReason.NOT_SEEN:
            out.append(step)
            continue
        if step.prompt_s is not None and step.window_end_s is not None:
            lo, hi = step.prompt_s, step.window_end_s
        else:
            lo, hi = last, last + timeout
        move = movement_of(track, base, step.action, policy.actions)
        inside = (times >= lo) & (times <= hi) & np.isfinite(move.values)
        if not inside.any():
            out.append(step)
            continue
        at = int(np.flatnonzero(inside)[np.argmax(move.values[inside])])
        peak = float(move.values[at])
        if move.onset <= peak < move.threshold:
            step = dataclasses.replace(
                step,
                reason=StepReason.TOO_SMALL,
                measured=round(peak, 3),
                needed=move.threshold,
                unit=MOVEMENT_UNITS[step.action],
                observed_at_s=round(float(times[at]), 3),
            )
        out.append(step)
    return tuple(out)


def _passive_checks(
    frames: Sequence[Image],
    track: SignalTrack,
    base: Baseline,
    best: tuple[int, ...],
    steps: tuple[StepResult, ...],
    engines: Engines,
    policy: MatchPolicy,
    live: LivenessPolicy,
) -> dict[str, Check]:
    """Every check but face presence, in :data:`_CHECK_ORDER`, run in two threads."""
    step_frames = [
        f.index
        for s in steps
        if s.event is not None
        for t in (s.event.start_s, s.event.end_s)
        if (f := _frame_at(track, t)) is not None
    ]
    passive = live.passive
    tasks: dict[str, Callable[[], Check]] = {
        # the slowest first, so that two threads end together
        "same_person": lambda: _same_person(
            frames, track, [*best, *step_frames], len(best), engines, policy, live.same_person_fmr
        ),
        "screen_border": lambda: screen_border(frames, track, passive),
        "three_d_structure": lambda: three_d_structure(track, base.yaw, passive),
        "glare": lambda: glare(frames, track, passive),
        "moire": lambda: moire(frames, track, passive),
        "colour": lambda: colour_spread(frames, track, passive),
        "banding": lambda: banding(frames, track, passive),
        "temporal": lambda: temporal_sanity(frames, track, passive),
    }
    # The checks are independent and spend their time in OpenCV and NumPy, which release the
    # GIL: two threads, as the signals use.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        done = {name: future.result() for name, future in futures.items()}
    return {name: done[name] for name in _CHECK_ORDER}


def _face_presence(track: SignalTrack, live: LivenessPolicy) -> Check:
    fraction = track.face_fraction
    return Check(
        "face_presence",
        round(fraction, 4),
        live.min_face_fraction,
        fraction >= live.min_face_fraction,
        True,
        "share of analysed frames with a face",
    )


def _reasons(
    checks: dict[str, Check], steps: tuple[StepResult, ...], unprompted: tuple[ActionEvent, ...]
) -> list[str]:
    reasons: list[str] = []
    if not checks["face_presence"].passed:
        reasons.append(LivenessReason.FACE_NOT_SEEN)
    if any(s.seen_at_s is None for s in steps):
        reasons.append(LivenessReason.CHALLENGE_INCOMPLETE)
    if unprompted:
        reasons.append(LivenessReason.UNPROMPTED_ACTION)
    for name, check in checks.items():
        code = _CHECK_REASONS[name]
        if not check.passed and code not in reasons:
            reasons.append(code)
    return reasons


def _judge_steps(
    track: SignalTrack,
    challenge: Challenge,
    live: LivenessPolicy,
    step_timeout_s: float | None,
) -> tuple[tuple[ActionEvent, ...], Baseline, tuple[StepResult, ...], tuple[ActionEvent, ...]]:
    """The actions seen, the neutral baseline, each step's result (with why a missed step was
    missed) and the challenge actions seen outside their windows."""
    events, base = detect_actions(track, live.actions)
    steps, unprompted = _match_challenge(challenge, events, live, step_timeout_s)
    return events, base, _too_small(steps, track, base, live, step_timeout_s), unprompted


def blink_spans(
    challenge: Challenge, live: LivenessPolicy
) -> tuple[tuple[float, float], ...] | None:
    """Where a blink is judged, in seconds from the recording's start: where the eye model
    must measure eye openness (:func:`~realname.liveness.signals.extract_signals`).

    None (every frame) when the challenge has no schedule and asks for a blink, or when an
    unprompted blink would fail the capture (blinks not in ``prompts.tolerated``); no span when
    it asks for none. Otherwise each blink step's window ``[prompt, window end]``, widened by
    the longest blink (``blink_max_s``: an event that peaks in the window may begin that much
    before it, and one begun in it may peak that much after) and by half the open-eye baseline
    window on each side (``baseline_window_s``: the level each frame's closure is measured
    against). Outside them only a blink can differ (blinks are tolerated there), and the
    landmarker's own eye points serve the rest (the best frames' open eyes)."""
    schedule = challenge.schedule
    actions = live.actions
    if "blink" not in challenge.steps:
        return () if "blink" in live.prompts.tolerated else None
    if schedule is None or "blink" not in live.prompts.tolerated:
        return None
    margin = actions.blink_max_s + actions.baseline_window_s / 2
    return tuple(
        (max(0.0, prompt - margin), end + margin)
        for action, prompt, end in zip(
            challenge.steps, schedule.prompts_s, schedule.window_ends_s, strict=True
        )
        if action == "blink"
    )


def check_liveness(
    clip: Clip,
    challenge: Challenge,
    engines: Engines,
    policy: MatchPolicy,
    *,
    step_timeout_s: float | None = None,
    deadline: float | None = None,
) -> LivenessReport:
    """Judge a clip against a challenge under ``policy.liveness`` (and ``policy``'s face search
    and operating points for the same-person check); see the module docstring. ``deadline`` (a
    :func:`time.monotonic` instant) is checked between frames and between checks:
    :class:`~realname.errors.CaptureTimeoutError` once it passes. A challenge with a schedule is
    judged by the prompt-locked rule (``policy.liveness.prompts``; ``step_timeout_s`` does not
    apply); one without, by the order-only rule, meant for recordings made without prompts.
    :class:`~realname.errors.PolicyError` when the policy has no liveness section."""
    live = policy.liveness
    if live is None:
        raise PolicyError(f"policy {policy.version} has no liveness section")
    start = time.perf_counter()
    frames = clip.frames
    track = extract_signals(
        frames,
        clip.timestamps_s,
        engines,
        policy.search,
        detect_every=live.detect_every,
        deadline=deadline,
        eye_spans=blink_spans(challenge, live),
    )
    check_deadline(deadline, "checking liveness")
    t_signals = time.perf_counter()
    events, base, steps, unprompted = _judge_steps(track, challenge, live, step_timeout_s)
    checks = {"face_presence": _face_presence(track, live)}
    best = pick_best_frames(track, base) if track.face_fraction > 0 else ()
    if track.face_fraction > 0:
        checks |= _passive_checks(frames, track, base, best, steps, engines, policy, live)
        check_deadline(deadline, "checking liveness")
    t_checks = time.perf_counter()
    reasons = _reasons(checks, steps, unprompted)
    return LivenessReport(
        passed=not reasons,
        reasons=tuple(reasons),
        challenge=challenge.steps,
        steps=steps,
        actions=events,
        unprompted=unprompted,
        checks=checks,
        baseline=base,
        best_frames=best,
        frames_analysed=len(frames),
        duration_s=round(clip.duration_s, 3),
        policy_version=policy.version,
        timings_ms={
            "signals": round((t_signals - start) * 1000, 1),
            "checks": round((t_checks - t_signals) * 1000, 1),
            "total": round((t_checks - start) * 1000, 1),
        },
        track=track,
    )
