"""Versioned policy: match thresholds at calibrated operating points, and quality limits.

Nothing here is a literal in code: every threshold is read from one JSON file that ships in the
package (``realname/data/policy.json``), written by ``realname calibrate`` with the provenance of
each number (data set, pair counts, date, engine version). A site can point
``REALNAME_POLICY_FILE`` at its own copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realname.errors import PolicyError

if TYPE_CHECKING:
    from realname.face.framing import FramingPolicy
    from realname.liveness.actions import ActionPolicy
    from realname.liveness.challenge import PromptPolicy
    from realname.liveness.passive import PassivePolicy
from realname.face.detect import DEFAULT_SEARCH, FaceSearch

__all__ = [
    "MatchPolicy",
    "OperatingPoint",
    "QualityPolicy",
    "TemplatePolicy",
    "default_policy_path",
    "load_policy",
]

FMR_LABELS = ("1e-3", "1e-4", "1e-5")


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """A decision threshold for one engine at one target false match rate."""

    fmr_target: str
    threshold: float
    measured_fmr: float
    measured_fnmr: float


@dataclass(frozen=True, slots=True)
class Provenance:
    dataset: str
    genuine_pairs: int
    impostor_pairs: int
    date: str
    engine_version: str
    command: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class EngineCalibration:
    engine: str
    operating_points: dict[str, OperatingPoint]
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """Limits a face must meet; each failure is a reason code (see :mod:`realname.face.quality`)."""

    min_inter_eye_px_reference: float
    min_inter_eye_px_probe: float
    min_sharpness_reference: float
    min_sharpness_probe: float
    min_brightness: float
    max_brightness: float
    max_clipped_fraction: float
    max_abs_yaw_deg: float
    max_abs_pitch_deg: float
    max_abs_roll_deg: float
    min_eye_contrast: float
    # FACE_OCCLUDED: the cues of realname.face.occlusion, each a ratio to the face's own regions.
    min_eye_structure: float
    min_eye_contrast_ratio: float
    min_eye_darkness: float
    min_mouth_structure: float
    min_mouth_to_eyes: float
    occlusion_max_abs_pose_deg: float  # occlusion judged within this yaw, pitch and roll
    provenance: str


@dataclass(frozen=True, slots=True)
class TemplatePolicy:
    """How templates are made: the mirrored crop is added for a single image (it lowered FNMR
    on LFW), and several probe frames are fused by averaging at most ``max_probes`` templates."""

    mirror_single_image: bool = True
    max_probes: int = 3


@dataclass(frozen=True, slots=True)
class LivenessPolicy:
    """How clips are judged: sampling, action thresholds, prompt timing (``prompts``: the
    schedule of prompt-locked challenges, each number with its provenance), passive checks."""

    sample_fps: float
    analysis_long_side: int
    detect_every: int
    step_timeout_s: float
    min_face_fraction: float
    same_person_fmr: str
    actions: ActionPolicy
    passive: PassivePolicy
    framing: FramingPolicy
    prompts: PromptPolicy
    provenance: str


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    version: str
    default_fmr: str
    engines: dict[str, EngineCalibration]
    quality: QualityPolicy
    template: TemplatePolicy = field(default_factory=TemplatePolicy)
    search: FaceSearch = DEFAULT_SEARCH
    liveness: LivenessPolicy | None = None

    def operating_point(self, engine: str, fmr: str | None = None) -> OperatingPoint:
        label = fmr or self.default_fmr
        try:
            return self.engines[engine].operating_points[label]
        except KeyError:
            raise PolicyError(
                f"policy {self.version} has no operating point FMR {label} for engine {engine!r}",
                engine=engine,
                fmr=label,
            ) from None


def default_policy_path() -> Path:
    return Path(str(resources.files("realname") / "data" / "policy.json"))


def _engine(name: str, raw: dict[str, Any]) -> EngineCalibration:
    points = {
        label: OperatingPoint(
            fmr_target=label,
            threshold=float(p["threshold"]),
            measured_fmr=float(p["measured_fmr"]),
            measured_fnmr=float(p["measured_fnmr"]),
        )
        for label, p in raw["operating_points"].items()
    }
    return EngineCalibration(name, points, Provenance(**raw["provenance"]))


def _bounds(raw: Any) -> tuple[float, float]:
    low, high = raw
    return float(low), float(high)


def _liveness(raw: dict[str, Any]) -> LivenessPolicy:
    from realname.face.framing import FramingPolicy
    from realname.liveness.actions import ActionPolicy
    from realname.liveness.challenge import PromptPolicy
    from realname.liveness.passive import PassivePolicy

    fields = dict(raw)
    prompts = raw["prompts"]
    fields["prompts"] = PromptPolicy(
        first_prompt_s=_bounds(prompts["first_prompt_s"]),
        gap_s=_bounds(prompts["gap_s"]),
        min_reaction_s=float(prompts["min_reaction_s"]),
        window_s=float(prompts["window_s"]),
        tail_s=float(prompts["tail_s"]),
        steps=tuple(int(n) for n in prompts["steps"]),
        capture_s=float(prompts["capture_s"]),
        tolerated=tuple(prompts.get("tolerated", ("blink",))),
        provenance={str(k): str(v) for k, v in prompts["provenance"].items()},
    )
    unsourced = sorted(set(prompts) - {"provenance"} - set(fields["prompts"].provenance))
    if unsourced:
        raise ValueError(f"liveness.prompts numbers without provenance: {', '.join(unsourced)}")
    fields["framing"] = FramingPolicy(**raw["framing"])
    fields["actions"] = ActionPolicy(**raw["actions"])
    fields["passive"] = PassivePolicy(**raw["passive"])
    return LivenessPolicy(**fields)


def policy_from_dict(raw: dict[str, Any]) -> MatchPolicy:
    try:
        engines = {name: _engine(name, e) for name, e in raw["engines"].items()}
        policy = MatchPolicy(
            version=str(raw["version"]),
            default_fmr=str(raw["default_fmr"]),
            engines=engines,
            quality=QualityPolicy(**raw["quality"]),
            template=TemplatePolicy(**raw.get("template", {})),
            liveness=_liveness(raw["liveness"]) if "liveness" in raw else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"the policy file is malformed: {exc}") from None
    for name, calibration in policy.engines.items():
        if policy.default_fmr not in calibration.operating_points:
            raise PolicyError(f"engine {name!r} lacks the default operating point")
    return policy


def load_policy(path: str | Path | None = None) -> MatchPolicy:
    """Read and validate a policy file (the shipped one by default)."""
    target = Path(path) if path else default_policy_path()
    try:
        raw = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"policy file {target} does not exist") from None
    except json.JSONDecodeError as exc:
        raise PolicyError(f"policy file {target} is not valid JSON: {exc}") from None
    return policy_from_dict(raw)
