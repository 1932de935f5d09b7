"""Verification metrics as NIST FRTE reports them: FNMR at a fixed FMR, and DET curves.

Decisions are ``score >= threshold``. A pair whose image failed to enrol gets the score
``-inf``: a false non-match when genuine, a correct rejection when an impostor (ISO/IEC 19795-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DetCurve", "det_curve", "error_rates", "fnmr_at_fmr", "threshold_at_fmr"]

Scores = npt.NDArray[np.floating]


def threshold_at_fmr(impostor: Scores, fmr: float) -> float | None:
    """The lowest threshold whose false match rate on ``impostor`` is at most ``fmr``.

    None when there are too few impostor pairs to measure ``fmr`` (fewer than ``1 / fmr``).
    """
    n = len(impostor)
    if n == 0 or n * fmr < 1.0:
        return None
    ordered = np.sort(np.asarray(impostor, dtype=np.float64))[::-1]
    allowed = int(np.floor(n * fmr + 1e-9))  # impostor pairs that may score >= threshold
    return float(np.nextafter(ordered[allowed], np.inf)) if allowed < n else float(ordered[-1])


def error_rates(genuine: Scores, impostor: Scores, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) at ``threshold``."""
    fmr = float(np.mean(np.asarray(impostor) >= threshold)) if len(impostor) else float("nan")
    fnmr = float(np.mean(np.asarray(genuine) < threshold)) if len(genuine) else float("nan")
    return fmr, fnmr


def fnmr_at_fmr(genuine: Scores, impostor: Scores, fmr: float) -> float | None:
    threshold = threshold_at_fmr(impostor, fmr)
    if threshold is None:
        return None
    return error_rates(genuine, impostor, threshold)[1]


@dataclass(frozen=True, slots=True)
class DetCurve:
    thresholds: npt.NDArray[np.float64]
    fmr: npt.NDArray[np.float64]
    fnmr: npt.NDArray[np.float64]


def det_curve(genuine: Scores, impostor: Scores, points: int = 800) -> DetCurve:
    """FMR and FNMR over thresholds spanning both score distributions."""
    gen = np.sort(np.asarray(genuine, dtype=np.float64))
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    finite = np.concatenate([gen[np.isfinite(gen)], imp[np.isfinite(imp)]])
    lo, hi = float(finite.min()), float(finite.max())
    # Dense where FMR is small: quantiles of the impostor tail plus a uniform grid.
    tail = imp[np.isfinite(imp)][-min(len(imp), 20000) :]
    grid = np.unique(
        np.concatenate([np.linspace(lo, hi, points), tail[:: max(1, len(tail) // points)]])
    )
    fmr = 1.0 - np.searchsorted(imp, grid, side="left") / max(len(imp), 1)
    fnmr = np.searchsorted(gen, grid, side="left") / max(len(gen), 1)
    return DetCurve(grid, fmr, fnmr)
