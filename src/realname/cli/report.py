"""``realname report``: the inspection report of the service's database, per outlet and per day,
week or month, with its anomaly flags: the figures of ``GET /api/v1/reports`` and
``GET /api/v1/flags``, read by the CLI with no principal (every outlet,
:mod:`realname.service.usecases.inspection`).

``--format table`` prints the key figures as a Rich table (the rows, then each outlet's totals);
``json`` and ``csv`` are the API's documents exactly (:meth:`Report.to_dict`,
:meth:`Report.to_csv`), on stdout or in ``--out``. ``--plot DIR`` writes the three charts as PNG
(:func:`realname.records.report_charts.write_charts`). The flags are counted on every run and
listed with ``--flags``; they change no exit code. Next to a JSON or CSV document on stdout, all
else goes to stderr, so that stdout stays the document.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from realname.cli.common import (
    console,
    err_console,
    one_line_errors,
    require_output,
    service_context,
    shown,
)
from realname.cli.inspect import parse_day
from realname.errors import InputError

if TYPE_CHECKING:
    from realname.records.reports import Report
    from realname.service.usecases.inspection import FlagView

__all__ = ["REPORT_HELP", "report"]

DEFAULT_DAYS = 30  # as the HTTP API: --from defaults to 30 days before --to
PERIODS = ("day", "week", "month")  # realname.records.reports.PERIODS, named here for --help
FORMATS = ("table", "json", "csv")
LANGS = ("en", "zh-CN")

REPORT_HELP = (
    "Dates are local days (REALNAME_REPORT_UTC_OFFSET_H, +8); without --from and --to, the 30 "
    "days to today. JSON and CSV are GET /api/v1/reports's documents; the flags are "
    "GET /api/v1/flags's."
)

# The table's figures: (header, key of Report.to_dict()'s row); the capture times are nested.
_COLUMNS = (
    ("sessions", "sessions_started"),
    ("consent\nrefused", "consent_refused"),
    ("passed", "passed"),
    ("failed", "failed"),
    ("sent to\nreview", "sent_to_review"),
    ("approved", "review_approved"),
    ("rejected", "review_rejected"),
    ("bound", "numbers_bound"),
    ("ended", "numbers_ended"),
)


def _choice(value: str, option: str, known: tuple[str, ...]) -> str:
    if value not in known:
        raise InputError(f"{option} {value!r} is not one of {', '.join(known)}")
    return value


def _out_format(fmt: str, out: Path | None) -> str:
    """The document ``--out`` gets: ``--format``'s, or with ``table`` the file's suffix's."""
    if out is None or fmt != "table":
        return fmt
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in ("json", "csv"):
        raise InputError(
            f"--out {shown(out)}: give --format json or csv, or a file name ending .json or .csv"
        )
    return suffix


def _outlet_id(ctx: Any, outlet: str | None) -> str | None:
    """``--outlet``: an outlet's id or its name, as the id the reports use."""
    if outlet is None:
        return None
    from realname.service.usecases.people import list_outlets

    outlets = list_outlets(ctx.database)
    for found in outlets:
        if outlet in (str(found.id), found.name):
            return str(found.id)
    known = ", ".join(f"{o.id} {o.name}" for o in outlets) or "none"
    raise InputError(f"--outlet {outlet!r} is no outlet's id or name; outlets: {known}")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _cells(line: dict[str, Any]) -> list[str]:
    times = line["capture_time_s"]
    per_success = line["attempts_per_success"]
    return [
        *(str(line[key]) for _, key in _COLUMNS),
        _seconds(times["median"]),
        _seconds(times["p95"]),
        "-" if per_success is None else f"{per_success:.2f}",
        str(line["lockouts"]),
    ]


def _table(document: dict[str, Any]) -> Table:
    table = Table(
        title=(
            f"inspection report {document['from']}..{document['to']} by {document['period']} "
            f"(local time {document['utc_offset']})"
        )
    )
    table.add_column("outlet", no_wrap=True)
    table.add_column("period", no_wrap=True)
    for header in (*(h for h, _ in _COLUMNS), "capture\nmedian s", "capture\np95 s"):
        table.add_column(header, justify="right")
    table.add_column("attempts\n/success", justify="right")
    table.add_column("lock-outs", justify="right", no_wrap=True)
    rows, totals = document["rows"], document["totals"]
    for i, line in enumerate(rows):
        name = f"{line['outlet_name']} ({line['outlet']})"
        table.add_row(escape(name), line["period"], *_cells(line), end_section=i == len(rows) - 1)
    for line in totals:
        name = f"{line['outlet_name']} ({line['outlet']})"
        table.add_row(escape(name), "total", *_cells(line), style="bold")
    return table


