"""The supervisor's plot: eye openness, yaw and pitch over time, actions and challenge steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from realname.liveness import LivenessReport

__all__ = ["plot_liveness"]

_COLOURS = {
    "blink": "tab:blue",
    "turn_left": "tab:orange",
    "turn_right": "tab:green",
    "nod": "tab:purple",
    "open_mouth": "tab:brown",
}


def plot_liveness(report: LivenessReport, path: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    track = report.track
    if track is None:
        raise ValueError("the report carries no signal track to plot")
    t = track.times
    ear = (track.series("ear_left") + track.series("ear_right")) / 2
    fig, axes = plt.subplots(3, 1, figsize=(10, 7), sharex=True, dpi=100)
    base = report.baseline
    series = [
        ("eye openness (EAR)", ear, base.ear),
        ("yaw (deg, + = own left)", track.series("yaw"), base.yaw),
        ("pitch (deg, + = up)", track.series("pitch"), base.pitch),
    ]
    for ax, (label, values, baseline) in zip(axes, series, strict=True):
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
        for event in report.actions:
            ax.axvspan(event.start_s, event.end_s + 1e-3, color=_COLOURS[event.action], alpha=0.2)
        for step in report.steps:
            if step.seen_at_s is not None:
                ax.axvline(step.seen_at_s, color=_COLOURS[step.action], lw=1.5)
    for action, colour in _COLOURS.items():
        axes[0].plot([], [], color=colour, lw=6, alpha=0.4, label=action)
    axes[0].legend(fontsize=7, ncol=5, loc="upper right")
    axes[-1].set_xlabel("time (s); shaded: detected actions, lines: challenge steps, x: no face")
    steps = ", ".join(
        f"{s.action}@{s.seen_at_s:.2f}s" if s.seen_at_s is not None else f"{s.action}: not seen"
        for s in report.steps
    )
    verdict = "PASSED" if report.passed else "FAILED " + ",".join(report.reasons)
    fig.suptitle(f"{title}\n{verdict}; steps: {steps}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
