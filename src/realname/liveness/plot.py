"""The supervisor's plot: eye openness, yaw and pitch over time, actions and challenge steps.

Drawn with matplotlib's object API (:class:`~matplotlib.figure.Figure` on an Agg canvas, never
``pyplot``: no global state, safe in a server's worker threads). Per step of a scheduled
challenge: its prompt (dashed line), its window (hatched band from the prompt to the window's
end), when the action began (triangle) and peaked (solid line), and the reaction time in the
step table under the plot. Actions seen outside their windows (``UNPROMPTED_ACTION``) are
outlined in red.

Drawn in English (``lang="en"``) or in Chinese (``lang="zh-CN"``). Chinese needs a CJK font
that matplotlib can find (:func:`cjk_font`: Noto Sans CJK, WenQuanYi Micro Hei, ...; Debian's
``fonts-wqy-microhei``); without one the plot is drawn in English, and
:func:`render_liveness_plot` says so (the language it drew). The title is the caller's (the
service: "Liveness evidence, capture N"), never the verdict: the liveness reasons, if any, are a
line of their own.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from realname.errors import InputError
from realname.liveness.challenge import StepResult
from realname.liveness.check import LivenessReport

__all__ = [
    "CJK_FONTS",
    "LANGUAGES",
    "Language",
    "cjk_font",
    "plot_liveness",
    "plot_title",
    "render_liveness_plot",
    "render_liveness_png",
]

Series = npt.NDArray[np.float64]

_COLOURS = {
    "blink": "tab:blue",
    "turn_left": "tab:orange",
    "turn_right": "tab:green",
    "nod": "tab:purple",
    "open_mouth": "tab:brown",
}


def _draw_series(
    ax: Any, t: Series, values: Series, label: str, baseline: float, family: list[str]
) -> None:
    """One signal over time, its baseline (dotted) and the frames without a face (red x)."""
    ax.plot(t, values, color="black", lw=1)
    if np.isfinite(baseline):
        ax.axhline(baseline, color="grey", ls=":", lw=0.8)
    ax.set_ylabel(label, fontsize=8, family=family)
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


Language = Literal["en", "zh-CN"]
LANGUAGES: tuple[Language, ...] = ("en", "zh-CN")

#: The plot's words in each language (the step table stays in English: it is
#: :meth:`~realname.liveness.challenge.StepResult.explain`, the CLI's and the report's text).
_TEXT: dict[Language, dict[str, str]] = {
    "en": {
        "ear": "eye openness (EAR)",
        "yaw": "yaw (deg, + = own left)",
        "pitch": "pitch (deg, + = up)",
        "time": "time (s); shaded: detected actions (red edge: unprompted), dashed: prompt, "
        "hatched: window, >: action began, solid: peak; x: no face",
        "reasons": "liveness reasons: ",
        "step": "step",
        "blink": "blink",
        "turn_left": "turn_left",
        "turn_right": "turn_right",
        "nod": "nod",
        "open_mouth": "open_mouth",
    },
    "zh-CN": {
        "ear": "睁眼程度 (EAR)",
        "yaw": "偏航角 (度, + = 本人左侧)",
        "pitch": "俯仰角 (度, + = 向上)",
        "time": "时间 (秒)；阴影：检测到的动作（红边：未提示），虚线：提示，斜线：时间窗，"
        ">：动作开始，实线：峰值；x：无人脸",
        "reasons": "活体原因：",
        "step": "步骤",
        "blink": "眨眼",
        "turn_left": "左转头",
        "turn_right": "右转头",
        "nod": "点头",
        "open_mouth": "张嘴",
    },
}

#: CJK fonts tried in this order (the first that matplotlib's font manager finds is used).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)


#: File names of CJK fonts on disk that matplotlib's font cache may predate (a font package
#: installed after matplotlib built its cache: apt-get install fonts-wqy-microhei).
_CJK_FILES = ("wqy", "notosanscjk", "notoserifcjk", "sourcehansans", "uming", "simhei", "msyh")
_FONT_LOCK = threading.Lock()


@functools.cache
def cjk_font() -> str | None:
    """The name of a CJK font matplotlib can draw Chinese with, or None (then a Chinese plot is
    drawn in English): the first of :data:`CJK_FONTS` its font manager knows, after adding the
    CJK font files installed since its cache was built. Looked up once per process."""
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    with _FONT_LOCK:
        found = known()
        if found is not None:
            return found
        for path in font_manager.findSystemFonts():
            squashed = Path(path).name.lower().replace("-", "").replace("_", "")
            if any(part in squashed for part in _CJK_FILES):
                with contextlib.suppress(Exception):  # an unreadable font file is skipped
                    font_manager.fontManager.addfont(path)
        return known()


def plot_title(report: LivenessReport, title: str, lang: Language = "en") -> str:
    """The plot's title: ``title`` and, when liveness failed, its reasons on a line of their
    own; never a verdict word (the case's verdict is the supervisor's to make)."""
    lines = [title] if title else []
    if report.reasons:
        lines.append(_TEXT[lang]["reasons"] + ", ".join(report.reasons))
    return "\n".join(lines)


def _label(
    fig: Any,
    axes: Any,
    report: LivenessReport,
    title: str,
    lines: list[str],
    lang: Language,
    family: list[str],
) -> None:
    """Legend, axis label, title and the step table under the plot."""
    words = _TEXT[lang]
    for action, colour in _COLOURS.items():
        axes[0].plot([], [], color=colour, lw=6, alpha=0.4, label=words[action])
    axes[0].legend(prop={"family": family, "size": 7}, ncol=5, loc="upper right")
    axes[-1].set_xlabel(words["time"], fontsize=8, family=family)
    fig.suptitle(plot_title(report, title, lang), fontsize=9, family=family)
    fig.text(
        0.01,
        0.005,
        "\n".join(f"{words['step']} {i}: {line}" for i, line in enumerate(lines, 1)),
        fontsize=7,
        va="bottom",
        family=["DejaVu Sans Mono", *family],
    )


def render_liveness_plot(
    report: LivenessReport, title: str = "", lang: Language = "en"
) -> tuple[bytes, Language]:
    """The plot as PNG bytes (nothing written to disk) and the language it is drawn in:
    ``lang``, or English when ``lang`` is Chinese and no CJK font is found (:func:`cjk_font`).
    ``title`` is drawn as given (in its own language): pass one in ``lang``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    track = report.track
    if track is None:
        raise InputError("the report carries no signal track to plot")
    if lang not in LANGUAGES:
        raise InputError(f"no plot language {lang!r}; known: {', '.join(LANGUAGES)}")
    font = cjk_font() if lang == "zh-CN" else None
    drawn: Language = "zh-CN" if font is not None else "en"
    words = _TEXT[drawn]
    t = track.times
    ear = (track.series("ear_left") + track.series("ear_right")) / 2
    lines = [s.explain() for s in report.steps]
    fig = Figure(figsize=(10, 7.4 + 0.18 * len(lines)), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True)
    base = report.baseline
    series = [
        (words["ear"], ear, base.ear),
        (words["yaw"], track.series("yaw"), base.yaw),
        (words["pitch"], track.series("pitch"), base.pitch),
    ]
    # The font is given to each text of this figure, never set globally (rcParams): worker
    # threads render English and Chinese plots side by side.
    family = [font, "DejaVu Sans"] if font is not None else ["DejaVu Sans"]
    for ax, (label, values, baseline) in zip(axes, series, strict=True):
        _draw_series(ax, t, values, label, baseline, family)
        _draw_actions(ax, report)
        _draw_steps(ax, report.steps)
    _label(fig, axes, report, title, lines, drawn, family)
    fig.tight_layout(rect=(0, 0.03 + 0.022 * len(lines), 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue(), drawn


def render_liveness_png(report: LivenessReport, title: str = "", lang: Language = "en") -> bytes:
    """The plot as PNG bytes (:func:`render_liveness_plot` without the language drawn)."""
    return render_liveness_plot(report, title, lang)[0]


def plot_liveness(report: LivenessReport, path: Path, title: str = "") -> Path:
    """The plot written to ``path`` as PNG."""
    data = render_liveness_png(report, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
