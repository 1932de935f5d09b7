"""``realname eval match``: verification accuracy of an engine over every data set found."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from realname.engines import Engines
from realname.errors import InputError
from realname.evaluation.datasets import DATASET_NAMES, ImageTable, PairSet, discover, to_chip
from realname.evaluation.metrics import error_rates, fnmr_at_fmr
from realname.face.match import enrol_face
from realname.media.image import load_image
from realname.policy import FMR_LABELS, MatchPolicy

__all__ = ["DatasetResult", "MatchEvaluation", "embed_table", "evaluate_match", "pair_scores"]

Progress = Callable[[int, int], None]
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class DatasetResult:
    name: str
    description: str
    genuine: int
    impostor: int
    failed_to_enrol: int
    threshold: float
    fmr_at_threshold: float
    fnmr_at_threshold: float
    false_matches: int
    false_non_matches: int
    fnmr_at_fmr: dict[str, float | None]
    genuine_scores: npt.NDArray[np.float64] = field(repr=False, compare=False)
    impostor_scores: npt.NDArray[np.float64] = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "genuine": self.genuine,
            "impostor": self.impostor,
            "failed_to_enrol": self.failed_to_enrol,
            "threshold": self.threshold,
            "fmr_at_threshold": self.fmr_at_threshold,
            "fnmr_at_threshold": self.fnmr_at_threshold,
            "false_matches": self.false_matches,
            "false_non_matches": self.false_non_matches,
            "fnmr_at_fmr": self.fnmr_at_fmr,
        }


@dataclass(frozen=True, slots=True)
class MatchEvaluation:
    engine: str
    engine_version: str
    detector: str
    policy_version: str
    fmr_target: str
    images: int
    failures: list[tuple[str, str]]
    seconds: float
    datasets: dict[str, DatasetResult]

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "engine_version": self.engine_version,
            "detector": self.detector,
            "policy_version": self.policy_version,
            "fmr_target": self.fmr_target,
            "images": self.images,
            "failed_to_enrol": [{"image": p, "code": c} for p, c in self.failures],
            "seconds": round(self.seconds, 1),
            "datasets": {name: r.to_dict() for name, r in self.datasets.items()},
        }


def _needed(sets: list[PairSet]) -> list[int]:
    ids: set[int] = set()
    for s in sets:
        ids.update(s.genuine.ravel().tolist())
        ids.update(s.impostor.ravel().tolist())
        if s.members is not None:
            ids.update(s.members.tolist())
    return sorted(ids)


def embed_table(
    table: ImageTable,
    indices: list[int],
    engines: Engines,
    policy: MatchPolicy,
    progress: Progress | None = None,
) -> tuple[Vectors, npt.NDArray[np.bool_], list[tuple[str, str]]]:
    """One template per image (mirrored crop added, the face nearest the centre on a tie)."""
    vectors = np.zeros((len(table.keys), engines.embedder.dim), dtype=np.float32)
    ok = np.zeros(len(table.keys), dtype=bool)
    failures: list[tuple[str, str]] = []
    for done, index in enumerate(indices, 1):
        key = table.keys[index]
        try:
            image = load_image(key.path)
            if key.variant == "chip":
                image = to_chip(image)
            template = enrol_face(image, engines, policy, role="reference", strategy="central")
        except InputError as exc:
            failures.append((f"{key.path}{' (chip)' if key.variant == 'chip' else ''}", exc.code))
        else:
            vectors[index] = template.vector
            ok[index] = True
        if progress is not None:
            progress(done, len(indices))
    return vectors, ok, failures


def pair_scores(
    pairs: npt.NDArray[np.int64], vectors: Vectors, ok: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Cosine scores of index pairs; ``-inf`` where either image failed to enrol."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=np.float64)
    a, b = pairs[:, 0], pairs[:, 1]
    scores: npt.NDArray[np.float64] = np.einsum("ij,ij->i", vectors[a], vectors[b]).astype(
        np.float64
    )
    scores[~(ok[a] & ok[b])] = -np.inf
    return scores


def _all_pair_scores(
    s: PairSet, vectors: Vectors, ok: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    assert s.members is not None and s.labels is not None
    v = vectors[s.members]
    sims = v @ v.T
    enrolled = ok[s.members]
    rows, cols = np.triu_indices(len(s.members), 1)
    same = s.labels[rows] == s.labels[cols]
    both = enrolled[rows] & enrolled[cols]
    scores = sims[rows, cols].astype(np.float64)
    scores[~both] = -np.inf
    return scores[same], scores[~same]


def set_scores(
    s: PairSet, vectors: Vectors, ok: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if s.all_pairs:
        return _all_pair_scores(s, vectors, ok)
    return pair_scores(s.genuine, vectors, ok), pair_scores(s.impostor, vectors, ok)


def _failed(s: PairSet, ok: npt.NDArray[np.bool_]) -> int:
    ids = (
        set(s.members.tolist())
        if s.members is not None
        else set(s.genuine.ravel()) | set(s.impostor.ravel())
    )
    return sum(1 for i in ids if not ok[i])


def summarise(
    s: PairSet,
    genuine: npt.NDArray[np.float64],
    impostor: npt.NDArray[np.float64],
    threshold: float,
    failed_to_enrol: int,
) -> DatasetResult:
    fmr, fnmr = error_rates(genuine, impostor, threshold)
    return DatasetResult(
        name=s.name,
        description=s.description,
        genuine=len(genuine),
        impostor=len(impostor),
        failed_to_enrol=failed_to_enrol,
        threshold=threshold,
        fmr_at_threshold=fmr,
        fnmr_at_threshold=fnmr,
        false_matches=int(np.sum(impostor >= threshold)),
        false_non_matches=int(np.sum(genuine < threshold)),
        fnmr_at_fmr={label: fnmr_at_fmr(genuine, impostor, float(label)) for label in FMR_LABELS},
        genuine_scores=genuine,
        impostor_scores=impostor,
    )


def evaluate_match(
    data_dir: Path,
    engines: Engines,
    policy: MatchPolicy,
    *,
    names: tuple[str, ...] = DATASET_NAMES,
    fmr: str | None = None,
    progress: Progress | None = None,
) -> MatchEvaluation:
    """Embed every image once, then score every data set at the policy's shipped threshold."""
    cv2.setNumThreads(max(1, cv2.getNumberOfCPUs()))
    start = time.perf_counter()
    table, sets = discover(data_dir, names)
    point = policy.operating_point(engines.embedder.name, fmr)
    indices = _needed(sets)
    vectors, ok, failures = embed_table(table, indices, engines, policy, progress)
    results: dict[str, DatasetResult] = {}
    for s in sets:
        genuine, impostor = set_scores(s, vectors, ok)
        results[s.name] = summarise(s, genuine, impostor, point.threshold, _failed(s, ok))
    return MatchEvaluation(
        engine=engines.embedder.name,
        engine_version=engines.embedder.version,
        detector=f"{engines.detector.name} {engines.detector.version}",
        policy_version=policy.version,
        fmr_target=point.fmr_target,
        images=len(indices),
        failures=failures,
        seconds=time.perf_counter() - start,
        datasets=results,
    )
