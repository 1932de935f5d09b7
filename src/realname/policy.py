"""Versioned policy: match thresholds at calibrated operating points, quality limits, how faces
are searched for, and how clips are judged (actions, passive checks, framing, prompt timing).

Every policy class of the package is here, and nothing here is a literal in code: every number
is read from one JSON file that ships in the package (``realname/data/policy.json``), with the
provenance of each (data set, pair counts, date, engine version; the operating points written by
``realname calibrate``). A site can point ``REALNAME_POLICY_FILE`` at its own copy. The stages
(:mod:`realname.face`, :mod:`realname.liveness`) import their policy from here, never the
reverse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from realname.errors import PolicyError

__all__ = [
    "ACTIONS",
    "Action",
    "ActionPolicy",
    "CardPolicy",
    "FaceSearch",
    "FramingPolicy",
    "LivenessPolicy",
    "MatchPolicy",
    "OperatingPoint",
    "PassivePolicy",
    "PromptPolicy",
    "QualityPolicy",
    "TemplatePolicy",
    "ValidityRule",
    "default_policy_path",
    "load_policy",
]

#: The challenge actions, the words in which the policy (``liveness.prompts.tolerated``) and
#: :mod:`realname.liveness` speak of them.
Action = Literal["blink", "turn_left", "turn_right", "nod", "open_mouth"]
ACTIONS: tuple[Action, ...] = ("blink", "turn_left", "turn_right", "nod", "open_mouth")
#: The fewest steps of a challenge: one blink and one turn (see
#: :func:`realname.liveness.challenge.issue_challenge`).
MIN_CHALLENGE_STEPS = 2
_SLACK_S = 1e-9  # float slack when a capture's length is compared with its budget

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
class FaceSearch:
    """How faces are searched for (``search`` in the policy file). Part of :class:`MatchPolicy`.

    ``work_long_side``: detect at most at this long side, then refine at native size (when
    ``refine``). Images with a short side under ``upsample_below_short_side`` are upsampled to
    ``upsample_to_short_side``, but never past ``upsample_max_pixels``, whatever the input: a
    second guard behind the aspect limit of ImageLimits (a 20,000 x 40 strip enlarged to a 300 px
    short side was 45 megapixels, and 4 GB in the detector; 4:3 at a 300 px short side is 0.12
    megapixels, 3:1, the widest image accepted, 0.27). The whole-image fallback applies only to
    tight crops up to ``fallback_max_side`` whose width / height lies in ``fallback_aspect`` and
    whose grey levels vary by at least ``fallback_min_grey_std`` (a flat image is no portrait).
    Before alignment, the 5 points of a small face (box narrower than ``refine_below_face_px``)
    or of a tilted one (eye line beyond ``refine_above_roll_deg``) are found again on a crop
    turned so the eyes are level and scaled so the face box is ``landmark_face_px`` wide (0:
    never); see ``provenance`` for what was measured."""

    work_long_side: int
    upsample_below_short_side: int
    upsample_to_short_side: int
    upsample_max_pixels: int
    refine: bool
    fallback_max_side: int
    fallback_aspect: tuple[float, float]
    fallback_min_grey_std: float
    landmark_face_px: int
    refine_below_face_px: float
    refine_above_roll_deg: float
    provenance: str = ""


@dataclass(frozen=True, slots=True)
class FramingPolicy:
    """Framing advice for the capture page (see :mod:`realname.face.framing`)."""

    min_face_width: float  # face box width over frame width
    max_face_width: float
    max_centre_offset: float  # face centre from the frame centre, over frame width (x), height (y)


@dataclass(frozen=True, slots=True)
class ActionPolicy:
    """Thresholds of the challenge actions (see :mod:`realname.liveness.actions`)."""

    baseline_window_s: float
    blink_close_ratio: float
    blink_reopen_ratio: float
    blink_max_s: float
    blink_max_pitch_change_deg: float
    blink_max_abs_yaw_deg: float
    turn_deg: float
    turn_min_s: float
    nod_deg: float
    mouth_open_mar: float
    mouth_min_s: float


@dataclass(frozen=True, slots=True)
class PassivePolicy:
    """Thresholds of the passive checks (see :mod:`realname.liveness.passive`)."""

    min_turn_deg: float  # frames turned this far from the frontal one are tested for a plane
    max_planar_residual: float  # below this the motion is explained by a plane: a spoof
    border_line_frac: float  # a border line is at least this fraction of the face height
    max_border_fraction: float  # frames showing an enclosing border, above this: a spoof
    max_frozen_s: float  # identical consecutive frames for this long: a frozen picture
    max_glare_fraction: float  # median share of glare pixels (glare_grey_level) over the frames
    max_jump_per_s: float  # face-centre speed in face widths per second
    max_moire_peak: float  # log ratio of the strongest periodic peak to its ring's median
    max_chroma_spread: float  # std of Cr inside the face (central 60% of the box)
    max_banding: float  # share of empty grey levels between the face's 1st and 99th percentiles
    glare_grey_level: int  # a face pixel at this grey level or above is glare
    # Two frames are identical under this mean absolute difference (grey levels, at 64x48).
    frozen_max_mean_diff: float


@dataclass(frozen=True, slots=True)
class PromptPolicy:
    """When prompts appear and how a prompted action must follow its prompt (seconds).

    ``first_prompt_s`` and ``gap_s``: inclusive bounds of the first prompt's offset from the
    recording start (the page's settle time comes first) and of the time between prompts, drawn
    uniformly on a 10 ms grid. ``window_s``: from a prompt to the end of its window (the latest
    peak). ``tail_s``: recorded after the last window. ``steps``: step counts the issuer draws
    from when no length is asked. ``capture_s``: how long the page records every capture, at
    least what the longest schedule of any of those counts needs (:meth:`longest_capture_s`):
    after the last window the person holds still, so a looped recording shows unprompted
    actions there too. ``tolerated``: actions allowed outside their windows. ``provenance``:
    where each number comes from, by field name. See :mod:`realname.liveness.challenge`."""

    first_prompt_s: tuple[float, float]
    gap_s: tuple[float, float]
    min_reaction_s: float
    window_s: float
    tail_s: float
    steps: tuple[int, ...]
    capture_s: float
    tolerated: tuple[Action, ...] = ("blink",)
    provenance: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lo, hi = self.first_prompt_s
        glo, ghi = self.gap_s
        if not (0 <= lo <= hi and 0 < glo <= ghi and self.window_s > self.min_reaction_s >= 0):
            raise PolicyError("prompt bounds must be ordered and the window longer than reaction")
        if not self.steps or min(self.steps) < MIN_CHALLENGE_STEPS:
            raise PolicyError("prompt steps must be step counts of at least 2")
        if any(a not in ACTIONS for a in self.tolerated):
            raise PolicyError(f"unknown tolerated actions {self.tolerated}")
        for n in self.steps:
            if self.longest_capture_s(n) > self.capture_s + _SLACK_S:
                raise PolicyError(
                    f"a {n}-step capture may last {self.longest_capture_s(n):.2f} s, "
                    f"over capture_s {self.capture_s}"
                )

    def longest_capture_s(self, steps: int) -> float:
        """The longest recording a ``steps``-step schedule may need: the latest first prompt,
        the longest gaps, the last window and the tail."""
        return round(
            self.first_prompt_s[1] + (steps - 1) * self.gap_s[1] + self.window_s + self.tail_s, 3
        )


@dataclass(frozen=True, slots=True)
class LivenessPolicy:
    """How clips are judged: sampling, action thresholds, prompt timing (``prompts``: the
    schedule of prompt-locked challenges, each number with its provenance), passive checks.

    ``min_fps``: a clip whose effective frame rate (frames decoded / duration) is under it is
    refused (``VIDEO_FRAME_RATE``), not judged: the service applies it to its
    :class:`~realname.media.limits.VideoLimits` (measured in ``provenance``)."""

    sample_fps: float
    min_fps: float
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
class ValidityRule:
    """Years of validity of a resident ID card by the holder's age at issue (``valid_from``):
    ``bands`` of (from age, to age exclusive, years), contiguous from 0 to
    ``long_term_from_age``, from which age a card is long-term (长期). Law, not a tuned number:
    中华人民共和国居民身份证法 第五条 (see the policy's ``cards.provenance``)."""

    bands: tuple[tuple[int, int, int], ...]
    long_term_from_age: int
    provenance: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        edge = 0
        for low, high, years in self.bands:
            if low != edge or high <= low or years <= 0:
                raise PolicyError("validity bands must be contiguous from age 0, years positive")
            edge = high
        if edge != self.long_term_from_age:
            raise PolicyError("validity bands must end where long-term cards begin")

    def years_for(self, age: int) -> int | None:
        """Years of validity for a card issued at ``age``; None: long-term."""
        for low, high, years in self.bands:
            if low <= age < high:
                return years
        return None


@dataclass(frozen=True, slots=True)
class CardPolicy:
    """The ID card (:mod:`realname.cards`): the validity rule, and the match's operating points
    when the reference is the portrait printed on the card, photographed, rather than the
    chip's (``printed_reference``: FMR label -> threshold, never below the engine's own)."""

    validity: ValidityRule
    printed_reference: Mapping[str, Mapping[str, OperatingPoint]] = field(default_factory=dict)
    provenance: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    version: str
    default_fmr: str
    engines: dict[str, EngineCalibration]
    quality: QualityPolicy
    search: FaceSearch
    template: TemplatePolicy = field(default_factory=TemplatePolicy)
    liveness: LivenessPolicy | None = None
    cards: CardPolicy | None = None

    def operating_point(
        self, engine: str, fmr: str | None = None, *, reference: str = "chip"
    ) -> OperatingPoint:
        """The operating point of ``engine`` at ``fmr`` (the default one if None). With
        ``reference="printed"`` (the card's printed portrait as the reference), the stricter
        of the engine's point and the one measured for printed references, if any."""
        label = fmr or self.default_fmr
        if reference == "printed" and self.cards is not None:
            printed = self.cards.printed_reference.get(engine, {}).get(label)
            own = self.operating_point(engine, label)
            return printed if printed is not None and printed.threshold > own.threshold else own
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


def _search(raw: dict[str, Any]) -> FaceSearch:
    return FaceSearch(**{**raw, "fallback_aspect": _bounds(raw["fallback_aspect"])})


def _liveness(raw: dict[str, Any]) -> LivenessPolicy:
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
        raise PolicyError(f"liveness.prompts numbers without provenance: {', '.join(unsourced)}")
    fields["framing"] = FramingPolicy(**raw["framing"])
    fields["actions"] = ActionPolicy(**raw["actions"])
    fields["passive"] = PassivePolicy(**raw["passive"])
    return LivenessPolicy(**fields)


def _cards(raw: dict[str, Any]) -> CardPolicy:
    validity = raw["validity"]
    rule = ValidityRule(
        bands=tuple((int(a), int(b), int(y)) for a, b, y in validity["bands"]),
        long_term_from_age=int(validity["long_term_from_age"]),
        provenance={str(k): str(v) for k, v in validity["provenance"].items()},
    )
    printed = {
        engine: {
            label: OperatingPoint(
                fmr_target=label,
                threshold=float(p["threshold"]),
                measured_fmr=float(p["measured_fmr"]),
                measured_fnmr=float(p["measured_fnmr"]),
            )
            for label, p in points.items()
        }
        for engine, points in raw.get("printed_reference", {}).items()
    }
    provenance = {str(k): str(v) for k, v in raw.get("provenance", {}).items()}
    return CardPolicy(rule, printed, provenance)


def policy_from_dict(raw: dict[str, Any]) -> MatchPolicy:
    try:
        engines = {name: _engine(name, e) for name, e in raw["engines"].items()}
        policy = MatchPolicy(
            version=str(raw["version"]),
            default_fmr=str(raw["default_fmr"]),
            engines=engines,
            quality=QualityPolicy(**raw["quality"]),
            search=_search(raw["search"]),
            template=TemplatePolicy(**raw.get("template", {})),
            liveness=_liveness(raw["liveness"]) if "liveness" in raw else None,
            cards=_cards(raw["cards"]) if "cards" in raw else None,
        )
    except (KeyError, TypeError, ValueError, PolicyError) as exc:
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
