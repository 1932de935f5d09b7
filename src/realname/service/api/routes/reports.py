"""``/api/v1/reports`` and ``/api/v1/flags``: inspection reports (JSON, CSV, charts) and
anomaly flags, for supervisors (their outlet) and auditors (all outlets)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from realname.records.reports import Report
from realname.service.api.deps import Context, ReviewReader
from realname.service.api.openapi import AUTHENTICATED, WITH_BODY, problems
from realname.service.usecases import inspection

router = APIRouter(prefix="/api/v1", tags=["inspection"])

Start = Annotated[
    date | None,
    Query(alias="from", description="First local day (default: 30 days before `to`)"),
]
End = Annotated[date | None, Query(alias="to", description="Last local day (default: today)")]
PeriodQ = Annotated[Literal["day", "week", "month"], Query(description="Rows per")]
OutletQ = Annotated[
    str | None,
    Query(max_length=20, pattern=r"^\d+$", description="One outlet's id (auditors)"),
]
DEFAULT_DAYS = 30


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=500, description="What was found or done")


def _days(ctx: Context, start: date | None, end: date | None) -> tuple[date, date]:
    today = (ctx.now() + inspection.utc_offset(ctx.settings)).date()
    last = end or today
    return start or last - timedelta(days=DEFAULT_DAYS), last


async def _report(
    ctx: Context,
    user: ReviewReader,
    start: date | None,
    end: date | None,
    period: str,
    outlet: str | None,
) -> Report:
    """The report of the asked days (default: the 30 days to today) that ``user`` may see."""
    first, last = _days(ctx, start, end)
    return await run_in_threadpool(inspection.report_for, ctx, user, first, last, period, outlet)


@router.get(
    "/reports",
    summary="Inspection report (JSON)",
    responses=problems(*AUTHENTICATED),
)
async def report(
    ctx: Context,
    user: ReviewReader,
    start: Start = None,
    end: End = None,
    period: PeriodQ = "day",
    outlet: OutletQ = None,
) -> dict[str, Any]:
    """Per outlet and period: sessions, consent refused, captures passed and failed by reason,
    reviews and who decided them, numbers bound and ended, capture times, attempts per success,
    lock-outs; with totals per outlet and a note on days counted from kept counters."""
    return (await _report(ctx, user, start, end, period, outlet)).to_dict()


@router.get(
    "/reports.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **problems(*AUTHENTICATED)},
    summary="Inspection report (CSV)",
)
async def report_csv(
    ctx: Context,
    user: ReviewReader,
    start: Start = None,
    end: End = None,
    period: PeriodQ = "day",
    outlet: OutletQ = None,
) -> Response:
    found = await _report(ctx, user, start, end, period, outlet)
    name = f"realname-report-{found.start}-{found.end}-{period}.csv"
    return Response(
        found.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/reports/charts/{kind}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **problems(*AUTHENTICATED)},
    summary="A chart of the report, drawn by the server",
)
async def report_chart(
    ctx: Context,
    user: ReviewReader,
    kind: Literal["pass_rate", "reasons", "reviews"],
    start: Start = None,
    end: End = None,
    period: PeriodQ = "day",
    outlet: OutletQ = None,
    lang: Annotated[Literal["en", "zh-CN"], Query(description="The chart's language")] = "en",
) -> Response:
    """``pass_rate``: pass rate over time per outlet; ``reasons``: why captures failed;
    ``reviews``: review outcomes per outlet and who decided."""
    from realname.records.report_charts import draw_chart

    first, last = _days(ctx, start, end)

    def draw() -> bytes:
        found = inspection.report_for(ctx, user, first, last, period, outlet)
        return draw_chart(found.to_dict(), kind, lang)

    png = await run_in_threadpool(draw)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/flags", summary="Anomaly flags", responses=problems(*AUTHENTICATED))
async def flags(
    ctx: Context,
    user: ReviewReader,
    start: Start = None,
    end: End = None,
    outlet: OutletQ = None,
) -> dict[str, Any]:
    """Each flag with its sentence, figures and sessions, and whether it was acknowledged;
    ``rules``: the thresholds in force (settings)."""
    first, last = _days(ctx, start, end)
    found = await run_in_threadpool(inspection.flags_for, ctx, user, first, last, outlet)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "flags": [f.to_dict() for f in found],
        "rules": asdict(inspection.flag_rules(ctx.settings)),
    }


@router.post(
    "/flags/{flag_id}/ack",
    summary="Acknowledge a flag (audited)",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404, 409),
)
async def acknowledge(
    ctx: Context,
    user: ReviewReader,
    flag_id: Annotated[str, Field(max_length=64)],
    body: AckIn,
    start: Start = None,
    end: End = None,
) -> dict[str, Any]:
    first, last = _days(ctx, start, end)
    view = await run_in_threadpool(
        inspection.acknowledge_flag, ctx, user, flag_id, body.note, first, last
    )
    return view.to_dict()
