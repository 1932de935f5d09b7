"""``realname eval liveness``: ISO/IEC 30107-3 style BPCER and APCER per attack type.

* Genuine: every live clip (or frame folder) in the label files, challenged with exactly the
  actions it shows, in the order it shows them (none: only the passive checks judge it).
* Screen replay: every spoof clip, challenged the same way (the worst case: the attacker replays
  exactly the right actions).
* Print attack: each printed photo of ``nuaa_imposter_raw/ImposterRaw`` and a sample of LFW
  images, synthesised as a 4 s, 15 fps clip of a flat card moved like a head turn
  (:mod:`realname.evaluation.print_attack`) over a NUAA live frame, challenged with a random
  3-step challenge (seeded).

Whole clips are read: the duration and size limits are raised, the step deadline is the clip's
duration, and the smallest short side is 200 px instead of 240 so that the 224x224 and 256x256
talking-head clips are read; the two folders of face crops (short side 79-167 px) are still
refused, as such an upload would be (the live one counts as a false rejection).
"""

from __future__ import annotations

import csv
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from realname.engines import Engines
from realname.errors import InputError
from realname.evaluation.print_attack import synthesise_print_attack
from realname.liveness.challenge import Challenge, issue_challenge, parse_challenge
from realname.liveness.check import check_liveness
from realname.media.image import load_image
from realname.media.video import Clip, VideoLimits, frames_clip, load_clip
from realname.policy import MatchPolicy

__all__ = ["LivenessEvaluation", "LivenessSample", "evaluate_liveness"]

Progress = Callable[[int, int], None]
EVAL_LIMITS = VideoLimits(
    max_bytes=200 * 1024 * 1024,
    max_duration_s=120.0,
    min_duration_s=0.3,
    min_fps=4.0,
    min_short_side=200,
    max_frames=10_000,
)


@dataclass(frozen=True, slots=True)
class LivenessSample:
    path: str
    label: str  # live or spoof
    attack_type: str  # "" for live
    challenge: tuple[str, ...]
    passed: bool
    reasons: tuple[str, ...]
    steps: tuple[tuple[str, float | None], ...]
    checks: dict[str, float | None]
    seconds: float
    step_errors_s: tuple[float, ...] = ()  # |seen - labelled| per step, where labels give times
    event_errors_s: tuple[
        float, ...
    ] = ()  # per labelled event: to the nearest detected same action

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "label": self.label,
            "attack_type": self.attack_type,
            "challenge": list(self.challenge),
            "passed": self.passed,
            "reasons": list(self.reasons),
            "steps": [{"action": a, "seen_at_s": t} for a, t in self.steps],
            "checks": self.checks,
            "seconds": round(self.seconds, 3),
            "step_errors_s": list(self.step_errors_s),
            "event_errors_s": list(self.event_errors_s),
        }


@dataclass(frozen=True, slots=True)
class LivenessEvaluation:
    bpcer: float
    apcer: dict[str, float]
    samples: list[LivenessSample]
    seconds: float

    def step_errors(self) -> list[float]:
        return [e for s in self.samples for e in s.step_errors_s]

    def event_errors(self) -> list[float]:
        return [e for s in self.samples for e in s.event_errors_s]

    def to_dict(self) -> dict[str, Any]:
        errors = self.step_errors()
        return {
            "bpcer": self.bpcer,
            "step_timing": {
                "steps_with_labelled_time": len(errors),
                "within_0_5_s": sum(e <= 0.5 for e in errors),
                "median_error_s": float(np.median(errors)) if errors else None,
                "max_error_s": max(errors) if errors else None,
                "labelled_events": len(self.event_errors()),
                "labelled_events_detected_within_0_5_s": sum(e <= 0.5 for e in self.event_errors()),
            },
            "apcer": self.apcer,
            "genuine": sum(s.label == "live" for s in self.samples),
            "attacks": {k: sum(s.attack_type == k for s in self.samples) for k in self.apcer},
            "seconds": round(self.seconds, 1),
            "samples": [s.to_dict() for s in self.samples],
        }


