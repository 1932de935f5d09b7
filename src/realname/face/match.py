"""1:1 portrait matching: an ID portrait against one or more live images or frames.

:func:`match_faces` finds the reference face (raising only when there is none, or when no face
clearly dominates once faces with defects such as a covered or turned face are set aside),
ranks the probe faces by quality, fuses the best ones into one template, and compares it with
the reference at the policy's calibrated threshold. A mismatch is a result
(``passed=False`` with ``FACE_MISMATCH``), never an exception. A covered face (a mask, a hand,
sunglasses: quality reason ``FACE_OCCLUDED``) fails the match whatever its score: a covered
reference, or probes that are all covered (covered probes are used only when no other is).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from realname.engines import Engines
from realname.engines.base import Face, FloatArray
from realname.engines.sface import l2_normalise
from realname.errors import MultipleFacesError, NoFaceError
from realname.face.detect import (
    FaceChoice,
    Strategy,
    alignment_view,
    find_faces,
    refine_landmarks,
    select_face,
    whole_image_face,
)
from realname.face.quality import FaceQuality, QualityReason, assess_quality
from realname.media.image import DEFAULT_LIMITS, ImageLimits, load_image
from realname.policy import MatchPolicy

__all__ = [
    "FaceMatch",
    "FaceTemplate",
    "PreparedReference",
    "ProbeResult",
    "enrol_face",
    "locate_face",
    "match_faces",
    "prepare_reference",
]

Image = npt.NDArray[np.uint8]
ImageSource = str | Path | bytes | Image

FACE_MISMATCH = "FACE_MISMATCH"
PROBE_QUALITY_LOW = "PROBE_QUALITY_LOW"

#: The quality reasons that make a face the wrong one to choose among several (see
#: :func:`realname.face.detect.select_face`): a half-hidden, covered, turned, blurred or tiny face.
#: Lighting reasons are left out: a printed photo may shine where the face behind it does not.
CHOICE_DEFECTS = frozenset(
    {
        QualityReason.FACE_TOO_SMALL,
        QualityReason.FACE_BLURRY,
        QualityReason.POSE_YAW,
        QualityReason.POSE_PITCH,
        QualityReason.POSE_ROLL,
        QualityReason.EYES_NOT_VISIBLE,
        QualityReason.FACE_OCCLUDED,
    }
)


@dataclass(frozen=True, slots=True)
class Located:
    face: Face
    choice: FaceChoice
    quality: FaceQuality


@dataclass(frozen=True, slots=True, eq=False)
class FaceTemplate:
    """One face's L2-normalised template and how it was obtained."""

    face: Face
    face_count: int
    quality: FaceQuality
    vector: FloatArray
    mirrored: bool


def locate_face(
    image: Image,
    engines: Engines,
    policy: MatchPolicy,
    *,
    role: str,
    strategy: Strategy = "dominant",
    allow_fallback: bool = True,
) -> Located:
    """Find, choose and assess the one face of ``image`` (raises :class:`FaceError`)."""
    faces = find_faces(engines.detector, image, policy.search)
    if not faces and allow_fallback:
        fallback = whole_image_face(image, policy.search)
        if fallback is not None:
            faces = [fallback]

    def defects(face: Face) -> tuple[str, ...]:
        reasons = assess_quality(image, face, policy.quality, role=role).reasons
        return tuple(code for code in reasons if code in CHOICE_DEFECTS)

    choice = select_face(faces, image.shape, strategy=strategy, role=role, defects=defects)
    quality = assess_quality(
        image, choice.face, policy.quality, face_count=choice.face_count, role=role
    )
    return Located(choice.face, choice, quality)


def _crop(image: Image, face: Face, engines: Engines, policy: MatchPolicy) -> Image:
    """The engine's aligned crop, from the 5 points found again on a levelled, scaled view."""
    refined = refine_landmarks(engines.detector, image, face, policy.search)
    return engines.embedder.align(*alignment_view(image, refined, policy.search))


def _with_mirrors(crops: Sequence[Image], mirror: bool) -> list[Image]:
    """``crops``, followed (``mirror``) by their horizontal mirror images in the same order."""
    mirrors = [np.ascontiguousarray(crop[:, ::-1]) for crop in crops] if mirror else []
    return [*crops, *mirrors]


