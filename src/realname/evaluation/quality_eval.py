"""``realname eval quality``: how the quality measures and limits behave on real images.

The quality limits in the policy were set from these distributions; this command reproduces them.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realname.engines import Engines
from realname.errors import InputError
from realname.evaluation.datasets import to_chip
from realname.evaluation.match_eval import Progress
from realname.face.match import locate_face
from realname.media.image import load_image
from realname.policy import MatchPolicy

__all__ = ["QualityGroup", "evaluate_quality"]

MEASURES = (
    "inter_eye_px",
    "sharpness",
    "brightness",
    "clipped_fraction",
    "yaw_deg",
    "pitch_deg",
    "roll_deg",
    "eye_contrast",
)
PERCENTILES = (1, 5, 50, 95, 99)


@dataclass(frozen=True, slots=True)
class QualityGroup:
    name: str
    role: str
    images: int
    failed: dict[str, int]
    reasons: dict[str, int]
    percentiles: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "images": self.images,
            "failed": self.failed,
            "reasons": self.reasons,
            "percentiles": {"p": list(PERCENTILES), **self.percentiles},
        }


def _groups(data_dir: Path, lfw_sample: int) -> list[tuple[str, str, list[Path], bool]]:
    rng = random.Random(0)
    lfw = sorted((data_dir / "lfw" / "images").glob("*/*.jpg"))
    lfw = rng.sample(lfw, min(lfw_sample, len(lfw)))
    nuaa = data_dir / "nuaa_imposter_raw"
    celebs = sorted((data_dir / "asian_celebrities_cn" / "images").glob("*/*.jpg"))
    return [
        ("nuaa_live", "probe", sorted(nuaa.glob("ClientRaw/*/*.jpg")), False),
        ("nuaa_print", "reference", sorted(nuaa.glob("ImposterRaw/*/*.jpg")), False),
        ("lfw", "probe", lfw, False),
        ("lfw_chip", "reference", lfw, True),
        ("asian_celebrities", "probe", celebs, False),
    ]


def evaluate_quality(
    data_dir: Path,
    engines: Engines,
    policy: MatchPolicy,
    *,
    lfw_sample: int = 400,
    progress: Progress | None = None,
) -> list[QualityGroup]:
    groups = [g for g in _groups(data_dir, lfw_sample) if g[2]]
    total = sum(len(g[2]) for g in groups)
    done = 0
    out: list[QualityGroup] = []
    for name, role, paths, chip in groups:
        failed: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        values: dict[str, list[float]] = {m: [] for m in MEASURES}
        for path in paths:
            done += 1
            try:
                image = load_image(path)
                image = to_chip(image) if chip else image
                quality = locate_face(image, engines, policy, role=role, strategy="central").quality
            except InputError as exc:
                failed[exc.code] += 1
                continue
            finally:
                if progress is not None:
                    progress(done, total)
            reasons.update(quality.reasons)
            for m in MEASURES:
                values[m].append(float(getattr(quality, m)))
        out.append(
            QualityGroup(
                name=name,
                role=role,
                images=len(paths),
                failed=dict(failed),
                reasons=dict(sorted(reasons.items())),
                percentiles={
                    m: [round(float(np.percentile(v, p)), 2) for p in PERCENTILES]
                    for m, v in values.items()
                    if v
                },
            )
        )
    return out
