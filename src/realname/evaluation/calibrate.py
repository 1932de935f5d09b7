"""``realname calibrate``: thresholds at FMR 1e-3, 1e-4 and 1e-5, with provenance, into the policy.

Thresholds come from the impostor scores of every cross-identity pair among the LFW images
(``lfw_all_impostors``, about 14.4 M pairs for folds 1-7); the FNMR recorded beside each is
measured on the official LFW genuine pairs. The shipped policy is written once by this command and
never tuned per data set.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

from realname.engines import Engines
from realname.errors import InputError
from realname.evaluation.datasets import discover
from realname.evaluation.match_eval import Progress, embed_table, set_scores
from realname.evaluation.metrics import error_rates, threshold_at_fmr
from realname.policy import FMR_LABELS, MatchPolicy

__all__ = ["calibrate_engine", "write_policy"]


def calibrate_engine(
    data_dir: Path, engines: Engines, policy: MatchPolicy, progress: Progress | None = None
) -> dict[str, Any]:
    """The policy entry (operating points and provenance) for ``engines.embedder``."""
    table, sets = discover(data_dir, ("lfw", "lfw_all_impostors"))
    by_name = {s.name: s for s in sets}
    if set(by_name) != {"lfw", "lfw_all_impostors"}:
        raise InputError(f"calibration needs LFW (lfw/pairs.txt and lfw/images) under {data_dir}")
    calib, pairs = by_name["lfw_all_impostors"], by_name["lfw"]
    assert calib.members is not None
    indices = sorted(set(calib.members.tolist()) | set(pairs.genuine.ravel().tolist()))
    vectors, ok, failures = embed_table(table, indices, engines, policy, progress)
    _, impostor = set_scores(calib, vectors, ok)
    genuine, _ = set_scores(pairs, vectors, ok)
    points: dict[str, Any] = {}
    for label in FMR_LABELS:
        threshold = threshold_at_fmr(impostor, float(label))
        if threshold is None:
            raise InputError(f"too few impostor pairs ({len(impostor)}) to calibrate FMR {label}")
        fmr, fnmr = error_rates(genuine, impostor, threshold)
        points[label] = {
            "threshold": math.ceil(threshold * 1e6) / 1e6,  # round up: never admit more
            "measured_fmr": fmr,
            "measured_fnmr": round(fnmr, 6),
        }
    return {
        "operating_points": points,
        "provenance": {
            "dataset": "LFW deep-funneled, folds present under "
            f"{data_dir.name}/lfw: thresholds from all cross-identity pairs "
            "(lfw_all_impostors), FNMR from the official genuine pairs",
            "genuine_pairs": len(genuine),
            "impostor_pairs": len(impostor),
            "date": date.today().isoformat(),
            "engine_version": f"{engines.embedder.name} {engines.embedder.version}; "
            f"{engines.detector.name} {engines.detector.version}",
            "command": f"realname calibrate --data DATA --engine {engines.embedder.name}",
            "note": f"{len(failures)} images failed to enrol and score -inf; templates add the "
            "mirrored crop",
        },
    }


def write_policy(path: Path, engine: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Put ``entry`` under ``engine`` in the policy file at ``path`` (read afresh, so that every
    other section is kept) and write it with a new version."""
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    raw.setdefault("default_fmr", "1e-4")
    raw["engines"] = {**raw.get("engines", {}), engine: entry}
    raw["version"] = f"{date.today().isoformat()}+" + "+".join(sorted(raw["engines"]))
    path.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return raw
