"""The printed portrait as a match reference: how it scores against live images, next to a chip
portrait of the same photo (``realname eval idcard --portraits N``).

For ``count`` LFW people with at least two images, the first image is printed on a generated card
(:mod:`realname.evaluation.cardgen`), the card photographed at the moderate level, found and
rectified as the reader does (:mod:`realname.cards.locate`), and its portrait cropped
(:func:`realname.cards.portrait.crop_portrait`); the same first image also becomes a 102x126
chip portrait. Each reference is compared with every person's second image: one genuine pair
per person, ``count * (count - 1)`` impostor pairs. Reported for both kinds of reference: the
FMR and FNMR at the policy's thresholds, and the threshold at which the printed references reach
each target FMR (what a stricter operating point for printed references would be).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from realname.cards.locate import find_card_quads, rectify
from realname.cards.portrait import crop_portrait
from realname.engines import Engines
from realname.errors import InputError
from realname.evaluation import cardgen
from realname.evaluation.datasets import centre_crop, to_chip
from realname.face.match import enrol_face
from realname.media.image import load_image
from realname.policy import MatchPolicy

__all__ = ["PrintedEval", "evaluate_printed_portraits", "printed_reference"]

Progress = Callable[[int, int], None]
Vector = npt.NDArray[np.float32]


_TODAY = date(2026, 12, 2)  # the generated cards' issue dates are drawn around it


ID_PHOTO_MM = (26, 32)  # an ID photo's width and height (LFW's faces are centred in theirs)


def printed_reference(photo: npt.NDArray[np.uint8], rng: np.random.Generator) -> Any:
    """``photo`` printed on a generated card, photographed (moderate), found, rectified and
    its portrait cropped; None when the card was not found."""
    person = cardgen.make_person(rng, today=_TODAY)
    card = cardgen.render_front(person, centre_crop(photo, *ID_PHOTO_MM))
    shot, _ = cardgen.photograph(card, "moderate", rng)
    quads = find_card_quads(shot)
    if not quads:
        return None
    return crop_portrait(rectify(shot, quads[0].corners))


@dataclass(frozen=True, slots=True)
class PrintedEval:
    people: int
    failed_to_enrol: dict[str, int]
    genuine: dict[str, npt.NDArray[np.float64]]  # reference kind -> scores
    impostor: dict[str, npt.NDArray[np.float64]]

    def at(self, kind: str, threshold: float) -> tuple[float, float]:
        """(FMR, FNMR) of one reference kind at ``threshold``."""
        fmr = float(np.mean(self.impostor[kind] >= threshold))
        fnmr = float(np.mean(self.genuine[kind] < threshold))
        return fmr, fnmr

    def threshold_for(self, kind: str, fmr: float) -> float:
        """The lowest threshold at which the impostor scores of ``kind`` stay at ``fmr``."""
        scores = np.sort(self.impostor[kind])[::-1]
        allowed = int(np.floor(fmr * len(scores)))
        return float(np.nextafter(scores[allowed], np.inf)) if allowed < len(scores) else 0.0

    def summary(self, policy: MatchPolicy, engine: str) -> dict[str, Any]:
        points = policy.engines[engine].operating_points
        out: dict[str, Any] = {
            "people": self.people,
            "genuine_pairs": {k: len(v) for k, v in self.genuine.items()},
            "impostor_pairs": {k: len(v) for k, v in self.impostor.items()},
            "failed_to_enrol": self.failed_to_enrol,
            "at_policy": {},
            "printed_threshold_for": {},
        }
        for label, point in points.items():
            out["at_policy"][label] = {
                kind: dict(zip(("fmr", "fnmr"), self.at(kind, point.threshold), strict=True))
                for kind in self.genuine
            }
            strict = self.threshold_for("printed", float(label))
            fmr, fnmr = self.at("printed", strict)
            out["printed_threshold_for"][label] = {
                "threshold": strict,
                "fmr": fmr,
                "fnmr": fnmr,
                "policy_threshold": point.threshold,
            }
        return out


def _people(data: Path, count: int) -> list[tuple[Path, Path]]:
    images = data / "lfw" / "images"
    if not images.is_dir():
        raise InputError(f"{images} does not exist: the printed-portrait evaluation needs LFW")
    found: list[tuple[Path, Path]] = []
    for folder in sorted(p for p in images.iterdir() if p.is_dir()):
        pictures = sorted(folder.glob("*.jpg"))
        if len(pictures) >= 2:
            found.append((pictures[0], pictures[1]))
        if len(found) == count:
            break
    return found


def _template(image: Any, engines: Engines, policy: MatchPolicy, role: str) -> Vector | None:
    try:
        return enrol_face(image, engines, policy, role=role, strategy="central").vector
    except InputError:
        return None


def evaluate_printed_portraits(
    data: Path,
    engines: Engines,
    policy: MatchPolicy,
    *,
    count: int = 400,
    seed: int = 0,
    progress: Progress | None = None,
) -> PrintedEval:
    people = _people(data, count)
    rng = np.random.default_rng(seed)
    refs: dict[str, list[Vector | None]] = {"printed": [], "chip": []}
    probes: list[Vector | None] = []
    for done, (first, second) in enumerate(people, 1):
        photo = load_image(first)
        printed = printed_reference(photo, rng)
        refs["printed"].append(
            None if printed is None else _template(printed, engines, policy, "reference")
        )
        refs["chip"].append(_template(to_chip(photo), engines, policy, "reference"))
        probes.append(_template(load_image(second), engines, policy, "probe"))
        if progress is not None:
            progress(done, len(people))
    failed = {k: sum(v is None for v in vs) for k, vs in refs.items()}
    failed["probe"] = sum(v is None for v in probes)
    genuine: dict[str, npt.NDArray[np.float64]] = {}
    impostor: dict[str, npt.NDArray[np.float64]] = {}
    good = [
        i
        for i in range(len(people))
        if probes[i] is not None and all(v[i] is not None for v in refs.values())
    ]
    for kind, vectors in refs.items():
        r = np.stack([vectors[i] for i in good]).astype(np.float64)  # type: ignore[misc]
        p = np.stack([probes[i] for i in good]).astype(np.float64)  # type: ignore[misc]
        scores = r @ p.T
        genuine[kind] = np.diag(scores).copy()
        impostor[kind] = scores[~np.eye(len(good), dtype=bool)]
    return PrintedEval(len(people), failed, genuine, impostor)
