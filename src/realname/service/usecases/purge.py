"""Retention: what is kept, and for how long, enforced by ``realname purge`` and a periodic
task of the app. Every session state has a rule (:data:`SESSION_RETENTION`, a test checks that
none is missing):

* ``manual``, ``rejected``, ``failed``, ``bound``, ``expired``: the card and portrait go at once
  (a bind first moves the record into the identity).
* ``awaiting_card``, ``awaiting_capture``: cut at the session's deadline (state ``expired``):
  the session was abandoned, audited ``session.abandoned`` (with ``challenge.unanswered``,
  ``abandoned``, when a challenge was still outstanding) and counted.
* ``capturing``: released ``CAPTURE_INTERRUPTED`` once it outlives its time limit
  (:func:`realname.service.usecases.registration.release_stale_captures`); then its new state's
  rule.
* ``passed``, ``approved`` never bound: cut after ``evidence_retention_days`` (``expired``).
* ``review``: with its review, whose evidence (portrait, frame, plot, scores) is kept
  ``evidence_retention_days`` after it was opened; a review still pending then expires, and so
  does its session.
* An identity: ``identity_retention_days`` after its last number ended (MIIT Order 25: two
  years), then deleted with its ended numbers (never while a number is active).
* Expired tokens, failure records outside the window and ended lock-outs are deleted.
* Audit entries of the local days older than ``audit_retention_days`` (0, the default: never),
  their report figures kept as day counters first
  (:func:`realname.service.usecases.inspection.prune_audit`).
* A citizen look-up's portrait (一证通查): gone when the look-up passes or fails, and at its
  expiry otherwise (:func:`realname.service.usecases.citizen.forget_ended_lookups`).

Every change of state is conditional on the state it leaves, so a purge never overrides a
decision or a capture that won a race with it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from realname.records.audit import SYSTEM, Actor
from realname.service.context import ServiceContext
from realname.service.store.models import (
    Identity,
    IdFailure,
    IdLockout,
    RegistrationSession,
    Review,
    Subscription,
    Token,
)
from realname.service.store.rates import SqlRates
from realname.service.usecases.citizen import forget_ended_lookups
from realname.service.usecases.inspection import prune_audit
from realname.service.usecases.lifecycle import ReviewState, SessionState, move_review, move_session
from realname.service.usecases.registration import release_stale_captures

__all__ = ["PurgeReport", "purge"]


@dataclass(frozen=True, slots=True)
class PurgeReport:
    evidence: int
    sessions: int
    identities: int
    tokens: int
    audit_entries: int = 0  # pruned past audit_retention_days (their figures kept per day)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


Retention = Literal["at_once", "at_deadline", "after_release", "after_evidence", "with_review"]

S = SessionState
SESSION_RETENTION: Mapping[SessionState, Retention] = {
    S.MANUAL: "at_once",
    S.REJECTED: "at_once",
    S.FAILED: "at_once",
    S.BOUND: "at_once",
    S.EXPIRED: "at_once",
    S.AWAITING_CARD: "at_deadline",
    S.AWAITING_CAPTURE: "at_deadline",
    S.CAPTURING: "after_release",
    S.PASSED: "after_evidence",
    S.APPROVED: "after_evidence",
    S.REVIEW: "with_review",
}

_PERSONAL: dict[str, Any] = {
    "portrait_enc": None,
    "id_number_enc": None,
    "name_enc": None,
    "card_enc": None,
    "nonce_hash": None,
}


def _has_data() -> ColumnElement[bool]:
    return or_(
        RegistrationSession.portrait_enc.is_not(None),
        RegistrationSession.id_number_enc.is_not(None),
        RegistrationSession.name_enc.is_not(None),
        RegistrationSession.card_enc.is_not(None),
    )


def _expire_reviews(ctx: ServiceContext, session: Session) -> int:
    """Drop the evidence of reviews past retention; a pending one expires with its session."""
    now = ctx.now()
    due = list(
        session.scalars(
            select(Review).where(Review.expires_at <= now, Review.evidence_purged_at.is_(None))
        )
    )
    for review in due:
        session.execute(
            update(Review)
            .where(Review.id == review.id, Review.evidence_purged_at.is_(None))
            .values(
                portrait_enc=None,
                frame_enc=None,
                plot_enc=None,
                plot_zh_enc=None,
                details_enc=None,
                evidence_purged_at=now,
            )
        )
        if move_review(session, review.id, ReviewState.PENDING, ReviewState.EXPIRED):
            move_session(session, review.session_id, S.REVIEW, S.EXPIRED, ended_at=now, **_PERSONAL)
    return len(due)


def _abandon(ctx: ServiceContext, session: Session, state: SessionState, actor: Actor) -> int:
    """Expire the sessions of ``state`` past their deadline, each by one conditional UPDATE
    (with or without personal data: an abandoned session is counted either way), audited
    ``session.abandoned``; an outstanding challenge with it, ``challenge.unanswered``."""
    now = ctx.now()
    due = session.execute(
        select(
            RegistrationSession.id,
            RegistrationSession.nonce_hash,
            RegistrationSession.challenge_issued_at,
            RegistrationSession.challenges_issued,
            RegistrationSession.attempts,
            RegistrationSession.outlet_id,
        ).where(RegistrationSession.state == str(state), RegistrationSession.expires_at <= now)
    ).all()
    abandoned = 0
    for session_id, nonce_hash, issued_at, challenges, attempts, outlet_id in due:
        if not move_session(
            session,
            session_id,
            state,
            S.EXPIRED,
            where=[RegistrationSession.expires_at <= now],
            ended_at=now,
            challenge_issued_at=None,
            **_PERSONAL,
        ):
            continue
        if nonce_hash is not None:
            objects = {"session": session_id, "outlet": str(outlet_id)}  # for the reports
            if issued_at is not None:
                objects["issued_at"] = issued_at.isoformat()
            ctx.audit.append(session, actor, "challenge.unanswered", "abandoned", objects, at=now)
            ctx.metrics.challenges_unanswered.labels("abandoned").inc()
        ctx.audit.append(
            session,
            actor,
            "session.abandoned",
            str(state),
            {
                "session": session_id,
                "challenges": challenges or 0,
                "attempts": attempts,
                "outlet": str(outlet_id),
            },
            at=now,
        )
        ctx.metrics.sessions_abandoned.labels(str(state)).inc()
        abandoned += 1
    return abandoned


def _cut_sessions(ctx: ServiceContext, session: Session, actor: Actor) -> int:
    """Apply each state's rule to the sessions still holding personal data."""
    now = ctx.now()
    keep_evidence = timedelta(days=ctx.settings.evidence_retention_days)
    cut = 0
    for state, rule in SESSION_RETENTION.items():
        in_state = [RegistrationSession.state == str(state), _has_data()]
        if rule == "at_once":
            query = update(RegistrationSession).where(*in_state).values(**_PERSONAL)
        elif rule == "at_deadline":
            cut += _abandon(ctx, session, state, actor)
            continue
        elif rule == "after_evidence":
            query = (
                update(RegistrationSession)
                .where(*in_state, RegistrationSession.created_at <= now - keep_evidence)
                .values(state=str(S.EXPIRED), ended_at=now, **_PERSONAL)
            )
        else:  # after_release, with_review: handled by the release and the review expiry
            continue
        result = session.execute(query.execution_options(synchronize_session=False))
        cut += result.rowcount or 0  # type: ignore[attr-defined]
    return cut


