"""Inspection reports, counted from the audit log (issue 15).

Every figure is a count of audit entries (or a time between two of them), so a regulator who
holds an exported audit slice recomputes the same report from it (``realname inspect verify``
does). An entry belongs to the outlet named in its objects (``outlet``: events of the system
or of an auditor, about an outlet's session or number) or else to its actor's outlet, and to the
period of its local time (``utc_offset``: China keeps +08:00 all year).

What each figure counts:

=========================  =================================================================
``sessions_started``       ``session.create`` and ``session.consent_refused``
``consent_refused``        ``session.consent_refused``: the manual path
``card_refused``           ``id_card.refused`` (a rule broken, a locked ID, no usable portrait)
``captures``               captures judged or spent: ``capture.verdict``, ``capture.error``,
                           ``capture.interrupted``
``passed`` / ``failed``    verdicts passed; verdicts failed plus errors and interruptions
``failed_by_reason``       each reason code of those failures (a capture may carry several)
``sent_to_review``         verdicts ``review``
``review_approved`` ...    ``review.decision``, and by whom (``reviews_by``)
``numbers_bound``/``ended``  ``number.bind`` / ``number.deregister``
``lockouts``               ``id.locked``
``abandoned``              ``session.abandoned``
``challenges_unanswered``  ``challenge.unanswered``
``capture_time_s``         from a challenge's reveal (``challenge.issue``) to its capture's end
``attempts_per_success``   captures / (passed + approved on review)
=========================  =================================================================

Days whose entries were pruned from the log (``audit_retention_days``) keep their additive
counters (:class:`KeptDay`); a report over them adds those counters and says so in ``purged``:
capture times are not kept, so the medians cover the entries still held.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from realname.errors import InputError
from realname.records.audit import AuditEntry

__all__ = [
    "ADDITIVE",
    "PERIODS",
    "REPORT_ACTIONS",
    "KeptDay",
    "Report",
    "ReportRow",
    "build_report",
    "day_counts",
    "entry_outlet",
    "local_time",
    "period_of",
]

Period = Literal["day", "week", "month"]
PERIODS: tuple[str, ...] = ("day", "week", "month")
ADDITIVE: tuple[str, ...] = (
    "sessions_started",
    "consent_refused",
    "card_refused",
    "captures",
    "passed",
    "failed",
    "sent_to_review",
    "review_approved",
    "review_rejected",
    "numbers_bound",
    "numbers_ended",
    "lockouts",
    "abandoned",
    "challenges_unanswered",
)
#: The actions a report reads; any other entry (sign-ins, users, rules) is not counted.
REPORT_ACTIONS = frozenset(
    {
        "session.create",
        "session.consent_refused",
        "id_card.refused",
        "challenge.issue",
        "capture.verdict",
        "capture.error",
        "capture.interrupted",
        "review.decision",
        "number.bind",
        "number.deregister",
        "id.locked",
        "session.abandoned",
        "challenge.unanswered",
    }
)
_SIMPLE = {
    "session.create": ("sessions_started",),
    "session.consent_refused": ("sessions_started", "consent_refused"),
    "id_card.refused": ("card_refused",),
    "number.bind": ("numbers_bound",),
    "number.deregister": ("numbers_ended",),
    "id.locked": ("lockouts",),
    "session.abandoned": ("abandoned",),
    "challenge.unanswered": ("challenges_unanswered",),
}


def entry_outlet(entry: AuditEntry) -> str:
    """The outlet an entry is about: its objects' ``outlet``, else its actor's."""
    return entry.objects.get("outlet") or entry.outlet


def local_time(entry: AuditEntry, utc_offset: timedelta) -> datetime:
    """The entry's time as a naive local date-time."""
    at = datetime.fromisoformat(entry.time)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at.astimezone(UTC) + utc_offset).replace(tzinfo=None)


