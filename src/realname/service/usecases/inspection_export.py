"""The regulator's export: everything an inspection package holds, read from the database in one
transaction, checked, and written by :func:`realname.records.inspection.write_package` (the
package's layout and what ``realname inspect verify`` checks are documented there).

The slice is the period's entries widened to the nearest heads the service signed while it ran
(:func:`~realname.records.inspection.slice_bounds`); only where the period's last entries have
no head yet (the period ends today, within a signing interval) is one signed now, as the
periodic signing would. The stored chain of the slice is verified before anything is written: a
broken one is refused (``CONFLICT``: run ``realname audit verify``), not exported.

The versions are the ones in force at export time (the policy's version and the operating
points' thresholds, the engines' names and versions, the software's version): the audit log
does not record them per decision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from realname.errors import ConflictError, RealnameError
from realname.policy import MatchPolicy, default_policy_path, load_policy
from realname.records.audit import AuditEntry, ChainHead, key_id, verify_chain
from realname.records.inspection import period_entries, slice_bounds, write_package
from realname.records.reports import build_report
from realname.service.context import ServiceContext
from realname.service.store.audit_store import to_entry
from realname.service.store.models import AuditRow
from realname.service.usecases.inspection import (
    check_days,
    entries_between,
    flags_for,
    kept_days,
    outlet_names,
    utc_bounds,
    utc_offset,
)

__all__ = ["PackageSummary", "export_package", "versions_in_force"]


@dataclass(frozen=True, slots=True)
class PackageSummary:
    folder: Path
    start: date
    end: date
    entries: int  # in the slice (the period's and its edges')
    period_entries: int
    heads: int
    flags: int
    key_id: str


def _slice(ctx: ServiceContext, start: date, end: date) -> tuple[list[AuditEntry], list[ChainHead]]:
    """The period's entries widened to the covering signed heads, and those heads."""
    since, until = utc_bounds(start, end, utc_offset(ctx.settings))
    with ctx.database.transaction() as session:
        held = entries_between(session, since, until)
        if not held:
            return [], []
        first = min(held, key=lambda e: e.seq)
        last = max(held, key=lambda e: e.seq)
        heads = ctx.audit.heads(session)
        seqs = [h.seq for h in heads]
        low, high = slice_bounds(first.seq, last.seq, seqs)
        # One signing interval further where an edge of the slice is the period's own entry,
        # so that the package holds an entry of the day before and of the day after: what
        # shows that no entry of the period was left out (verify notes an edge it cannot show).
        oldest = session.scalar(select(func.min(AuditRow.seq)))
        if low == first.seq and oldest is not None and low - 1 >= oldest:
            low, _ = slice_bounds(low - 1, last.seq, seqs)
        if high is None:
            ctx.audit.ensure_head(session, last)
            heads = ctx.audit.heads(session)
            high = last.seq
        elif high == last.seq:
            _, later = slice_bounds(first.seq, high + 1, seqs)
            high = later if later is not None else high
        rows = session.scalars(
            select(AuditRow).where(AuditRow.seq >= low, AuditRow.seq <= high).order_by(AuditRow.seq)
        )
        entries = [to_entry(r) for r in rows]
    covering = [h for h in heads if low - 1 <= h.seq <= high]
    return entries, covering


def _policy(ctx: ServiceContext) -> tuple[MatchPolicy, str]:
    path = ctx.settings.policy_file or default_policy_path()
    policy = ctx.policy or load_policy(path)
    return policy, hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _engine(kind: str, name: str) -> dict[str, str]:
    from realname.engines import create_detector, create_embedder, create_landmarker

    create: Callable[[str], Any] = {
        "detector": create_detector,
        "embedder": create_embedder,
        "landmarker": create_landmarker,
    }[kind]
    try:
        engine = create(name)  # constructing loads nothing
    except RealnameError:
        return {"name": name, "version": "unknown"}
    return {"name": name, "version": str(engine.version)}


def versions_in_force(ctx: ServiceContext) -> dict[str, Any]:
    """The policy, the operating points, the engines and the software in force now."""
    s = ctx.settings
    policy, digest = _policy(ctx)
    match = policy.operating_point(s.face_embedder, s.match_fmr)
    review = policy.operating_point(s.face_embedder, s.review_fmr)
    try:
        software = package_version("realname")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        software = "unknown"
    return {
        "realname": software,
        "policy": {"version": policy.version, "sha256": digest},
        "match": {"fmr": match.fmr_target, "threshold": match.threshold},
        "review": {"fmr": review.fmr_target, "threshold": review.threshold},
        "engines": {
            "detector": _engine("detector", s.face_detector),
            "embedder": _engine("embedder", s.face_embedder),
            "landmarker": _engine("landmarker", s.landmarker),
        },
        "card_reader": s.card_reader,
    }


def export_package(
    ctx: ServiceContext, folder: Path, start: date, end: date, period: str = "day"
) -> PackageSummary:
    """Write the inspection package of the local days ``start``..``end`` into ``folder``."""
    check_days(start, end)
    offset = utc_offset(ctx.settings)
    entries, heads = _slice(ctx, start, end)
    public_key = ctx.audit.signing_key.public_key()
    checked = verify_chain(entries, heads, public_key)
    if not checked.ok:
        raise ConflictError(
            f"the audit log is broken ({checked.reason}): nothing was exported; "
            "run `realname audit verify` on an export of the whole log"
        )
    with ctx.database.transaction() as session:
        names = outlet_names(session)
        kept = kept_days(session, start, end)
    held = period_entries(entries, start, end, offset)
    report = build_report(
        held, start=start, end=end, period=period, outlets=names, utc_offset=offset, kept=kept
    )
    flags = [view.to_dict() for view in flags_for(ctx, None, start, end)]
    write_package(
        folder,
        entries=entries,
        heads=heads,
        report=report,
        flags=flags,
        versions=versions_in_force(ctx),
        kept=kept,
        signing_key=ctx.audit.signing_key,
        created_at=ctx.now(),
    )
    return PackageSummary(
        folder, start, end, len(entries), len(held), len(heads), len(flags), key_id(public_key)
    )