def _flags_summary(flags: list[FlagView]) -> str:
    if not flags:
        return "no anomaly flags"
    kinds = Counter(f.flag.kind for f in flags)
    each = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    return f"{len(flags)} anomaly flag(s): {each}"


def _flags_table(flags: list[FlagView]) -> Table:
    table = Table(title="anomaly flags")
    table.add_column("kind")
    table.add_column("outlet")
    table.add_column("sentence", overflow="fold")
    table.add_column("acknowledged")
    for view in flags:
        ack = view.acknowledged
        table.add_row(
            view.flag.kind,
            escape(f"{view.outlet_name} ({view.flag.outlet})"),
            escape(view.flag.sentence),
            "-" if ack is None else escape(f"{ack['by']} {ack['at'][:16]}"),
        )
    return table


def _document(report: Report, fmt: str) -> str:
    if fmt == "csv":
        return report.to_csv()
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _checked_options(period: str, fmt: str, lang: str, out: Path | None, plot: Path | None) -> str:
    """The document ``--out`` gets (:func:`_out_format`), once every option is checked
    (``InputError`` for the first one that is not valid)."""
    _choice(period, "--period", PERIODS)
    _choice(fmt, "--format", FORMATS)
    _choice(lang, "--lang", LANGS)
    written = _out_format(fmt, out)
    require_output(out)
    if plot is not None and plot.exists() and not plot.is_dir():
        raise InputError(f"--plot {shown(plot)} is a file: give a folder to write into")
    return written


def _fetch(
    first: date | None, last: date | None, period: str, outlet: str | None
) -> tuple[Report, list[FlagView], date, date]:
    """The report and the flags of the service's database, with the first and last days they
    cover (``--to`` defaults to the local today, ``--from`` to 30 days before ``--to``)."""
    from realname.service.usecases.inspection import flags_for, report_for, utc_offset

    ctx = service_context()
    try:
        today = (ctx.now() + utc_offset(ctx.settings)).date()
        last = last or today
        first = first or last - timedelta(days=DEFAULT_DAYS)
        where = _outlet_id(ctx, outlet)
        found = report_for(ctx, None, first, last, period, where)
        flags = flags_for(ctx, None, first, last, where)
    finally:
        ctx.database.dispose()
    return found, flags, first, last


def report(
    start: Annotated[
        str | None, typer.Option("--from", help="First local day, YYYY-MM-DD (default: --to - 30)")
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="Last local day, YYYY-MM-DD, inclusive (default: today)"),
    ] = None,
    period: Annotated[str, typer.Option("--period", help="Rows per day, week or month")] = "day",
    outlet: Annotated[
        str | None, typer.Option("--outlet", help="One outlet, by id or name (default: all)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the JSON or CSV here (not to stdout)", readable=False),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the charts (PNG) into this folder")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="The charts' language: en or zh-CN")] = "en",
    list_flags: Annotated[
        bool, typer.Option("--flags", help="List the anomaly flags (kind, outlet, sentence)")
    ] = False,
) -> None:
    """The inspection report of the service's database, per outlet and period: sessions,
    consent refused, captures passed and failed, reviews, numbers bound and ended, capture
    times, attempts per success, lock-outs; and its anomaly flags."""
    from realname.records.report_charts import write_charts

    with one_line_errors():
        first = None if start is None else parse_day(start, "--from")
        last = None if end is None else parse_day(end, "--to")
        written = _checked_options(period, fmt, lang, out, plot)
        found, flags, first, last = _fetch(first, last, period, outlet)
        document = found.to_dict()
        charts = [] if plot is None else write_charts(document, plot, lang)
        if out is not None:
            out.write_text(_document(found, written), encoding="utf-8")
    # stdout holds the document alone when it is JSON or CSV; the rest goes to stderr
    on_stdout = fmt != "table" and out is None
    notes: Console = err_console if on_stdout else console
    if on_stdout:
        sys.stdout.write(_document(found, fmt))
    elif fmt == "table":
        _print_table(document, first, last)
    if out is not None:
        notes.print(f"wrote {escape(shown(out))} ({written})", soft_wrap=True)
    if charts:
        names = ", ".join(p.name for p in charts)
        notes.print(f"wrote {escape(shown(plot))}: {names}", soft_wrap=True)
    notes.print(_flags_summary(flags) + ("" if list_flags or not flags else "; list: --flags"))
    if list_flags and flags:
        notes.print(_flags_table(flags))


def _print_table(document: dict[str, Any], first: date, last: date) -> None:
    if not document["rows"]:
        console.print(f"no registrations in {first}..{last}")
    else:
        console.print(_table(document))
    if document["purged"]["note"]:
        console.print(f"[yellow]note[/]: {escape(document['purged']['note'])}", soft_wrap=True)
