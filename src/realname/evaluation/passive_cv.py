"""``realname eval passive``: every passive (recapture) cue's threshold chosen with one source
left out, and judged on the source that was left out.

A *source* is one provenance folder of ``../shared/data``: each author of
``liveness_videos_github``, each repository folder of ``face_videos``, and
``grid_corpus_samples``. The replays come from three of them (``tranvanluyt2203``: a monitor,
``lestari15``: a phone, ``manikantha_liveness``: a phone video and a folder of face crops).

Each cue is measured once per clip (:func:`measure_passive_cues`); the folds then re-run only the
threshold rules on those numbers (:func:`cross_validate`). For each fold (one source left out)
a threshold is chosen on the other sources by each rule, and applied to the left-out source's
clips: its attacks give the cross-validated APCER, its live clips the cross-validated BPCER.

Rules (a cue flags an attack when its score is beyond the threshold; ``high``: above, ``low``:
below; a cue with nothing to judge does not flag):

* ``live_margin``: the most extreme live value of the tuning sources, moved outward by a
  quarter of the live values' 5th-95th percentile spread. It never sees an attack.
* ``midway``: half-way between the most extreme live value and the nearest tuning attack beyond
  it; ``live_margin`` where no tuning attack lies beyond every live value.

``shipped`` is the policy's own threshold, chosen by hand on every source (so it is not
cross-validated: it is reported beside the folds). An attack caught when the rule is run on all
sources but missed when its own source is left out is listed in ``only_in_sample``: that
threshold works only with its own attack in the tuning set.

Clips are sampled at ``sample_fps`` (5 by default) over their first 12 s (a capture at the
page lasts 11 s; 21 of the clips are longer): the face-crop cues then see the same frames as the
liveness check (every 3rd frame at 15 fps); the frozen-run and jump cues see frames 0.2 s apart
instead of 1/15 s, and the 3-D residual fewer turned frames. Frame folders of face crops are
read down to a 64 px short side (the liveness check refuses them under 200 px), so that the
crop replay is measured too.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from realname.engines import Engines
from realname.errors import InputError
from realname.evaluation.liveness_eval import EVAL_LIMITS, _label_items, read_data_clip
from realname.liveness.passive import (
    banding,
    colour_spread,
    depth_flatness,
    frame_jumps,
    glare,
    moire,
    screen_border,
    static_overlay,
    temporal_sanity,
    three_d_structure,
    tone_levels,
)
from realname.liveness.signals import SignalTrack, extract_signals
from realname.media.video import Clip
from realname.policy import MatchPolicy

__all__ = [
    "CUES",
    "RULES",
    "ClipCues",
    "Cue",
    "CueResult",
    "FoldResult",
    "PassiveCrossValidation",
    "choose_threshold",
    "cross_validate",
    "measure_passive_cues",
    "source_of",
]

Progress = Callable[[int, int], None]
Direction = Literal["high", "low"]
RULES = ("live_margin", "midway")
MARGIN = 0.25  # of the live 5th-95th percentile spread, beyond the most extreme live value
MEASURE_LIMITS = dataclasses.replace(EVAL_LIMITS, min_short_side=64)


@dataclass(frozen=True, slots=True)
class Cue:
    name: str
    direction: Direction  # high: a score above the threshold flags an attack; low: below
    policy_field: str  # the threshold's name in policy.liveness.passive ("" if not in policy)
    description: str


CUES: tuple[Cue, ...] = (
    Cue("screen_border", "high", "max_border_fraction", "share of frames with edges both sides"),
    Cue("glare", "high", "max_glare_fraction", "share of face pixels >= 245"),
    Cue("moire", "high", "max_moire_peak", "periodic peak of the face spectrum (log)"),
    Cue("colour", "high", "max_chroma_spread", "std of red chroma inside the face"),
    Cue("banding", "high", "max_banding", "share of empty grey levels in the face's range"),
    Cue("three_d_structure", "low", "max_planar_residual", "homography residual in turns"),
    Cue("frozen", "high", "max_frozen_s", "longest run of identical frames (s)"),
    Cue("jump", "high", "max_jump_per_s", "fastest face-centre move (face widths/s)"),
    Cue("black_level", "high", "", "2nd percentile of grey, whole frame"),
    Cue("tone_range", "low", "", "98th minus 2nd percentile of grey, whole frame"),
    Cue("static_overlay", "high", "", "still edges in the top/bottom bands minus elsewhere"),
    Cue("depth_flatness", "high", "", "background over face Laplacian variance"),
    Cue("frame_jumps", "high", "", "background change per face motion"),
)
_BY_NAME = {c.name: c for c in CUES}


def source_of(relative: str) -> str:
    """The provenance folder of a clip path relative to the data folder."""
    parts = relative.split("/")
    if parts[0] in ("face_videos", "liveness_videos_github") and len(parts) > 2:
        return f"{parts[0]}/{parts[1]}"
    return parts[0]


@dataclass(frozen=True, slots=True)
class ClipCues:
    path: str
    source: str
    label: str  # live or spoof
    attack_type: str
    values: dict[str, float]  # NaN: the cue had nothing to judge
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "label": self.label,
            "attack_type": self.attack_type,
            "values": {
                k: (round(v, 5) if math.isfinite(v) else None) for k, v in self.values.items()
            },
            "seconds": round(self.seconds, 2),
        }


def _max_jump(track: SignalTrack) -> float:
    faces = [f for f in track.frames if f.face is not None]
    speeds = []
    for a, b in itertools.pairwise(faces):
        assert a.face is not None and b.face is not None
        if b.t > a.t:
            moved = math.hypot(
                b.face.centre[0] - a.face.centre[0], b.face.centre[1] - a.face.centre[1]
            )
            speeds.append(moved / max(a.face.box[2], 1.0) / (b.t - a.t))
    return max(speeds, default=float("nan"))


def _cue_values(
    clip: Clip, engines: Engines, policy: MatchPolicy, every: int, max_seconds: float
) -> dict[str, float]:
    assert policy.liveness is not None
    live = policy.liveness
    kept = sum(t - clip.timestamps_s[0] <= max_seconds for t in clip.timestamps_s)
    frames, times = clip.frames[:kept], clip.timestamps_s[:kept]
    track = extract_signals(frames, times, engines, policy.search, detect_every=live.detect_every)
    nan = float("nan")
    if track.face_fraction == 0:
        return {c.name: nan for c in CUES}
    # The base yaw the liveness check uses is the baseline's; the median yaw is near it.
    yaws = [f.yaw for f in track.frames if f.face_found]
    base_yaw = float(np.median(yaws)) if yaws else 0.0

    def score(check: Any) -> float:
        return float(check.score) if check.applicable else nan

    black, tonal = tone_levels(frames, every)
    return {
        "screen_border": score(screen_border(frames, track, live.passive, every)),
        "glare": score(glare(frames, track, live.passive, every)),
        "moire": score(moire(frames, track, live.passive, every)),
        "colour": score(colour_spread(frames, track, live.passive, every)),
        "banding": score(banding(frames, track, live.passive, every)),
        "three_d_structure": score(three_d_structure(track, base_yaw, live.passive)),
        "frozen": score(temporal_sanity(frames, track, live.passive)),
        "jump": _max_jump(track),
        "black_level": black,
        "tone_range": tonal,
        "static_overlay": static_overlay(frames, track, every),
        "depth_flatness": depth_flatness(frames, track, every),
        "frame_jumps": frame_jumps(frames, track),
    }


def _read(path: Path, sample_fps: float, long_side: int) -> Clip:
    return read_data_clip(path, MEASURE_LIMITS, sample_fps, long_side)


def measure_passive_cues(
    data_dir: Path,
    engines: Engines,
    policy: MatchPolicy,
    *,
    sample_fps: float = 5.0,
    max_seconds: float = 12.0,
    progress: Progress | None = None,
) -> tuple[ClipCues, ...]:
    """Every cue of :data:`CUES` on every labelled clip (live and replay) of ``data_dir``, on
    its first ``max_seconds`` (a capture at the page lasts 11 s)."""
    if policy.liveness is None:
        raise InputError(f"policy {policy.version} has no liveness section")
    every = max(1, round(sample_fps / policy.liveness.sample_fps * 3))
    items = _label_items(data_dir)
    out: list[ClipCues] = []
    for done, item in enumerate(items, start=1):
        start = time.perf_counter()
        relative = item.path.relative_to(data_dir).as_posix().rstrip("/")
        clip = _read(item.path, sample_fps, policy.liveness.analysis_long_side)
        values = _cue_values(clip, engines, policy, every, max_seconds)
        out.append(
            ClipCues(
                relative,
                source_of(relative),
                item.label,
                item.attack_type,
                values,
                time.perf_counter() - start,
            )
        )
        if progress:
            progress(done, len(items))
    return tuple(out)


def _flags(cue: Cue, value: float, threshold: float) -> bool:
    if not math.isfinite(value) or not math.isfinite(threshold):
        return False
    return value > threshold if cue.direction == "high" else value < threshold


def choose_threshold(cue: Cue, clips: list[ClipCues], rule: str) -> float:
    """The threshold of ``cue`` chosen by ``rule`` (see the module docstring) on ``clips``."""
    sign = 1.0 if cue.direction == "high" else -1.0
    live = np.asarray(
        [sign * c.values[cue.name] for c in clips if c.label == "live"], dtype=np.float64
    )
    live = live[np.isfinite(live)]
    if live.size == 0:
        return float("nan")
    extreme = float(live.max())
    low, high = np.percentile(live, [5, 95])
    margin = extreme + MARGIN * float(high - low)
    if rule == "live_margin":
        return sign * margin
    if rule != "midway":
        raise InputError(f"unknown threshold rule {rule!r}")
    beyond = [
        sign * c.values[cue.name]
        for c in clips
        if c.label == "spoof" and math.isfinite(c.values[cue.name])
    ]
    beyond = [v for v in beyond if v > extreme]
    if not beyond:
        return sign * margin
    return sign * (extreme + min(beyond)) / 2


@dataclass(frozen=True, slots=True)
class FoldResult:
    held_out: str
    threshold: float
    attacks: int
    attacks_caught: int
    live: int
    live_rejected: int


@dataclass(frozen=True, slots=True)
class CueResult:
    cue: str
    rule: str  # a rule of RULES, or "shipped"
    folds: tuple[FoldResult, ...]  # the folds whose source has attacks or a rejected live clip
    apcer: float  # attacks missed, each judged when its own source was left out
    bpcer: float  # live clips rejected, each judged when its own source was left out
    all_sources_threshold: float
    in_sample_apcer: float
    in_sample_bpcer: float
    only_in_sample: tuple[str, ...]  # attacks caught on all sources, missed when held out
    caught: tuple[str, ...]  # attacks caught when held out
    rejected: tuple[str, ...]  # live clips rejected when held out

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return round(v, 5) if math.isfinite(v) else None

        return {
            "cue": self.cue,
            "rule": self.rule,
            "apcer": self.apcer,
            "bpcer": self.bpcer,
            "all_sources_threshold": num(self.all_sources_threshold),
            "in_sample_apcer": self.in_sample_apcer,
            "in_sample_bpcer": self.in_sample_bpcer,
            "only_in_sample": list(self.only_in_sample),
            "caught": list(self.caught),
            "rejected": list(self.rejected),
            "folds": [dataclasses.asdict(f) | {"threshold": num(f.threshold)} for f in self.folds],
        }


@dataclass(frozen=True, slots=True)
class PassiveCrossValidation:
    clips: tuple[ClipCues, ...]
    results: tuple[CueResult, ...]  # per cue and rule, then "any" (any cue fires) per rule
    seconds: float

    def result(self, cue: str, rule: str) -> CueResult:
        return next(r for r in self.results if r.cue == cue and r.rule == rule)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": {
                "live_margin": f"most extreme live value of the tuning sources, moved out by "
                f"{MARGIN} of the live 5th-95th percentile spread",
                "midway": "half-way between the most extreme live value and the nearest tuning "
                "attack beyond it, else live_margin",
                "shipped": "the policy's threshold, chosen on every source (not cross-validated)",
            },
            "sources": sorted({c.source for c in self.clips}),
            "attack_sources": sorted({c.source for c in self.clips if c.label == "spoof"}),
            "results": [r.to_dict() for r in self.results],
            "clips": [c.to_dict() for c in self.clips],
            "seconds": round(self.seconds, 1),
        }


def _shipped(cue: Cue, policy: MatchPolicy | None) -> float:
    if policy is None or policy.liveness is None or not cue.policy_field:
        return float("nan")
    return float(getattr(policy.liveness.passive, cue.policy_field))


def _judge(
    cues: list[Cue],
    rule: str,
    clips: tuple[ClipCues, ...],
    policy: MatchPolicy | None,
    name: str,
) -> CueResult:
    """Run the folds for one cue (or several: any of them fires) under one rule."""
    sources = sorted({c.source for c in clips})

    def thresholds(tuning: list[ClipCues]) -> list[float]:
        if rule == "shipped":
            return [_shipped(c, policy) for c in cues]
        return [choose_threshold(c, tuning, rule) for c in cues]

    def fires(clip: ClipCues, limits: list[float]) -> bool:
        return any(_flags(c, clip.values[c.name], t) for c, t in zip(cues, limits, strict=True))

    folds: list[FoldResult] = []
    caught: list[str] = []
    rejected: list[str] = []
    for source in sources:
        tuning = [c for c in clips if c.source != source]
        limits = thresholds(tuning)
        held = [c for c in clips if c.source == source]
        attacks = [c for c in held if c.label == "spoof"]
        live = [c for c in held if c.label == "live"]
        fold_caught = [c.path for c in attacks if fires(c, limits)]
        fold_rejected = [c.path for c in live if fires(c, limits)]
        caught += fold_caught
        rejected += fold_rejected
        if attacks or fold_rejected:
            folds.append(
                FoldResult(
                    source,
                    limits[0] if len(cues) == 1 else float("nan"),
                    len(attacks),
                    len(fold_caught),
                    len(live),
                    len(fold_rejected),
                )
            )
    every = thresholds(list(clips))
    attacks = [c for c in clips if c.label == "spoof"]
    live = [c for c in clips if c.label == "live"]
    in_sample = {c.path for c in attacks if fires(c, every)}
    n_attacks, n_live = max(len(attacks), 1), max(len(live), 1)
    return CueResult(
        cue=name,
        rule=rule,
        folds=tuple(folds),
        apcer=(len(attacks) - len(caught)) / n_attacks,
        bpcer=len(rejected) / n_live,
        all_sources_threshold=every[0] if len(cues) == 1 else float("nan"),
        in_sample_apcer=(len(attacks) - len(in_sample)) / n_attacks,
        in_sample_bpcer=sum(fires(c, every) for c in live) / n_live,
        only_in_sample=tuple(sorted(in_sample - set(caught))),
        caught=tuple(caught),
        rejected=tuple(rejected),
    )


def cross_validate(
    clips: tuple[ClipCues, ...],
    policy: MatchPolicy | None = None,
    *,
    shipped_cues: tuple[str, ...] | None = None,
) -> PassiveCrossValidation:
    """Every cue under every rule (and the shipped thresholds), then the combinations: ``any``
    (every cue of :data:`CUES`) and ``any_shipped`` (the cues the policy has thresholds for, or
    ``shipped_cues``)."""
    start = time.perf_counter()
    results: list[CueResult] = []
    for cue in CUES:
        for rule in (*RULES, "shipped"):
            if rule == "shipped" and not cue.policy_field:
                continue
            results.append(_judge([cue], rule, clips, policy, cue.name))
    in_policy = [_BY_NAME[n] for n in (shipped_cues or [c.name for c in CUES if c.policy_field])]
    for rule in RULES:
        results.append(_judge(list(CUES), rule, clips, policy, "any"))
        results.append(_judge(in_policy, rule, clips, policy, "any_shipped"))
    results.append(_judge(in_policy, "shipped", clips, policy, "any_shipped"))
    return PassiveCrossValidation(clips, tuple(results), time.perf_counter() - start)