def purge(ctx: ServiceContext, actor: Actor = SYSTEM) -> PurgeReport:
    release_stale_captures(ctx, actor)
    forget_ended_lookups(ctx)
    now = ctx.now()
    settings = ctx.settings
    with ctx.database.transaction() as session:
        evidence = _expire_reviews(ctx, session)
        sessions = _cut_sessions(ctx, session, actor)
        active = exists().where(
            Subscription.identity_id == Identity.id, Subscription.ended_at.is_(None)
        )
        gone = list(
            session.scalars(
                select(Identity.id).where(
                    Identity.retain_until.is_not(None), Identity.retain_until <= now, ~active
                )
            )
        )
        if gone:
            session.execute(
                update(RegistrationSession)
                .where(RegistrationSession.identity_id.in_(gone))
                .values(identity_id=None)
            )
            session.execute(delete(Subscription).where(Subscription.identity_id.in_(gone)))
            session.execute(delete(Identity).where(Identity.id.in_(gone)))
        tokens = session.execute(
            delete(Token).where(or_(Token.expires_at <= now, Token.revoked_at.is_not(None)))
        )
        window = timedelta(seconds=settings.lockout_window_s)
        session.execute(delete(IdFailure).where(IdFailure.at <= now - window))
        session.execute(delete(IdLockout).where(IdLockout.until <= now))
        report = PurgeReport(
            evidence=evidence,
            sessions=sessions,
            identities=len(gone),
            tokens=tokens.rowcount or 0,  # type: ignore[attr-defined]
        )
        if report.evidence or report.sessions or report.identities:
            ctx.audit.append(session, actor, "retention.purge", "ok", report.to_dict(), at=now)
    forget_spent_rates(ctx)
    return replace(report, audit_entries=prune_audit(ctx))


def forget_spent_rates(ctx: ServiceContext) -> int:
    """Delete the throttles' spends and budgets older than the longest window in force (the
    throttles count in wall-clock seconds, as ``limits`` does); returns the budgets gone."""
    items = [
        ctx.signin.throttle.per_account,
        ctx.signin.throttle.per_address,
        ctx.session_throttle.per_clerk,
        ctx.session_throttle.per_outlet,
    ]
    if ctx.lookup_throttle is not None:
        items += [ctx.lookup_throttle.per_id, ctx.lookup_throttle.per_address]
    longest = max(item.get_expiry() for item in items)
    return SqlRates(ctx.database).forget(time.time() - longest)