def period_of(day: date, period: str) -> str:
    """``2026-11-02``, ``2026-W45`` (ISO week) or ``2026-11``."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    raise InputError(f"unknown period {period!r}: day, week or month")


@dataclass(frozen=True, slots=True)
class KeptDay:
    """The additive counters of one outlet and local day whose entries were pruned."""

    outlet: str
    day: date
    counts: Mapping[str, Any]  # ADDITIVE names, plus failed_by_reason and reviews_by


@dataclass(slots=True)
class ReportRow:
    """The figures of one outlet over one period (or over the whole report: ``all``)."""

    outlet: str
    period: str
    counts: Counter[str] = field(default_factory=Counter)
    failed_by_reason: Counter[str] = field(default_factory=Counter)
    reviews_by: dict[str, Counter[str]] = field(default_factory=dict)
    capture_times: list[float] = field(default_factory=list)

    def add(self, other: ReportRow) -> None:
        self.counts.update(other.counts)
        self.failed_by_reason.update(other.failed_by_reason)
        for who, outcomes in other.reviews_by.items():
            self.reviews_by.setdefault(who, Counter()).update(outcomes)
        self.capture_times.extend(other.capture_times)

    def add_kept(self, counts: Mapping[str, Any]) -> None:
        self.counts.update({k: int(counts.get(k, 0)) for k in ADDITIVE})
        self.failed_by_reason.update(
            {str(k): int(v) for k, v in dict(counts.get("failed_by_reason", {})).items()}
        )
        for who, outcomes in dict(counts.get("reviews_by", {})).items():
            self.reviews_by.setdefault(str(who), Counter()).update(
                {str(k): int(v) for k, v in dict(outcomes).items()}
            )

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: self.counts.get(name, 0) for name in ADDITIVE}
        out["failed_by_reason"] = dict(sorted(self.failed_by_reason.items()))
        out["reviews_by"] = {
            who: {"approved": c.get("approved", 0), "rejected": c.get("rejected", 0)}
            for who, c in sorted(self.reviews_by.items())
        }
        times = sorted(self.capture_times)
        out["capture_time_s"] = {
            "median": _quantile(times, 0.5),
            "p95": _quantile(times, 0.95),
            "n": len(times),
        }
        successes = out["passed"] + out["review_approved"]
        out["attempts_per_success"] = round(out["captures"] / successes, 3) if successes else None
        out["pass_rate"] = round(out["passed"] / out["captures"], 4) if out["captures"] else None
        return out

    def kept_counts(self) -> dict[str, Any]:
        """What a :class:`KeptDay` keeps of this row (no times)."""
        figures = self.figures()
        return {
            **{name: figures[name] for name in ADDITIVE},
            "failed_by_reason": figures["failed_by_reason"],
            "reviews_by": figures["reviews_by"],
        }


def _quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    position = q * (len(sorted_values) - 1)
    low, high = math.floor(position), math.ceil(position)
    value = sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
    return round(value, 3)


def _count_entry(row: ReportRow, entry: AuditEntry, issued: Mapping[str, datetime]) -> None:
    """Add one entry's figures to its row (``issued``: challenge reveal times by session)."""
    action = entry.action
    for name in _SIMPLE.get(action, ()):
        row.counts[name] += 1
    if action == "review.decision" and entry.outcome in ("approved", "rejected"):
        row.counts[f"review_{entry.outcome}"] += 1
        row.reviews_by.setdefault(entry.actor, Counter())[entry.outcome] += 1
    if action not in ("capture.verdict", "capture.error", "capture.interrupted"):
        return
    row.counts["captures"] += 1
    started = issued.get(entry.objects.get("session", ""))
    if started is not None and action != "capture.interrupted":
        ended = datetime.fromisoformat(entry.time)
        row.capture_times.append(max(0.0, (ended - started).total_seconds()))
    if action == "capture.verdict" and entry.outcome == "passed":
        row.counts["passed"] += 1
    elif action == "capture.verdict" and entry.outcome == "review":
        row.counts["sent_to_review"] += 1
    else:
        row.counts["failed"] += 1
        if action == "capture.verdict":
            codes = [c for c in entry.objects.get("reasons", "").split(",") if c]
        elif action == "capture.error":
            codes = [entry.outcome]
        else:
            codes = [entry.objects.get("reasons") or "CAPTURE_INTERRUPTED"]
        row.failed_by_reason.update(codes)


def day_counts(
    entries: Iterable[AuditEntry], utc_offset: timedelta
) -> dict[tuple[str, date], ReportRow]:
    """Every entry's figures by (outlet, local day): what the report sums, and what the
    retention keeps of days whose entries are pruned."""
    rows: dict[tuple[str, date], ReportRow] = {}
    issued: dict[str, datetime] = {}
    for entry in entries:
        if entry.action not in REPORT_ACTIONS:
            continue
        if entry.action == "challenge.issue":
            issued[entry.objects.get("session", "")] = datetime.fromisoformat(entry.time)
            continue
        outlet = entry_outlet(entry)
        if not outlet:
            continue
        day = local_time(entry, utc_offset).date()
        row = rows.get((outlet, day))
        if row is None:
            row = rows[(outlet, day)] = ReportRow(outlet, day.isoformat())
        _count_entry(row, entry, issued)
    return rows


