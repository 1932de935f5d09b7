"""``realname eval occlusion``: false alarms of FACE_OCCLUDED on real faces, and detection of
synthetic occlusions drawn over them.

* Real faces: every still of ``../shared/data`` (LFW, its 102x126 chips as references, NUAA live
  and printed photos, Chinese celebrities, the ID-style portrait) and the faces of every clip's
  frames as the liveness check samples them (15 fps, 640 px), each assessed by
  :func:`realname.face.quality.assess_quality` in its role. A few of them are really covered
  (:data:`KNOWN_OCCLUDED`, by visual judgement): those count as catches, not false alarms.
* Synthetic occlusions, generated here and never stored: a mask over the lower face, sunglasses,
  a dark band over the eyes (hair, a visor) and a skin-coloured patch (a hand) over the eyes, the
  mouth or half the face, in three sizes and several colours, drawn onto the image itself
  (through the inverse of the face's alignment), after which the face is found and assessed
  again. The share of the face covered is measured on the template's face ellipse.
* Leave one source out: each cue's limit chosen as :data:`MARGIN` times the lowest value of the
  clean faces of every other source, and the false alarms on the source left out.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines import Engines
from realname.engines.base import Face
from realname.engines.geometry import ARCFACE_TEMPLATE, similarity_transform
from realname.errors import InputError
from realname.evaluation.datasets import to_chip
from realname.evaluation.liveness_eval import _clip, _label_items
from realname.face.detect import find_faces, select_face
from realname.face.match import locate_face
from realname.face.occlusion import OcclusionCues, measure_occlusion, occluded_cues
from realname.face.quality import QualityReason, assess_quality, canonical_crop
from realname.media.image import load_image
from realname.policy import MatchPolicy, QualityPolicy

__all__ = [
    "CUES",
    "KNOWN_OCCLUDED",
    "OcclusionEvaluation",
    "RealFace",
    "SyntheticFace",
    "evaluate_occlusion",
    "limits_from",
]

Progress = Callable[[int, int], None]
Image = npt.NDArray[np.uint8]
MARGIN = 0.9  # a limit sits 10% below the lowest clean value
CUES = ("eye_structure", "eye_contrast", "eye_darkness", "mouth_structure", "mouth_to_eyes")
_LIMIT_FIELDS = {
    "eye_structure": "min_eye_structure",
    "eye_contrast": "min_eye_contrast_ratio",
    "eye_darkness": "min_eye_darkness",
    "mouth_structure": "min_mouth_structure",
    "mouth_to_eyes": "min_mouth_to_eyes",
}

#: Real faces of the data that are covered (visual judgement, 2026-12-01): flagging them is right.
KNOWN_OCCLUDED = {
    "face_videos/zalo_liveness_vuhung/1.mp4": "KN95 mask",
    **{
        f"lfw/images/{name[:-5]}/{name}.jpg": "sunglasses"
        for name in (
            "Angelina_Jolie_0011",
            "Bill_Paxton_0002",
            "Carla_Sullivan_0001",
            "Didier_Defago_0001",
            "Fernando_Vargas_0002",
            "Fernando_Vargas_0003",
            "Heath_Ledger_0002",
            "Hootie_Johnson_0001",
            "Jack_Nicholson_0001",
            "James_Cameron_0001",
            "Jane_Fonda_0002",
            "Jessica_Lange_0001",
            "Joey_Mantia_0001",
            "Keanu_Reeves_0006",
            "Keanu_Reeves_0007",
            "Kevin_Costner_0002",
            "Marc_Anthony_0001",
            "Melanie_Griffith_0001",
            "Michelangelo_Antonioni_0001",
            "Mick_Jagger_0002",
            "Park_Na-kyong_0001",
            "Pedro_Almodovar_0003",
            "Sharon_Stone_0001",
            "Sylvester_Stallone_0007",
            "Will_Smith_0002",
        )
    },
    "lfw/images/Frank_Bell/Frank_Bell_0001.jpg": "a card over the mouth",
    "lfw/images/Zach_Safrin/Zach_Safrin_0001.jpg": "an arm over the mouth",
    "lfw/images/Pedro_Mahecha/Pedro_Mahecha_0001.jpg": "hands over the mouth",
}


@dataclass(frozen=True, slots=True)
class RealFace:
    source: str
    path: str
    frame: int  # -1 for a still
    role: str
    judged: bool  # False: beyond occlusion_max_abs_pose_deg, occlusion not judged
    flagged: bool
    known_occluded: bool
    cues: OcclusionCues | None


@dataclass(frozen=True, slots=True)
class SyntheticFace:
    kind: str
    size: str
    colour: str
    coverage: float  # share of the template's face ellipse covered
    found: bool  # a face was found again on the occluded image
    flagged: bool
    new_reasons: tuple[str, ...]  # other quality reasons that the uncovered face did not have
    cues: OcclusionCues | None

    @property
    def refused(self) -> bool:
        """Refused by quality all the same: FACE_OCCLUDED, another new reason, or no face."""
        return self.flagged or not self.found or bool(self.new_reasons)


@dataclass(frozen=True, slots=True)
class OcclusionEvaluation:
    real: list[RealFace]
    synthetic: list[SyntheticFace]
    limits: dict[str, float]  # what limits_from chooses on every source's clean faces
    policy_limits: dict[str, float]
    microseconds_per_face: float
    seconds: float
    leave_one_out: list[dict[str, Any]] = field(default_factory=list)

    def false_alarms(self) -> list[RealFace]:
        return [f for f in self.real if f.flagged and not f.known_occluded]

    def per_source(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for f in self.real:
            row = out.setdefault(
                f.source, {"faces": 0, "judged": 0, "false_alarms": 0, "known": 0, "caught": 0}
            )
            row["faces"] += 1
            row["judged"] += f.judged
            row["known"] += f.known_occluded
            row["caught"] += f.known_occluded and f.flagged
            row["false_alarms"] += f.flagged and not f.known_occluded
        return out

    def detection(self, min_coverage: float = 0.0) -> dict[str, float | int]:
        rows = [s for s in self.synthetic if s.coverage >= min_coverage]
        flagged = sum(s.flagged for s in rows)
        found = sum(s.found for s in rows)
        refused = sum(s.refused for s in rows)
        return {
            "occlusions": len(rows),
            "face_found": found,
            "flagged": flagged,
            "no_face": len(rows) - found,
            "rate_flagged": flagged / len(rows) if rows else float("nan"),
            "rate_refused": refused / len(rows) if rows else float("nan"),
        }

    def breakdown(self, key: str) -> dict[str, dict[str, float | int]]:
        groups: dict[str, list[SyntheticFace]] = defaultdict(list)
        for s in self.synthetic:
            groups[str(getattr(s, key)) if key != "kind_size" else f"{s.kind}/{s.size}"].append(s)
        out = {}
        for name, rows in sorted(groups.items()):
            out[name] = {
                "occlusions": len(rows),
                "mean_coverage": round(float(np.mean([s.coverage for s in rows])), 3),
                "rate_flagged": round(sum(s.flagged for s in rows) / len(rows), 4),
                "rate_refused": round(sum(s.refused for s in rows) / len(rows), 4),
                "no_face": sum(not s.found for s in rows),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_limits": self.policy_limits,
            "limits_from_all_sources": self.limits,
            "real": self.per_source(),
            "false_alarms": [
                {"path": f.path, "frame": f.frame, "source": f.source} for f in self.false_alarms()
            ],
            "known_occluded_caught": sum(f.flagged for f in self.real if f.known_occluded),
            "known_occluded_faces": sum(f.known_occluded for f in self.real),
            "detection_all": self.detection(),
            "detection_third_or_more": self.detection(1 / 3),
            "by_kind_and_size": self.breakdown("kind_size"),
            "by_colour": {
                f"{s.kind}/{s.colour}": v
                for s in {(s.kind, s.colour): s for s in self.synthetic}.values()
                for v in [self._colour_row(s.kind, s.colour)]
            },
            "leave_one_source_out": self.leave_one_out,
            "microseconds_per_face": round(self.microseconds_per_face, 1),
            "seconds": round(self.seconds, 1),
        }

    def _colour_row(self, kind: str, colour: str) -> dict[str, float | int]:
        rows = [s for s in self.synthetic if s.kind == kind and s.colour == colour]
        return {
            "occlusions": len(rows),
            "rate_flagged": round(sum(s.flagged for s in rows) / len(rows), 4),
        }


# ----------------------------------------------------------------------------- synthetic shapes

_SCALE = 4  # occluders are drawn on a 448x448 canvas in template coordinates
_FACE = np.zeros((112, 112), np.uint8)
cv2.ellipse(_FACE, (56, 62), (38, 50), 0, 0, 360, 1, -1)
_MASK_TOP = {"small": 80, "medium": 72, "large": 64}
_GLASS_HALF_HEIGHT = {"small": 8, "medium": 11, "large": 14}
_BAND_HEIGHT = {"small": 16, "medium": 22, "large": 28}
_HAND_SCALE = {"small": 0.8, "medium": 1.0, "large": 1.2}
SIZES = ("small", "medium", "large")
COLOURS: dict[str, dict[str, tuple[int, int, int] | None]] = {  # BGR; None: the face's own skin
    "mask": {
        "light_blue": (225, 195, 150),
        "white": (235, 235, 235),
        "black": (35, 35, 35),
        "grey": (140, 140, 140),
        "pink": (190, 170, 235),
        "navy": (110, 50, 30),
    },
    "sunglasses": {
        "black": (20, 20, 20),
        "dark_brown": (30, 45, 60),
        "dark_grey": (60, 60, 60),
        "dark_blue": (70, 40, 20),
    },
    "band": {"black": (20, 20, 20), "dark_brown": (30, 45, 60), "dark_grey": (60, 60, 60)},
    "hand": {
        "light": (170, 190, 235),
        "medium": (110, 150, 200),
        "dark": (60, 85, 125),
        "own_skin": None,
    },
}
KINDS = ("mask", "sunglasses", "band", "hand_eyes", "hand_mouth", "hand_half")


def _poly(points: list[tuple[int, int]]) -> npt.NDArray[np.int32]:
    return np.asarray([(x * _SCALE, y * _SCALE) for x, y in points], np.int32)


def _shape(kind: str, size: str, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """The occluder's silhouette on the template canvas."""
    s = _SCALE
    m = np.zeros((112 * s, 112 * s), np.uint8)
    if kind == "mask":
        t = _MASK_TOP[size]
        outline = [(12, t + 6), (30, t), (56, t - 3), (82, t), (100, t + 6), (98, 100)]
        outline += [(82, 113), (56, 120), (30, 113), (14, 100)]
        cv2.fillPoly(m, [_poly(outline)], 1)
    elif kind == "sunglasses":
        h = _GLASS_HALF_HEIGHT[size]
        for cx in (38, 74):
            cv2.ellipse(m, (cx * s, 52 * s), (17 * s, h * s), 0, 0, 360, 1, -1)
        cv2.rectangle(m, (50 * s, 48 * s), (62 * s, 52 * s), 1, -1)
    elif kind == "band":
        h = _BAND_HEIGHT[size]
        cv2.rectangle(m, (14 * s, (52 - h // 2) * s), (98 * s, (52 + h // 2) * s), 1, -1)
    else:
        k = _HAND_SCALE[size]
        angle = float(rng.uniform(-10, 10))
        if kind == "hand_eyes":
            centre, axes = (56, 52), (44 * k, 14 * k)
        elif kind == "hand_mouth":
            centre, axes = (56, 94), (40 * k, 18 * k)
        else:
            centre, axes = (38 if rng.random() < 0.5 else 74, 66), (20 * k, 44 * k)
        cv2.ellipse(
            m,
            (centre[0] * s, centre[1] * s),
            (round(axes[0] * s), round(axes[1] * s)),
            angle,
            0,
            360,
            1,
            -1,
        )
    return m


def _paint(
    shape: npt.NDArray[np.uint8], colour: tuple[float, float, float], rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """A lit, slightly textured surface of ``colour`` (a linear shading gradient and noise)."""
    h, w = shape.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (xx - w / 2) + np.sin(angle) * (yy - h / 2)) / w
    light = 1.0 + rng.uniform(0.1, 0.35) * ramp
    paint = np.asarray(colour, np.float32)[None, None, :] * light[..., None]
    noise = rng.normal(0, 6.0, (h // _SCALE, w // _SCALE, 3)).astype(np.float32)
    paint += cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)
    blurred = cv2.GaussianBlur(paint, (0, 0), 1.2 * _SCALE)
    out: npt.NDArray[np.float32] = np.clip(blurred, 0, 255).astype(np.float32)
    return out


def draw_occlusion(
    image: Image, face: Face, kind: str, size: str, colour: str, rng: np.random.Generator
) -> tuple[Image, float]:
    """``image`` with an occluder drawn over ``face``, and the share of the face it covers."""
    shape = _shape(kind, size, rng)
    small = cv2.resize(shape, (112, 112), interpolation=cv2.INTER_AREA)
    coverage = float((small * _FACE).sum() / _FACE.sum())
    named = COLOURS["hand" if kind.startswith("hand") else kind][colour]
    if named is None:  # the person's own skin, from the cheeks of the canonical crop
        b, g, r = canonical_crop(image, face)[62:82, 22:40].reshape(-1, 3).mean(axis=0)
        base = (float(b), float(g), float(r))
    else:
        base = (float(named[0]), float(named[1]), float(named[2]))
    paint = _paint(shape, base, rng)
    to_template = similarity_transform(face.landmark_array().astype(np.float64), ARCFACE_TEMPLATE)
    to_canvas = to_template * _SCALE
    back = cv2.invertAffineTransform(to_canvas)
    height, width = image.shape[:2]
    alpha = cv2.GaussianBlur(shape.astype(np.float32), (0, 0), 0.8 * _SCALE)
    alpha_img = cv2.warpAffine(alpha, back, (width, height))
    paint_img = cv2.warpAffine(paint, back, (width, height))
    out = image.astype(np.float32) * (1 - alpha_img[..., None]) + paint_img * alpha_img[..., None]
    return np.clip(out, 0, 255).astype(np.uint8), coverage


# ----------------------------------------------------------------------------- real faces


@dataclass(frozen=True, slots=True)
class _Still:
    source: str
    path: Path
    role: str
    chip: bool = False


def _stills(data_dir: Path, lfw_sample: int | None, chip_every: int) -> list[_Still]:
    lfw = sorted((data_dir / "lfw" / "images").glob("*/*.jpg"))
    if lfw_sample is not None and lfw_sample < len(lfw):
        lfw = sorted(random.Random(0).sample(lfw, lfw_sample))
    nuaa = data_dir / "nuaa_imposter_raw"
    portrait = data_dir / "cn_id_card_synthetic" / "airob0t_sample_id_style_portrait.jpg"
    out = [_Still("lfw", p, "probe") for p in lfw]
    out += [_Still("lfw_chip", p, "reference", True) for p in lfw[::chip_every]]
    out += [_Still("nuaa_live", p, "probe") for p in sorted(nuaa.glob("ClientRaw/*/*.jpg"))]
    out += [_Still("nuaa_print", p, "reference") for p in sorted(nuaa.glob("ImposterRaw/*/*.jpg"))]
    celebs = sorted((data_dir / "asian_celebrities_cn" / "images").glob("*/*.jpg"))
    out += [_Still("asian_celebrities", p, "probe") for p in celebs]
    out += [_Still("id_portrait", portrait, "reference")] if portrait.is_file() else []
    return out


def _clip_faces(
    data_dir: Path, engines: Engines, policy: MatchPolicy, frame_step: int
) -> Iterator[tuple[str, str, int, Image, Face, int]]:
    """(source, path, frame index, frame, face, face count) of every clip's sampled frames."""
    for item in _label_items(data_dir):
        try:
            clip = _clip(item, policy)
        except InputError:
            continue
        rel = str(item.path.relative_to(data_dir))
        source = "clip_" + rel.split("/")[0] + ("" if item.label == "live" else "_spoof")
        for index in range(0, len(clip.frames), frame_step):
            frame = clip.frames[index]
            faces = find_faces(engines.detector, frame, policy.search)
            if not faces:
                continue
            try:
                choice = select_face(faces, frame.shape, strategy="central", role="probe")
            except InputError:
                continue
            yield source, rel, index, frame, choice.face, choice.face_count


def limits_from(faces: list[RealFace], margin: float = MARGIN) -> dict[str, float]:
    """Each cue's limit: ``margin`` times its lowest value on the clean judged faces."""
    clean = [f.cues for f in faces if f.cues is not None and not f.known_occluded]
    return {c: round(margin * min(getattr(q, c) for q in clean), 3) for c in CUES} if clean else {}


def _policy_with(policy: QualityPolicy, limits: dict[str, float]) -> QualityPolicy:
    changes: dict[str, Any] = {_LIMIT_FIELDS[c]: v for c, v in limits.items()}
    return replace(policy, **changes)


def _leave_one_out(real: list[RealFace], policy: QualityPolicy) -> list[dict[str, Any]]:
    rows = []
    for source in sorted({f.source for f in real if not f.source.endswith("_spoof")}):
        tuning = [f for f in real if f.source != source and not f.source.endswith("_spoof")]
        limits = limits_from(tuning)
        held = [f for f in real if f.source == source]
        held_policy = _policy_with(policy, limits)
        alarms = [
            f
            for f in held
            if f.cues is not None and not f.known_occluded and occluded_cues(f.cues, held_policy)
        ]
        rows.append(
            {
                "left_out": source,
                "limits": limits,
                "faces": len(held),
                "false_alarms": len(alarms),
                "false_alarm_paths": sorted({f.path for f in alarms})[:10],
            }
        )
    return rows


def _real_face(
    source: str,
    path: str,
    frame: int,
    role: str,
    image: Image,
    face: Face,
    count: int,
    policy: QualityPolicy,
) -> RealFace:
    quality = assess_quality(image, face, policy, face_count=count, role=role)
    known = path in KNOWN_OCCLUDED
    return RealFace(
        source,
        path,
        frame,
        role,
        quality.occlusion is not None,
        QualityReason.FACE_OCCLUDED in quality.reasons,
        known,
        quality.occlusion,
    )


def evaluate_occlusion(
    data_dir: Path,
    engines: Engines,
    policy: MatchPolicy,
    *,
    lfw_sample: int | None = None,
    chip_every: int = 5,
    frame_step: int = 1,
    synthetic_every: int = 10,
    progress: Progress | None = None,
) -> OcclusionEvaluation:
    """See the module docstring. ``lfw_sample``: LFW images (None: all); ``chip_every``: every
    n-th of them also as a chip; ``frame_step``: every n-th sampled frame of a clip;
    ``synthetic_every``: occlusions are drawn over every n-th clean judged real face."""
    start = time.perf_counter()
    stills = _stills(data_dir, lfw_sample, chip_every)
    clips = _label_items(data_dir)
    total = len(stills) + len(clips)
    done = 0
    real: list[RealFace] = []
    bases: list[tuple[Image, Face, str, str]] = []  # clean faces to draw on: image, face, role
    quality_policy = policy.quality

    eligible = 0

    def keep(face: RealFace, image: Image, found: Face) -> None:
        nonlocal eligible
        real.append(face)
        if face.judged and not face.flagged and not face.known_occluded:
            if eligible % synthetic_every == 0:
                bases.append((image, found, face.role, face.source))
            eligible += 1

    for still in stills:
        rel = str(still.path.relative_to(data_dir))
        try:
            image = load_image(still.path)
            image = to_chip(image) if still.chip else image
            located = locate_face(image, engines, policy, role=still.role, strategy="central")
        except InputError:
            pass
        else:
            face = _real_face(
                still.source,
                rel,
                -1,
                still.role,
                image,
                located.face,
                located.choice.face_count,
                quality_policy,
            )
            keep(face, image, located.face)
        done += 1
        if progress is not None:
            progress(done, total)
    seen_clips: Counter[str] = Counter()
    for source, rel, index, frame, face_found, count in _clip_faces(
        data_dir, engines, policy, frame_step
    ):
        if rel not in seen_clips:
            done += 1
            if progress is not None:
                progress(min(done, total), total)
        seen_clips[rel] += 1
        face = _real_face(source, rel, index, "probe", frame, face_found, count, quality_policy)
        if source.endswith("_spoof"):
            real.append(face)  # reported, never a base for synthetic occlusions
            continue
        keep(face, frame, face_found)

    rng = np.random.default_rng(2026)
    synthetic: list[SyntheticFace] = []
    for n, (image, found, role, _source) in enumerate(bases):
        clean = set(assess_quality(image, found, quality_policy, role=role).reasons)
        kind = KINDS[n % len(KINDS)]
        palette = COLOURS["hand" if kind.startswith("hand") else kind]
        colour = list(palette)[(n // len(KINDS)) % len(palette)]
        for size in SIZES:
            occluded, coverage = draw_occlusion(image, found, kind, size, colour, rng)
            try:
                located = locate_face(
                    occluded, engines, policy, role=role, strategy="central", allow_fallback=False
                )
            except InputError:
                synthetic.append(
                    SyntheticFace(kind, size, colour, coverage, False, False, (), None)
                )
                continue
            q = located.quality
            synthetic.append(
                SyntheticFace(
                    kind,
                    size,
                    colour,
                    round(coverage, 4),
                    True,
                    QualityReason.FACE_OCCLUDED in q.reasons,
                    tuple(
                        r for r in q.reasons if r != QualityReason.FACE_OCCLUDED and r not in clean
                    ),
                    q.occlusion,
                )
            )

    timing_faces = bases[:200]
    crops = [cv2.cvtColor(canonical_crop(i, f), cv2.COLOR_BGR2GRAY) for i, f, _, _ in timing_faces]
    t0 = time.perf_counter()
    for _ in range(5):  # what assess_quality adds: the cues of its grey canonical crop
        for crop in crops:
            measure_occlusion(crop)
    per_face = (time.perf_counter() - t0) / max(1, 5 * len(crops)) * 1e6
    judged = [f for f in real if not f.source.endswith("_spoof")]
    return OcclusionEvaluation(
        real=real,
        synthetic=synthetic,
        limits=limits_from(judged),
        policy_limits={c: getattr(quality_policy, _LIMIT_FIELDS[c]) for c in CUES},
        microseconds_per_face=per_face,
        seconds=time.perf_counter() - start,
        leave_one_out=_leave_one_out(real, quality_policy),
    )