def _fuse_mirrors(vectors: FloatArray, mirror: bool) -> FloatArray:
    """One row per crop of the embeddings of :func:`_with_mirrors`'s crops: each crop's vector
    plus its mirror image's (not normalised), or the rows as given without mirrors."""
    if not mirror:
        return vectors
    half = len(vectors) // 2
    return vectors[:half] + vectors[half:]


def _embed(
    image: Image, faces: Sequence[Face], engines: Engines, policy: MatchPolicy, mirror: bool
) -> FloatArray:
    crops = [_crop(image, face, engines, policy) for face in faces]
    vectors = engines.embedder.embed(_with_mirrors(crops, mirror))
    return l2_normalise(_fuse_mirrors(vectors, mirror))


def enrol_face(
    source: ImageSource,
    engines: Engines,
    policy: MatchPolicy,
    *,
    role: str = "reference",
    strategy: Strategy = "dominant",
    mirror: bool | None = None,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> FaceTemplate:
    """The template of the one face in an image (used for references and in evaluation)."""
    image = load_image(source, limits)
    located = locate_face(image, engines, policy, role=role, strategy=strategy)
    use_mirror = policy.template.mirror_single_image if mirror is None else mirror
    vector = _embed(image, [located.face], engines, policy, use_mirror)[0]
    return FaceTemplate(
        located.face, located.choice.face_count, located.quality, vector, use_mirror
    )


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What happened to one probe image: whether it was used, and why (not)."""

    index: int
    used: bool
    reasons: tuple[str, ...]
    face: Face | None = None
    quality: FaceQuality | None = None


@dataclass(frozen=True, slots=True)
class FaceMatch:
    """The verdict of one 1:1 match, explaining itself."""

    passed: bool
    decision: Literal["match", "no_match"]
    score: float
    threshold: float
    fmr_target: str
    engine: str
    engine_version: str
    detector: str
    detector_version: str
    policy_version: str
    reference_face: Face
    reference_quality: FaceQuality
    probes: tuple[ProbeResult, ...]
    reasons: tuple[str, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def probes_used(self) -> tuple[int, ...]:
        return tuple(p.index for p in self.probes if p.used)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["probes_used"] = list(self.probes_used)
        return out


@dataclass(frozen=True, slots=True, eq=False)
class _Usable:
    """A probe whose one face was found: its result so far, its image and its face."""

    result: ProbeResult
    image: Image
    face: Face
    quality: FaceQuality


def _locate_probe(
    index: int, source: ImageSource, engines: Engines, policy: MatchPolicy, limits: ImageLimits
) -> tuple[ProbeResult, _Usable | None]:
    image = load_image(source, limits)
    try:
        located = locate_face(image, engines, policy, role="probe", allow_fallback=False)
    except NoFaceError:
        return ProbeResult(index, False, ("NO_FACE",)), None
    except MultipleFacesError:
        return ProbeResult(index, False, ("MULTIPLE_FACES",)), None
    result = ProbeResult(index, False, located.quality.reasons, located.face, located.quality)
    return result, _Usable(result, image, located.face, located.quality)


@dataclass(frozen=True, slots=True, eq=False)
class PreparedReference:
    """A reference portrait found, assessed and aligned: what :func:`match_faces` needs of it.
    Made by :func:`prepare_reference`, so that a caller can do it while other work runs."""

    image: Image
    located: Located
    crop: Image


def prepare_reference(
    reference: ImageSource,
    engines: Engines,
    policy: MatchPolicy,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> PreparedReference:
    """Load the reference, find and assess its face, align it (raises :class:`FaceError`)."""
    image = load_image(reference, limits)
    located = locate_face(image, engines, policy, role="reference")
    return PreparedReference(image, located, _crop(image, located.face, engines, policy))


def _choose_probes(
    located: Sequence[tuple[ProbeResult, _Usable | None]], policy: MatchPolicy
) -> tuple[list[_Usable], bool]:
    """The best usable probes (at most ``max_probes``, best first), and whether any probe was
    uncovered (a covered face is never fused with uncovered ones: FACE_OCCLUDED, issue 10)."""
    usable = [u for _, u in located if u is not None]
    if not usable:
        codes = {code for r, _ in located for code in r.reasons}
        if codes == {"MULTIPLE_FACES"}:
            raise MultipleFacesError("every probe image shows several faces", role="probe")
        raise NoFaceError("no face was found in any probe image", role="probe")
    uncovered = [u for u in usable if QualityReason.FACE_OCCLUDED not in u.result.reasons]
    ranked = sorted(uncovered or usable, key=lambda u: u.quality.rank, reverse=True)
    return ranked[: policy.template.max_probes], bool(uncovered)


def _score(
    reference: PreparedReference, chosen: Sequence[_Usable], engines: Engines, policy: MatchPolicy
) -> float:
    """The similarity of the reference's template and the chosen probes' fused template, from
    one batch of every crop: the reference (with its mirror) and the chosen probes (with the
    mirror when there is only one)."""
    mirror_ref = policy.template.mirror_single_image
    mirror_probe = mirror_ref and len(chosen) == 1
    ref_crops = _with_mirrors([reference.crop], mirror_ref)
    probe_crops = [_crop(u.image, u.face, engines, policy) for u in chosen]
    vectors = engines.embedder.embed([*ref_crops, *_with_mirrors(probe_crops, mirror_probe)])
    n_ref = len(ref_crops)
    ref_vector = l2_normalise(_fuse_mirrors(vectors[:n_ref], mirror_ref))[0]
    probe_vectors = _fuse_mirrors(vectors[n_ref:], mirror_probe)
    if mirror_probe:
        probe_vectors = l2_normalise(probe_vectors)
    fused = l2_normalise(probe_vectors.mean(axis=0, keepdims=True))[0]
    return float(np.dot(fused, ref_vector))


def _match_reasons(
    score: float, threshold: float, ref: Located, chosen: Sequence[_Usable]
) -> list[str]:
    reasons: list[str] = [] if score >= threshold else [FACE_MISMATCH]
    reasons += [f"REFERENCE_{code}" for code in ref.quality.reasons]
    if all(not u.quality.acceptable for u in chosen):
        reasons.append(PROBE_QUALITY_LOW)
        reasons += [f"PROBE_{code}" for code in chosen[0].result.reasons]
    return reasons


def match_faces(
    reference: ImageSource | PreparedReference,
    probes: Sequence[ImageSource],
    engines: Engines,
    policy: MatchPolicy,
    *,
    fmr: str | None = None,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> FaceMatch:
    """Compare the reference portrait with the best of ``probes``; see the module docstring."""
    if not probes:
        raise NoFaceError("no probe image was given", role="probe")
    t0 = time.perf_counter()
    point = policy.operating_point(engines.embedder.name, fmr)
    if not isinstance(reference, PreparedReference):
        reference = prepare_reference(reference, engines, policy, limits)
    ref = reference.located
    t1 = time.perf_counter()
    located = [_locate_probe(i, p, engines, policy, limits) for i, p in enumerate(probes)]
    chosen, any_uncovered = _choose_probes(located, policy)
    t2 = time.perf_counter()
    score = _score(reference, chosen, engines, policy)
    t3 = time.perf_counter()

    chosen_ids = {u.result.index for u in chosen}
    results = tuple(
        ProbeResult(r.index, r.index in chosen_ids, r.reasons, r.face, r.quality)
        for r, _ in located
    )
    # A covered reference or covered probes fail the match whatever the score: their reasons
    # (REFERENCE_FACE_OCCLUDED, PROBE_FACE_OCCLUDED) follow.
    covered = QualityReason.FACE_OCCLUDED in ref.quality.reasons or not any_uncovered
    passed = score >= point.threshold and not covered
    return FaceMatch(
        passed=passed,
        decision="match" if passed else "no_match",
        score=round(score, 5),
        threshold=point.threshold,
        fmr_target=point.fmr_target,
        engine=engines.embedder.name,
        engine_version=engines.embedder.version,
        detector=engines.detector.name,
        detector_version=engines.detector.version,
        policy_version=policy.version,
        reference_face=ref.face,
        reference_quality=ref.quality,
        probes=results,
        reasons=tuple(_match_reasons(score, point.threshold, ref, chosen)),
        timings_ms={
            "reference_detection": round((t1 - t0) * 1000, 2),
            "probe_detection": round((t2 - t1) * 1000, 2),
            "embedding": round((t3 - t2) * 1000, 2),
            "total": round((t3 - t0) * 1000, 2),
        },
    )