@dataclass(frozen=True, slots=True)
class _Item:
    path: Path
    label: str
    attack_type: str
    actions: str
    event_times: tuple[tuple[str, float], ...] = ()


_EVENT = re.compile(r"(blink|turn_left|turn_right|nod|open_mouth) (\d+(?:\.\d+)?)s")


def _event_times(note: str) -> tuple[tuple[str, float], ...]:
    """The labelled moments in ``order_note`` ("event times (...): turn_right 20.0s, ...")."""
    if "event times" not in note:
        return ()
    return tuple((m.group(1), float(m.group(2))) for m in _EVENT.finditer(note.split(":", 1)[-1]))


def _label_items(data_dir: Path) -> list[_Item]:
    items: list[_Item] = []
    files = [
        ("liveness_videos_github", "labels.csv"),
        ("grid_corpus_samples", "clips.csv"),
        ("face_videos", "index.csv"),
    ]
    for folder, name in files:
        path = data_dir / folder / name
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                label = row.get("label", "").strip()
                attack = row.get("attack_type", "").strip()
                if label == "spoof" and attack in ("", "screen_replay_of_real_video"):
                    attack = "screen_replay"
                if label == "spoof" and "replay" in attack:
                    attack = "screen_replay"
                items.append(
                    _Item(
                        data_dir / folder / row["path"],
                        label,
                        attack if label == "spoof" else "",
                        row.get("actions_seen", ""),
                        _event_times(row.get("order_note", "")),
                    )
                )
    return items


