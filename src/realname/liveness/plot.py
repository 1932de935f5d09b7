"""The supervisor's plot: eye openness, yaw and pitch over time, actions and challenge steps.

Drawn with matplotlib's object API (:class:`~matplotlib.figure.Figure` on an Agg canvas, never
``pyplot``: no global state, safe in a server's worker threads). Per step of a scheduled
challenge: its prompt (dashed line), its window (hatched band from the prompt to the window's
end), when the action began (triangle) and peaked (solid line), and the reaction time in the
step table under the plot. Actions seen outside their windows (``UNPROMPTED_ACTION``) are
outlined in red.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from realname.errors import InputError
from realname.liveness.challenge import StepResult
from realname.liveness.check import LivenessReport

__all__ = ["plot_liveness", "render_liveness_png"]

Series = npt.NDArray[np.float64]

_COLOURS = {
    "blink": "tab:blue",
    "turn_left": "tab:orange",
    "turn_right": "tab:green",
    "nod": "tab:purple",
    "open_mouth": "tab:brown",
}


def _draw_series(ax: Any, t: Series, values: Series, label: str, baseline: float) -> None:
    """One signal over time, its baseline (dotted) and the frames without a face (red x)."""
    ax.plot(t, values, color="black", lw=1)
    if np.isfinite(baseline):
        ax.axhline(baseline, color="grey", ls=":", lw=0.8)
    ax.set_ylabel(label, fontsize=8)
    missing = t[~np.isfinite(values)]
    if len(missing):
        ax.plot(
            missing,
            np.full(len(missing), np.nanmin(values) if np.isfinite(values).any() else 0),
            "x",
            color="red",
            ms=3,
        )


def _draw_actions(ax: Any, report: LivenessReport) -> None:
    """The detected actions, shaded; the unprompted ones outlined in red."""
    unprompted = {(e.action, e.start_s, e.peak_s) for e in report.unprompted}
    for event in report.actions:
        outside = (event.action, event.start_s, event.peak_s) in unprompted
        ax.axvspan(
            event.start_s,
            event.end_s + 1e-3,
            facecolor=_COLOURS[event.action],
            alpha=0.2,
            edgecolor="red" if outside else "none",
            lw=1.5 if outside else 0,
        )


def _draw_steps(ax: Any, steps: Sequence[StepResult]) -> None:
    """Per step: its prompt (dashed) and window (hatched), its onset (>) and its peak (solid)."""
    for step in steps:
        colour = _COLOURS[step.action]
        if step.prompt_s is not None and step.window_end_s is not None:
            ax.axvline(step.prompt_s, color=colour, ls="--", lw=1)
            ax.axvspan(
                step.prompt_s,
                step.window_end_s,
                fill=False,
                hatch="///",
                ec=colour,
                lw=0,
                alpha=0.3,
            )
        if step.onset_s is not None:
            ax.plot(
                [step.onset_s],
                [1.0],
                marker=">",
                color=colour,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
        if step.seen_at_s is not None:
            ax.axvline(step.seen_at_s, color=colour, lw=1.5)


def _label(fig: Any, axes: Any, report: LivenessReport, title: str, lines: list[str]) -> None:
    """Legend, axis label, verdict title and the step table under the plot."""
    for action, colour in _COLOURS.items():
        axes[0].plot([], [], color=colour, lw=6, alpha=0.4, label=action)
    axes[0].legend(fontsize=7, ncol=5, loc="upper right")
    axes[-1].set_xlabel(
        "time (s); shaded: detected actions (red edge: unprompted), dashed: prompt, "
        "hatched: window, >: action began, solid: peak; x: no face",
        fontsize=8,
    )
    verdict = "PASSED" if report.passed else "FAILED " + ",".join(report.reasons)
    fig.suptitle(f"{title}\n{verdict}", fontsize=9)
    fig.text(
        0.01,
        0.005,
        "\n".join(f"step {i}: {line}" for i, line in enumerate(lines, 1)),
        fontsize=7,
        va="bottom",
        family="monospace",
    )


def render_liveness_png(report: LivenessReport, title: str = "") -> bytes:
    """The plot as PNG bytes (nothing written to disk)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    track = report.track
    if track is None:
        raise InputError("the report carries no signal track to plot")
    t = track.times
    ear = (track.series("ear_left") + track.series("ear_right")) / 2
    lines = [s.explain() for s in report.steps]
    fig = Figure(figsize=(10, 7.4 + 0.18 * len(lines)), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    base = report.baseline
    series = [
        ("eye openness (EAR)", ear, base.ear),
        ("yaw (deg, + = own left)", track.series("yaw"), base.yaw),
        ("pitch (deg, + = up)", track.series("pitch"), base.pitch),
    ]
    for ax, (label, values, baseline) in zip(axes, series, strict=True):
        _draw_series(ax, t, values, label, baseline)
        _draw_actions(ax, report)
        _draw_steps(ax, report.steps)
    _label(fig, axes, report, title, lines)
    fig.tight_layout(rect=(0, 0.03 + 0.022 * len(lines), 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_liveness(report: LivenessReport, path: Path, title: str = "") -> Path:
    """The plot written to ``path`` as PNG."""
    data = render_liveness_png(report, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
