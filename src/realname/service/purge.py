"""Retention: what is kept, and for how long, enforced by ``realname purge`` and a periodic
task of the app.

* Review evidence (portrait, frame, plot, scores): ``evidence_retention_days`` after the review
  was opened; a review still pending then expires (its session too).
* A session's card and portrait: as soon as it ends (the bind moves the record into the
  identity); a session left open is cut at its deadline; a passed or approved session never
  bound is cut after ``evidence_retention_days``.
* An identity: ``identity_retention_days`` after its last number ended (MIIT Order 25: two
  years), then deleted with its ended numbers.
* Expired tokens, failure records outside the window and ended lock-outs are deleted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select, update

from realname.service.audit_store import SYSTEM, Actor
from realname.service.context import ServiceContext
from realname.service.models import (
    Identity,
    IdFailure,
    IdLockout,
    RegistrationSession,
    Review,
    Subscription,
    Token,
)

__all__ = ["PurgeReport", "purge"]


@dataclass(frozen=True, slots=True)
class PurgeReport:
    evidence: int
    sessions: int
    identities: int
    tokens: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


_PERSONAL = {
    "portrait_enc": None,
    "id_number_enc": None,
    "name_enc": None,
    "card_enc": None,
}


def purge(ctx: ServiceContext, actor: Actor = SYSTEM) -> PurgeReport:
    now = ctx.now()
    settings = ctx.settings
    keep_evidence = timedelta(days=settings.evidence_retention_days)
    with ctx.database.transaction() as session:
        expired_reviews = list(
            session.scalars(
                select(Review).where(Review.expires_at <= now, Review.evidence_purged_at.is_(None))
            )
        )
        for review in expired_reviews:
            review.portrait_enc = review.frame_enc = review.plot_enc = None
            review.details_enc = None
            review.evidence_purged_at = now
            if review.state == "pending":
                review.state = "expired"
                session.execute(
                    update(RegistrationSession)
                    .where(RegistrationSession.id == review.session_id)
                    .values(state="expired", ended_at=now)
                )
        stale = or_(
            RegistrationSession.state.in_(("failed", "rejected", "manual", "expired", "bound")),
            (
                RegistrationSession.state.in_(("awaiting_card", "awaiting_capture"))
                & (RegistrationSession.expires_at <= now)
            ),
            (
                RegistrationSession.state.in_(("passed", "approved"))
                & (RegistrationSession.created_at <= now - keep_evidence)
            ),
        )
        has_data = or_(
            RegistrationSession.portrait_enc.is_not(None),
            RegistrationSession.id_number_enc.is_not(None),
            RegistrationSession.name_enc.is_not(None),
            RegistrationSession.card_enc.is_not(None),
        )
        ids = list(session.scalars(select(RegistrationSession.id).where(stale, has_data)))
        if ids:
            session.execute(
                update(RegistrationSession)
                .where(RegistrationSession.id.in_(ids))
                .values(**_PERSONAL, nonce_hash=None)
            )
            session.execute(
                update(RegistrationSession)
                .where(
                    RegistrationSession.id.in_(ids),
                    RegistrationSession.state.in_(
                        ("awaiting_card", "awaiting_capture", "passed", "approved")
                    ),
                )
                .values(state="expired", ended_at=now)
            )
        gone = list(
            session.scalars(
                select(Identity.id).where(
                    Identity.retain_until.is_not(None), Identity.retain_until <= now
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
            evidence=len(expired_reviews),
            sessions=len(ids),
            identities=len(gone),
            tokens=tokens.rowcount or 0,  # type: ignore[attr-defined]
        )
        if report.evidence or report.sessions or report.identities:
            ctx.audit.append(session, actor, "retention.purge", "ok", report.to_dict(), at=now)
        return report