def read_data_clip(path: Path, limits: VideoLimits, sample_fps: float, long_side: int) -> Clip:
    """A clip of the data: a video file, or a folder of frames (taken at 15 fps). Frame folders
    of face crops come in varying sizes: each frame is brought to the first one's."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        images = [load_image(p) for p in files]
        if not images:
            raise InputError(f"no frames in {path}")
        height, width = images[0].shape[:2]
        same = [np.asarray(cv2.resize(i, (width, height)), dtype=np.uint8) for i in images]
        times = [i / 15.0 for i in range(len(same))]
        return frames_clip(same, times, limits, sample_fps=sample_fps, analysis_long_side=long_side)
    return load_clip(path, limits, sample_fps=sample_fps, analysis_long_side=long_side)


def _clip(item: _Item, policy: MatchPolicy) -> Clip:
    assert policy.liveness is not None
    live = policy.liveness
    return read_data_clip(item.path, EVAL_LIMITS, live.sample_fps, live.analysis_long_side)


def _print_items(
    data_dir: Path, lfw_sample: int, nuaa_limit: int | None
) -> Iterator[tuple[str, Path]]:
    nuaa = sorted((data_dir / "nuaa_imposter_raw" / "ImposterRaw").glob("*/*.jpg"))
    if nuaa_limit is not None:
        nuaa = nuaa[:: max(1, len(nuaa) // max(nuaa_limit, 1))][:nuaa_limit]
    for path in nuaa:
        yield "print_nuaa", path
    lfw = sorted((data_dir / "lfw" / "images").glob("*/*.jpg"))
    for path in random.Random(0).sample(lfw, min(lfw_sample, len(lfw))):
        yield "print_lfw", path


def _step_errors(report: Any, labelled: tuple[tuple[str, float], ...]) -> tuple[float, ...]:
    """|seen - labelled| for each step whose action has a labelled time, matched in order."""
    errors: list[float] = []
    remaining = list(labelled)
    for step in report.steps:
        match = next((lt for lt in remaining if lt[0] == step.action), None)
        if match is None or step.seen_at_s is None:
            continue
        remaining.remove(match)
        errors.append(round(abs(step.seen_at_s - match[1]), 3))
    return tuple(errors)


def _sample(
    item_path: str,
    label: str,
    attack: str,
    challenge: Challenge,
    report: Any,
    seconds: float,
    labelled: tuple[tuple[str, float], ...] = (),
) -> LivenessSample:
    return LivenessSample(
        path=item_path,
        label=label,
        attack_type=attack,
        challenge=challenge.steps,
        passed=report.passed,
        reasons=report.reasons,
        steps=tuple((s.action, s.seen_at_s) for s in report.steps),
        checks={
            k: (None if not np.isfinite(c.score) else c.score) for k, c in report.checks.items()
        },
        seconds=seconds,
        step_errors_s=_step_errors(report, labelled),
        event_errors_s=tuple(
            round(
                min(
                    (abs(a.peak_s - t) for a in report.actions if a.action == action), default=99.0
                ),
                3,
            )
            for action, t in labelled
        ),
    )


def evaluate_liveness(
    data_dir: Path,
    engines: Engines,
    policy: MatchPolicy,
    *,
    lfw_prints: int = 50,
    nuaa_prints: int | None = None,
    progress: Progress | None = None,
) -> LivenessEvaluation:
    if policy.liveness is None:
        raise InputError(f"policy {policy.version} has no liveness section")
    live_policy = policy.liveness
    start = time.perf_counter()
    items = _label_items(data_dir)
    prints = list(_print_items(data_dir, lfw_prints, nuaa_prints))
    backgrounds = sorted((data_dir / "nuaa_imposter_raw" / "ClientRaw").glob("*/*.jpg"))
    total = len(items) + len(prints)
    samples: list[LivenessSample] = []
    done = 0
    for item in items:
        t0 = time.perf_counter()
        challenge = parse_challenge(item.actions.replace(";", ","))
        rel = str(item.path.relative_to(data_dir))
        try:
            clip = _clip(item, policy)
        except InputError as exc:
            samples.append(
                LivenessSample(
                    rel,
                    item.label,
                    item.attack_type,
                    challenge.steps,
                    False,
                    (exc.code,),
                    (),
                    {},
                    0.0,
                )
            )
        else:
            report = check_liveness(
                clip, challenge, engines, policy, step_timeout_s=clip.duration_s + 1.0
            )
            samples.append(
                _sample(
                    rel,
                    item.label,
                    item.attack_type,
                    challenge,
                    report,
                    time.perf_counter() - t0,
                    item.event_times,
                )
            )
        done += 1
        if progress:
            progress(done, total)
    rng = random.Random(2026)
    for index, (attack, photo_path) in enumerate(prints):
        t0 = time.perf_counter()
        photo = load_image(photo_path)
        background = (
            load_image(backgrounds[(index * 7) % len(backgrounds)])
            if backgrounds
            else np.full((480, 640, 3), 128, np.uint8)
        )
        frames, times = synthesise_print_attack(photo, background, np.random.default_rng(index))
        clip = frames_clip(
            frames,
            times,
            EVAL_LIMITS,
            sample_fps=live_policy.sample_fps,
            analysis_long_side=live_policy.analysis_long_side,
        )
        challenge = issue_challenge(rng)
        report = check_liveness(
            clip, challenge, engines, policy, step_timeout_s=clip.duration_s + 1.0
        )
        samples.append(
            _sample(
                str(photo_path.relative_to(data_dir)),
                "spoof",
                attack,
                challenge,
                report,
                time.perf_counter() - t0,
            )
        )
        done += 1
        if progress:
            progress(done, total)
    live = [s for s in samples if s.label == "live"]
    bpcer = sum(not s.passed for s in live) / len(live) if live else float("nan")
    attacks = sorted({s.attack_type for s in samples if s.label == "spoof"})
    apcer = {
        a: sum(s.passed for s in samples if s.attack_type == a)
        / sum(s.attack_type == a for s in samples)
        for a in attacks
    }
    return LivenessEvaluation(bpcer, apcer, samples, time.perf_counter() - start)
