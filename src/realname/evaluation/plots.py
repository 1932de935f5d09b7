"""DET plots (PNG) for ``realname eval match --plot`` (matplotlib's object API, no pyplot)."""

from __future__ import annotations

from pathlib import Path

from realname.evaluation.match_eval import MatchEvaluation
from realname.evaluation.metrics import det_curve

__all__ = ["plot_det"]


def plot_det(evaluation: MatchEvaluation, path: Path) -> Path:
    """One DET curve (FNMR against FMR, log axes) per data set, the shipped threshold marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for name, result in evaluation.datasets.items():
        if len(result.impostor_scores) == 0 or len(result.genuine_scores) == 0:
            continue
        curve = det_curve(result.genuine_scores, result.impostor_scores)
        shown = (curve.fmr > 0) & (curve.fnmr > 0)  # zero rates have no place on log axes
        (line,) = ax.plot(curve.fmr[shown], curve.fnmr[shown], label=name)
        # The shipped threshold; a zero rate is drawn at 1/N with an arrow-like marker ("below").
        fmr = result.fmr_at_threshold or 1.0 / len(result.impostor_scores)
        fnmr = result.fnmr_at_threshold or 1.0 / len(result.genuine_scores)
        marker = "o"
        if result.fmr_at_threshold == 0:
            marker = "<"
        if result.fnmr_at_threshold == 0:
            marker = "v" if marker == "o" else "*"
        ax.plot(fmr, fnmr, marker, color=line.get_color(), markersize=8)
    for label in ("1e-3", "1e-4", "1e-5"):
        ax.axvline(float(label), color="grey", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1e-7, 1)
    ax.set_ylim(1e-4, 1)
    ax.set_xlabel("False match rate (FMR)")
    ax.set_ylabel("False non-match rate (FNMR)")
    ax.set_title(
        f"DET: {evaluation.engine} ({evaluation.engine_version}). Markers: the shipped threshold "
        f"(FMR {evaluation.fmr_target});\n< no false match, v no false non-match, * neither "
        "(drawn at 1/N)",
        fontsize=9,
    )
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