def _offset_text(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True, slots=True)
class Report:
    """One report: rows per outlet and period, totals per outlet, what was purged, its source."""

    start: date
    end: date
    period: str
    utc_offset: timedelta
    outlets: Mapping[str, str]
    rows: tuple[ReportRow, ...]
    totals: tuple[ReportRow, ...]
    purged_days: tuple[date, ...]
    source: Mapping[str, int | None]

    def _row(self, row: ReportRow) -> dict[str, Any]:
        name = self.outlets.get(row.outlet, row.outlet)
        return {"outlet": row.outlet, "outlet_name": name, "period": row.period, **row.figures()}

    def purged_note(self) -> str:
        if not self.purged_days:
            return ""
        first, last = self.purged_days[0], self.purged_days[-1]
        return (
            f"{len(self.purged_days)} day(s) between {first} and {last} are counted from the "
            "counters kept when their audit entries were pruned: their sessions and capture "
            "times are no longer held, so the capture-time figures cover the other days only"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "period": self.period,
            "utc_offset": _offset_text(self.utc_offset),
            "outlets": dict(sorted(self.outlets.items())),
            "rows": [self._row(r) for r in self.rows],
            "totals": [self._row(r) for r in self.totals],
            "purged": {
                "days": [d.isoformat() for d in self.purged_days],
                "note": self.purged_note(),
            },
            "source": dict(self.source),
        }

    def to_csv(self) -> str:
        """One line per row and then per total; reasons and deciders as ``CODE:n`` lists."""
        columns = ["outlet", "outlet_name", "period", *ADDITIVE]
        columns += ["failed_by_reason", "reviews_by", "capture_time_median_s"]
        columns += ["capture_time_p95_s", "captures_timed", "attempts_per_success", "pass_rate"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for line in [self._row(r) for r in (*self.rows, *self.totals)]:
            times = line["capture_time_s"]
            writer.writerow(
                [line[c] for c in ("outlet", "outlet_name", "period", *ADDITIVE)]
                + [
                    ";".join(f"{k}:{v}" for k, v in line["failed_by_reason"].items()),
                    ";".join(
                        f"{who}:{v['approved']}/{v['rejected']}"
                        for who, v in line["reviews_by"].items()
                    ),
                    _blank(times["median"]),
                    _blank(times["p95"]),
                    times["n"],
                    _blank(line["attempts_per_success"]),
                    _blank(line["pass_rate"]),
                ]
            )
        return out.getvalue()


def _blank(value: float | None) -> str:
    return "" if value is None else str(value)


def build_report(
    entries: Iterable[AuditEntry],
    *,
    start: date,
    end: date,
    period: str = "day",
    outlets: Mapping[str, str] | None = None,
    utc_offset: timedelta = timedelta(hours=8),
    kept: Sequence[KeptDay] = (),
    outlet: str | None = None,
) -> Report:
    """The report of the local days ``start``..``end`` (inclusive), by ``period``."""
    period_of(start, period)  # refuses an unknown period
    if end < start:
        raise InputError(f"the report ends ({end}) before it starts ({start})")
    held = list(entries)
    days = day_counts(held, utc_offset)
    by_period: dict[tuple[str, str], ReportRow] = {}

    def bucket(where: str, day: date) -> ReportRow | None:
        if not start <= day <= end or (outlet is not None and where != outlet):
            return None
        key = (where, period_of(day, period))
        if key not in by_period:
            by_period[key] = ReportRow(*key)
        return by_period[key]

    for (where, day), day_row in days.items():
        target = bucket(where, day)
        if target is not None:
            target.add(day_row)
    purged: set[date] = set()
    for kept_day in kept:
        target = bucket(kept_day.outlet, kept_day.day)
        if target is not None:
            target.add_kept(kept_day.counts)
            purged.add(kept_day.day)
    rows = tuple(by_period[k] for k in sorted(by_period))
    totals: dict[str, ReportRow] = defaultdict(lambda: ReportRow("", "all"))
    for row in rows:
        total = totals[row.outlet]
        total.outlet = row.outlet
        total.add(row)
    seqs = [e.seq for e in held]
    return Report(
        start=start,
        end=end,
        period=period,
        utc_offset=utc_offset,
        outlets=dict(outlets or {}),
        rows=rows,
        totals=tuple(totals[k] for k in sorted(totals)),
        purged_days=tuple(sorted(purged)),
        source={
            "entries": len(seqs),
            "first_seq": min(seqs) if seqs else None,
            "last_seq": max(seqs) if seqs else None,
        },
    )
