"""Charts of an inspection report (issue 15), drawn with matplotlib's object API (``Figure``,
never ``pyplot``: no global state, safe in a server's threads) from :meth:`Report.to_dict`.

``pass_rate``: captures passed over captures per outlet and period (a line per outlet);
``reasons``: why captures failed, per reason code, the whole report; ``reviews``: review
outcomes (approved, rejected) per outlet. In English or Chinese (``zh-CN``: the labels need a
CJK font, found as the review plots find it; without one the chart falls back to English so
that no label is drawn as empty boxes). PNG bytes, the same for the same report.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping
from typing import Any

from realname.errors import InputError

__all__ = ["CHART_KINDS", "draw_chart", "write_charts"]

CHART_KINDS = ("pass_rate", "reasons", "reviews")
LEGEND_ONE_COLUMN = 6  # outlets in one legend column; more take two

_TEXT: Mapping[str, Mapping[str, str]] = {
    "en": {
        "pass_rate": "Pass rate of captures per outlet",
        "pass_rate.y": "passed / captures",
        "period": "period",
        "reasons": "Why captures failed",
        "reasons.x": "failed captures carrying the reason",
        "reviews": "Review outcomes per outlet",
        "reviews.y": "review cases",
        "approved": "approved",
        "rejected": "rejected",
        "empty": "No data in this period",
    },
    "zh-CN": {
        "pass_rate": "各营业厅核验通过率",
        "pass_rate.y": "通过 / 核验次数",
        "period": "时段",
        "reasons": "核验未通过原因",
        "reasons.x": "含该原因的未通过次数",
        "reviews": "各营业厅人工复核结果",
        "reviews.y": "复核案件数",
        "approved": "通过",
        "rejected": "驳回",
        "empty": "该时段无数据",
    },
}


def _font(lang: str) -> tuple[str, list[str]]:
    """The language to draw in and the font family list: a CJK font for zh-CN when one is
    installed (:func:`realname.liveness.plot.cjk_font`), else English."""
    from realname.liveness.plot import cjk_font

    font = cjk_font() if lang == "zh-CN" else None
    if font is None:
        return "en", ["DejaVu Sans"]
    return "zh-CN", [font, "DejaVu Sans"]


def _png(figure: Any) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=100, metadata={"Software": None})
    return out.getvalue()


def draw_chart(report: Mapping[str, Any], kind: str, lang: str = "en") -> bytes:
    """One chart of ``report`` (a :meth:`Report.to_dict`) as PNG bytes."""
    if kind not in CHART_KINDS:
        raise InputError(f"no chart {kind!r}: one of {', '.join(CHART_KINDS)}")
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    lang, family = _font(lang)
    text = _TEXT[lang]
    with rc_context({"font.family": family, "axes.unicode_minus": False}):
        figure = Figure(figsize=(8, 4.5), layout="constrained")
        axes = figure.add_subplot()
        axes.set_title(text[kind])
        drawn = {"pass_rate": _pass_rate, "reasons": _reasons, "reviews": _reviews}[kind](
            axes, report, text
        )
        if not drawn:
            axes.text(0.5, 0.5, text["empty"], ha="center", va="center", transform=axes.transAxes)
            axes.set_xticks([])
            axes.set_yticks([])
        return _png(figure)


def _name(report: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    return str(
        row.get("outlet_name") or report.get("outlets", {}).get(row["outlet"], row["outlet"])
    )


def _pass_rate(axes: Any, report: Mapping[str, Any], text: Mapping[str, str]) -> bool:
    periods = sorted({str(r["period"]) for r in report["rows"]})
    by_outlet: dict[str, dict[str, float]] = {}
    for row in report["rows"]:
        if row["pass_rate"] is not None:
            by_outlet.setdefault(_name(report, row), {})[str(row["period"])] = row["pass_rate"]
    if not by_outlet:
        return False
    index = {p: i for i, p in enumerate(periods)}
    for name, rates in sorted(by_outlet.items()):
        xs = sorted(rates, key=index.__getitem__)
        axes.plot([index[p] for p in xs], [rates[p] for p in xs], marker="o", label=name)
    axes.set_xticks(range(len(periods)), periods, rotation=30, ha="right")
    axes.set_ylim(0, 1.05)
    axes.set_xlabel(text["period"])
    axes.set_ylabel(text["pass_rate.y"])
    axes.grid(alpha=0.3)
    columns = 2 if len(by_outlet) > LEGEND_ONE_COLUMN else 1
    axes.legend(fontsize="small", ncols=columns, loc="lower left")
    return True


def _reasons(axes: Any, report: Mapping[str, Any], text: Mapping[str, str]) -> bool:
    reasons: Counter[str] = Counter()
    for row in report["totals"]:
        reasons.update(row["failed_by_reason"])
    if not reasons:
        return False
    ordered = sorted(reasons.items(), key=lambda kv: (kv[1], kv[0]))
    axes.barh([k for k, _ in ordered], [v for _, v in ordered], color="#b5542b")
    for y, (_, value) in enumerate(ordered):
        axes.text(value, y, f" {value}", va="center", fontsize="small")
    axes.set_xlabel(text["reasons.x"])
    return True


def _reviews(axes: Any, report: Mapping[str, Any], text: Mapping[str, str]) -> bool:
    totals = [r for r in report["totals"] if r["review_approved"] or r["review_rejected"]]
    if not totals:
        return False
    names = [_name(report, r) for r in totals]
    approved = [r["review_approved"] for r in totals]
    rejected = [r["review_rejected"] for r in totals]
    axes.bar(names, approved, label=text["approved"], color="#2b7bb5")
    axes.bar(names, rejected, bottom=approved, label=text["rejected"], color="#c9a227")
    axes.set_ylabel(text["reviews.y"])
    axes.tick_params(axis="x", labelrotation=30)
    axes.legend(fontsize="small")
    return True


def write_charts(report: Mapping[str, Any], directory: Any, lang: str = "en") -> list[Any]:
    """Every chart of ``report`` as ``<kind>.png`` in ``directory`` (a :class:`pathlib.Path`,
    created if missing); returns the paths written."""
    from pathlib import Path

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in CHART_KINDS:
        path = target / f"{kind}.png"
        path.write_bytes(draw_chart(report, kind, lang))
        written.append(path)
    return written
