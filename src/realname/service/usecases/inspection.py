"""Inspection: the reports and anomaly flags over the audit log (:mod:`realname.records.reports`,
:mod:`realname.records.flags`), scoped to who asks, and the acknowledgement of flags.

A supervisor sees their outlet only (a regional supervisor, created with ``--all-outlets``,
and an auditor see every outlet); the CLI (no principal) sees all. A report reads the audit
entries of its days plus the day counters kept for days whose entries were pruned
(:func:`prune_audit`, ``audit_retention_days``). Flags read the entries of their days and, for
the sessions they concern, the sessions' outlets and pseudonymous ID keys (the ID's HMAC index,
cut to 16 hex digits: never the number). Acknowledging a flag is audited ``flag.ack``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from realname.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from realname.records.audit import Actor, AuditEntry
from realname.records.flags import Flag, FlagRules, OutletHours, find_flags, parse_hours
from realname.records.reports import KeptDay, Report, build_report, day_counts, local_time
from realname.service.context import ServiceContext
from realname.service.security import Principal
from realname.service.settings import ServiceSettings
from realname.service.store.audit_store import to_entry as _to_entry
from realname.service.store.models import (
    AuditRow,
    FlagAck,
    Outlet,
    RegistrationSession,
    ReportDay,
    User,
)

__all__ = [
    "FlagView",
    "acknowledge_flag",
    "check_days",
    "entries_between",
    "flag_rules",
    "flags_for",
    "kept_days",
    "outlet_names",
    "prune_audit",
    "report_for",
    "utc_bounds",
    "utc_offset",
]

#: Flags look this far back before their first day for the sessions' openings (a session lasts
#: at most a visit; a number ended in the period may have been bound weeks before it).
LOOK_BACK = timedelta(days=90)
MAX_DAYS = 3700  # a report spans at most about ten years


def utc_offset(settings: ServiceSettings) -> timedelta:
    return timedelta(hours=settings.report_utc_offset_h)


def flag_rules(settings: ServiceSettings) -> FlagRules:
    return FlagRules(
        robust_z=settings.flag_robust_z,
        min_cases=settings.flag_min_cases,
        min_peers=settings.flag_min_peers,
        approves_all_share=settings.flag_approves_all_share,
        approves_all_min=settings.flag_approves_all_min,
        id_failures_min=settings.flag_id_failures_min,
        id_failures_outlets=settings.flag_id_failures_outlets,
        quick_end_s=settings.flag_quick_end_h * 3600,
        quick_end_min=settings.flag_quick_end_min,
        burst_gap_s=settings.flag_burst_gap_s,
        burst_min=settings.flag_burst_min,
        disputes_min=settings.flag_disputes_min,
    )


def _scope(principal: Principal | None, outlet: str | None) -> str | None:
    """The outlet a request may see: a supervisor of an outlet sees theirs only."""
    if principal is None or principal.role == "auditor":
        return outlet
    if principal.role != "supervisor":
        raise ForbiddenError("reports are for supervisors and auditors")
    if principal.outlet_id is None:
        return outlet  # a regional supervisor
    mine = str(principal.outlet_id)
    if outlet is not None and outlet != mine:
        raise ForbiddenError("a supervisor sees their own outlet's reports")
    return mine


def check_days(start: date, end: date) -> None:
    if end < start:
        raise InputError(f"the period ends ({end}) before it starts ({start})")
    if (end - start).days > MAX_DAYS:
        raise InputError(f"a report spans at most {MAX_DAYS} days")


def utc_bounds(start: date, end: date, offset: timedelta) -> tuple[str, str]:
    """The audit ``time`` strings of the local days' first and last instants (ISO, UTC, so
    they compare as text)."""
    first = datetime.combine(start, time.min, tzinfo=UTC) - offset
    last = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC) - offset
    return first.isoformat(timespec="milliseconds"), last.isoformat(timespec="milliseconds")


def entries_between(session: Session, since: str, until: str) -> list[AuditEntry]:
    rows = session.scalars(
        select(AuditRow).where(AuditRow.time >= since, AuditRow.time < until).order_by(AuditRow.id)
    )
    return [_to_entry(r) for r in rows]


def outlet_names(session: Session) -> dict[str, str]:
    return {str(o.id): o.name for o in session.scalars(select(Outlet))}


def kept_days(session: Session, start: date, end: date) -> list[KeptDay]:
    rows = session.scalars(
        select(ReportDay).where(
            ReportDay.day >= start.isoformat(), ReportDay.day <= end.isoformat()
        )
    )
    return [KeptDay(r.outlet, date.fromisoformat(r.day), json.loads(r.counts)) for r in rows]


def report_for(
    ctx: ServiceContext,
    principal: Principal | None,
    start: date,
    end: date,
    period: str = "day",
    outlet: str | None = None,
) -> Report:
    """The report of the local days ``start``..``end`` that ``principal`` may see."""
    check_days(start, end)
    where = _scope(principal, outlet)
    offset = utc_offset(ctx.settings)
    since, until = utc_bounds(start, end, offset)
    with ctx.database.transaction() as session:
        entries = entries_between(session, since, until)
        names = outlet_names(session)
        kept = kept_days(session, start, end)
    if where is not None:
        names = {k: v for k, v in names.items() if k == where}
    return build_report(
        entries,
        start=start,
        end=end,
        period=period,
        outlets=names,
        utc_offset=offset,
        kept=kept,
        outlet=where,
    )


@dataclass(frozen=True, slots=True)
class FlagView:
    flag: Flag
    outlet_name: str
    acknowledged: dict[str, str] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.flag.to_dict(),
            "outlet_name": self.outlet_name,
            "acknowledged": self.acknowledged,
        }


def _flag_inputs(
    session: Session, entries: list[AuditEntry]
) -> tuple[dict[str, OutletHours], dict[str, str], dict[str, str]]:
    hours: dict[str, OutletHours] = {}
    for o in session.scalars(select(Outlet)):
        parsed = parse_hours(o.opening_hours)
        if parsed is not None:
            hours[str(o.id)] = parsed
    employees = {
        u.username: u.employee_ref
        for u in session.scalars(select(User).where(User.employee_ref.is_not(None)))
        if u.employee_ref
    }
    failed = {
        e.objects.get("session", "")
        for e in entries
        if e.action == "capture.verdict" and e.outcome == "failed"
    }
    id_keys: dict[str, str] = {}
    if failed:
        rows = session.execute(
            select(RegistrationSession.id, RegistrationSession.id_index).where(
                RegistrationSession.id.in_(failed)
            )
        )
        id_keys = {sid: index[:16] for sid, index in rows if index}
    return hours, employees, id_keys


def flags_for(
    ctx: ServiceContext,
    principal: Principal | None,
    start: date,
    end: date,
    outlet: str | None = None,
) -> list[FlagView]:
    """Every flag over the local days ``start``..``end`` that ``principal`` may see; flags are
    scored against every outlet (a supervisor's outlet against its peers), then scoped."""
    check_days(start, end)
    where = _scope(principal, outlet)
    offset = utc_offset(ctx.settings)
    since, _ = utc_bounds(start - LOOK_BACK, end, offset)
    _, until = utc_bounds(start, end, offset)
    with ctx.database.transaction() as session:
        entries = entries_between(session, since, until)
        names = outlet_names(session)
        hours, employees, id_keys = _flag_inputs(session, entries)
        flags = find_flags(
            entries,
            start=start,
            end=end,
            rules=flag_rules(ctx.settings),
            utc_offset=offset,
            names=names,
            hours=hours,
            employees=employees,
            id_keys=id_keys,
        )
        if where is not None:
            flags = [f for f in flags if f.outlet == where]
        acks = {
            a.flag_id: a
            for a in session.scalars(
                select(FlagAck).where(FlagAck.flag_id.in_([f.id for f in flags]))
            )
        }
    return [
        FlagView(
            f,
            names.get(f.outlet, f.outlet),
            None
            if f.id not in acks
            else {
                "by": acks[f.id].acknowledged_by,
                "at": acks[f.id].acknowledged_at.isoformat(),
                "note": acks[f.id].note,
            },
        )
        for f in flags
    ]


def acknowledge_flag(
    ctx: ServiceContext,
    principal: Principal,
    flag_id: str,
    note: str,
    start: date,
    end: date,
) -> FlagView:
    """Acknowledge a flag that ``principal`` sees over ``start``..``end`` (audited)."""
    found = [v for v in flags_for(ctx, principal, start, end) if v.flag.id == flag_id]
    if not found:
        raise NotFoundError("no such flag in this period", flag=flag_id)
    view = found[0]
    now = ctx.now()
    try:
        with ctx.database.transaction() as session:
            session.add(
                FlagAck(
                    flag_id=flag_id,
                    kind=view.flag.kind,
                    outlet=view.flag.outlet,
                    acknowledged_by=principal.username,
                    acknowledged_at=now,
                    note=note.strip(),
                )
            )
            session.flush()
            ctx.audit.append(
                session,
                Actor(principal.username, principal.outlet_id),
                "flag.ack",
                view.flag.kind,
                {"flag": flag_id, "outlet": view.flag.outlet},
                at=now,
            )
    except IntegrityError:
        raise ConflictError("this flag was already acknowledged") from None
    ack = {"by": principal.username, "at": now.isoformat(), "note": note.strip()}
    return FlagView(view.flag, view.outlet_name, ack)


def prune_audit(ctx: ServiceContext) -> int:
    """Prune the audit entries of the local days older than ``audit_retention_days`` (0:
    never), keeping their figures as day counters. The last pruned entry gets a signed head if
    it has none, so the entries kept still verify from it (:func:`realname.records.audit.
    verify_chain` anchors a slice on the head just before it). Returns how many entries went."""
    days = ctx.settings.audit_retention_days
    if days <= 0:
        return 0
    offset = utc_offset(ctx.settings)
    cut_day = (ctx.now() + offset).date() - timedelta(days=days)
    cut, _ = utc_bounds(cut_day, cut_day, offset)  # the first instant kept
    with ctx.database.transaction() as session:
        ctx.audit.lock(session)
        old = [
            _to_entry(r)
            for r in session.scalars(
                select(AuditRow).where(AuditRow.time < cut).order_by(AuditRow.id)
            )
        ]
        if not old:
            return 0
        last = old[-1]
        ctx.audit.ensure_head(session, last)
        folded = day_counts(old, offset)
        for (outlet, day), row in folded.items():
            seqs = [e.seq for e in old if local_time(e, offset).date() == day]
            session.add(
                ReportDay(
                    outlet=outlet,
                    day=day.isoformat(),
                    counts=json.dumps(row.kept_counts(), sort_keys=True),
                    first_seq=min(seqs),
                    last_seq=max(seqs),
                    folded_at=ctx.now(),
                )
            )
        session.execute(delete(AuditRow).where(AuditRow.seq <= last.seq))
        ctx.audit.append(
            session,
            Actor("system"),
            "audit.prune",
            "ok",
            {"entries": len(old), "through": last.seq, "before": cut_day.isoformat()},
            at=ctx.now(),
        )
        return len(old)
