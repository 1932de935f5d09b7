"""Challenge actions as timed events, adapted to the person's own baseline.

Every threshold is relative to the clip's own baseline, so that glasses, narrow eyes, a small
head or a camera that looks slightly down do not need their own settings:

* ``blink``: the mean eye openness (EAR) drops below ``blink_close_ratio`` of the *local* open-eye
  level (rolling median over ``baseline_window_s``) and comes back above ``blink_reopen_ratio``
  within ``blink_max_s``, while the head does not pitch (a look down also narrows the eyes).
* ``turn_left`` / ``turn_right``: the person's own left or right. Yaw (from solvePnP, positive
  when the nose moves toward the image's right edge in a non-mirrored clip) departs from the
  clip's median yaw by at least ``turn_deg``.
* ``nod``: pitch departs downward from the median by at least ``nod_deg``.
* ``open_mouth``: the mouth opening (MAR) reaches ``mouth_open_mar`` above its median for at
  least ``mouth_min_s``.

Each event has a start, an end and a peak (the moment the step is judged to have happened).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from realname.liveness.signals import SignalTrack
from realname.policy import ACTIONS, Action, ActionPolicy

__all__ = [
    "ACTIONS",
    "Action",
    "ActionEvent",
    "Baseline",
    "Movement",
    "detect_actions",
    "movement_of",
]

Series = npt.NDArray[np.float64]
# A movement held beyond its threshold for less than ``min_s`` still counts when at least this
# many frames are beyond it: the rule's shape (a single frame is not a movement), not a tuned
# number; the tuned durations are ActionPolicy's.
_MIN_FRAMES_BEYOND = 2


@dataclass(frozen=True, slots=True)
class ActionEvent:
    action: Action
    start_s: float
    end_s: float
    peak_s: float
    magnitude: float  # degrees for turns and nods, closure depth (1 - EAR ratio) for blinks, MAR


@dataclass(frozen=True, slots=True)
class Baseline:
    yaw: float
    pitch: float
    ear: float
    mar: float


def _segments(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Inclusive (start, end) index runs where ``mask`` is True."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, value in enumerate(mask):
        if value and start is None:
            start = i
        elif not value and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(mask) - 1))
    return runs


def _rolling_median(times: Series, values: Series, window_s: float) -> Series:
    out = np.full_like(values, np.nan)
    finite = np.isfinite(values)
    for i, t in enumerate(times):
        near = finite & (np.abs(times - t) <= window_s / 2)
        if near.any():
            out[i] = float(np.median(values[near]))
    return out


def baseline_of(track: SignalTrack) -> Baseline:
    """The person's resting pose and openness. Yaw and pitch: the median of the most frontal
    30% of frames (a person who keeps the head turned for most of the clip still turned it
    *from* the camera); EAR: the 75th percentile (eyes open); MAR: the median."""

    def med(name: str) -> float:
        values = track.series(name)
        values = values[np.isfinite(values)]
        return float(np.median(values)) if len(values) else float("nan")

    def frontal(name: str) -> float:
        values = track.series(name)
        values = values[np.isfinite(values)]
        if not len(values):
            return float("nan")
        keep = max(1, round(0.3 * len(values)))
        return float(np.median(values[np.argsort(np.abs(values))[:keep]]))

    ear = (track.series("ear_left") + track.series("ear_right")) / 2
    ear = ear[np.isfinite(ear)]
    return Baseline(
        yaw=frontal("yaw"),
        pitch=med("pitch"),
        ear=float(np.percentile(ear, 75)) if len(ear) else float("nan"),
        mar=med("mar"),
    )


def _blinks(track: SignalTrack, policy: ActionPolicy, base: Baseline) -> list[ActionEvent]:
    times = track.times
    ear = (track.series("ear_left") + track.series("ear_right")) / 2
    yaw = track.series("yaw") - base.yaw
    pitch = track.series("pitch")
    # The local open-eye level: the upper part of the EAR around each moment.
    open_level = _rolling_median(times, ear, policy.baseline_window_s)
    ratio = ear / open_level
    events: list[ActionEvent] = []
    for start, end in _segments(np.nan_to_num(ratio, nan=1.0) < policy.blink_reopen_ratio):
        window = ratio[start : end + 1]
        deepest = start + int(np.nanargmin(window))
        if ratio[deepest] >= policy.blink_close_ratio:
            continue
        if end == len(ratio) - 1 or not np.isfinite(ratio[end + 1]):
            continue  # the eyes must be seen to reopen
        if start > 0 and not np.isfinite(ratio[start - 1]):
            continue  # ... and to be open before, unless the clip starts mid-blink
        duration = times[end] - times[start]
        if duration > policy.blink_max_s:
            continue
        around = pitch[max(0, start - 1) : end + 2]
        if np.nanmax(around) - np.nanmin(around) > policy.blink_max_pitch_change_deg:
            continue
        if np.nanmax(np.abs(yaw[start : end + 1])) > policy.blink_max_abs_yaw_deg:
            continue
        events.append(
            ActionEvent(
                "blink",
                float(times[start]),
                float(times[end]),
                float(times[deepest]),
                round(float(1 - ratio[deepest]), 3),
            )
        )
    return events


def _excursions(
    action: Action,
    times: Series,
    deviation: Series,
    threshold: float,
    min_s: float,
) -> list[ActionEvent]:
    """Runs where ``deviation`` exceeds half the threshold and peaks beyond it."""
    events: list[ActionEvent] = []
    values = np.nan_to_num(deviation, nan=0.0)
    for start, end in _segments(values >= threshold / 2):
        window = values[start : end + 1]
        peak = start + int(np.argmax(window))
        if values[peak] < threshold:
            continue
        above = np.flatnonzero(window >= threshold)
        held = times[start + above[-1]] - times[start + above[0]]
        if held < min_s and len(above) < _MIN_FRAMES_BEYOND:
            continue
        events.append(
            ActionEvent(
                action,
                float(times[start]),
                float(times[end]),
                float(times[peak]),
                round(float(values[peak]), 2),
            )
        )
    return events


@dataclass(frozen=True, slots=True)
class Movement:
    """One action's movement over a clip, as :func:`detect_actions` measures it from the
    person's baseline: ``values`` per frame (NaN without a face), the ``threshold`` an event
    must reach, and ``onset``, the level where a movement is taken to begin (half the threshold
    for turns, nods and the mouth; the reopening level for blinks)."""

    values: Series
    threshold: float
    onset: float


def movement_of(
    track: SignalTrack, base: Baseline, action: Action, policy: ActionPolicy
) -> Movement:
    """The movement of ``action`` (see :class:`Movement`): yaw from the baseline (own left
    positive) for ``turn_left``, its opposite for ``turn_right``, pitch downward for ``nod``,
    the mouth opening above its median for ``open_mouth``, and for ``blink`` the closure depth
    ``1 - EAR / local open-eye level`` (the blink rule's ratio)."""
    if action == "blink":
        ear = (track.series("ear_left") + track.series("ear_right")) / 2
        ratio = ear / _rolling_median(track.times, ear, policy.baseline_window_s)
        return Movement(1 - ratio, 1 - policy.blink_close_ratio, 1 - policy.blink_reopen_ratio)
    if action in ("turn_left", "turn_right"):
        yaw = track.series("yaw") - base.yaw
        values = yaw if action == "turn_left" else -yaw
        return Movement(values, policy.turn_deg, policy.turn_deg / 2)
    if action == "nod":
        pitch = track.series("pitch") - base.pitch
        return Movement(-pitch, policy.nod_deg, policy.nod_deg / 2)
    mar = track.series("mar") - base.mar
    return Movement(mar, policy.mouth_open_mar, policy.mouth_open_mar / 2)


def detect_actions(
    track: SignalTrack, policy: ActionPolicy
) -> tuple[tuple[ActionEvent, ...], Baseline]:
    """Every action event in the clip, in time order, and the baseline they were measured from."""
    base = baseline_of(track)
    times = track.times
    if not np.isfinite(base.yaw):
        return (), base
    yaw = track.series("yaw") - base.yaw
    pitch = track.series("pitch") - base.pitch
    mar = track.series("mar") - base.mar
    events = _blinks(track, policy, base)
    events += _excursions("turn_left", times, yaw, policy.turn_deg, policy.turn_min_s)
    events += _excursions("turn_right", times, -yaw, policy.turn_deg, policy.turn_min_s)
    events += _excursions("nod", times, -pitch, policy.nod_deg, policy.turn_min_s)
    events += _excursions("open_mouth", times, mar, policy.mouth_open_mar, policy.mouth_min_s)
    events.sort(key=lambda e: (e.peak_s, e.action))
    return tuple(events), base
