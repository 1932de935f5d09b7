"""The supervisor's queue of borderline cases, with encrypted evidence that expires."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from realname.errors import NotFoundError, ReviewDecidedError
from realname.records.audit import Actor
from realname.service.context import ServiceContext
from realname.service.security import Principal
from realname.service.store.models import RegistrationSession, Review
from realname.service.usecases.lifecycle import ReviewState, SessionState, move_review, move_session

__all__ = [
    "EVIDENCE_KINDS",
    "EvidenceImage",
    "PlotLanguage",
    "ReviewView",
    "decide_review",
    "evidence_image",
    "get_review",
    "list_reviews",
]

EvidenceKind = Literal["portrait", "frame", "plot"]
PlotLanguage = Literal["en", "zh-CN"]
EVIDENCE_KINDS: tuple[EvidenceKind, ...] = ("portrait", "frame", "plot")


@dataclass(frozen=True, slots=True)
class ReviewView:
    id: str
    session_id: str
    outlet_id: int
    state: str
    created_at: datetime
    expires_at: datetime
    reasons: tuple[str, ...]
    evidence: tuple[EvidenceKind, ...]  # kinds still held
    id_number_masked: str | None
    details: dict[str, Any] | None  # scores: supervisors and auditors only
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None
    portrait_source: str = "chip"  # the reference: the chip's portrait or the card's printed one


def _visible(principal: Principal, review: Review | None) -> Review:
    if review is None:
        raise NotFoundError("no such review")
    if principal.role == "supervisor" and principal.outlet_id not in (None, review.outlet_id):
        raise NotFoundError("no such review")
    return review


def _view(
    ctx: ServiceContext,
    r: Review,
    masked: str | None,
    with_details: bool,
    portrait_source: str | None = None,
) -> ReviewView:
    held = {"portrait": r.portrait_enc, "frame": r.frame_enc, "plot": r.plot_enc}
    details = None
    if with_details and r.details_enc is not None:
        details = json.loads(
            ctx.keys.cipher.decrypt_text(r.details_enc, f"evidence:details:{r.id}")
        )
    return ReviewView(
        id=r.id,
        session_id=r.session_id,
        outlet_id=r.outlet_id,
        state=r.state,
        created_at=r.created_at,
        expires_at=r.expires_at,
        reasons=tuple(x for x in r.reasons.split(",") if x),
        evidence=tuple(k for k in EVIDENCE_KINDS if held[k] is not None),
        id_number_masked=masked,
        details=details,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        decision_reason=r.decision_reason,
        portrait_source=portrait_source or "chip",
    )


def list_reviews(ctx: ServiceContext, principal: Principal, state: str | None) -> list[ReviewView]:
    with ctx.database.transaction() as session:
        query = (
            select(
                Review, RegistrationSession.id_number_masked, RegistrationSession.portrait_source
            )
            .join(RegistrationSession, RegistrationSession.id == Review.session_id)
            .order_by(Review.created_at, Review.id)
        )
        if state:
            query = query.where(Review.state == state)
        if principal.role == "supervisor" and principal.outlet_id is not None:
            query = query.where(Review.outlet_id == principal.outlet_id)
        rows = session.execute(query).all()
        return [_view(ctx, r, masked, False, source) for r, masked, source in rows]


def get_review(ctx: ServiceContext, principal: Principal, review_id: str) -> ReviewView:
    with ctx.database.transaction() as session:
        r = _visible(principal, session.get(Review, review_id))
        s = session.get(RegistrationSession, r.session_id)
        masked, source = (s.id_number_masked, s.portrait_source) if s else (None, None)
        return _view(ctx, r, masked, True, source)


@dataclass(frozen=True, slots=True)
class EvidenceImage:
    """A decrypted evidence image: its bytes, media type and, for the plot, the language it is
    drawn in (``fallback``: Chinese was asked for, but the plot exists only in English, drawn
    where no CJK font was found)."""

    data: bytes
    media_type: str
    language: PlotLanguage | None = None
    fallback: bool = False


def evidence_image(
    ctx: ServiceContext,
    principal: Principal,
    review_id: str,
    kind: EvidenceKind,
    lang: PlotLanguage = "en",
) -> EvidenceImage:
    """The decrypted evidence image; the plot in ``lang`` (the English one when there is no
    Chinese one: ``fallback``)."""
    with ctx.database.transaction() as session:
        r = _visible(principal, session.get(Review, review_id))
        blob = {"portrait": r.portrait_enc, "frame": r.frame_enc, "plot": r.plot_enc}[kind]
        context, fallback = f"evidence:{kind}:{review_id}", False
        language: PlotLanguage | None = None
        if kind == "plot" and blob is not None:
            language = "en"
            if lang == "zh-CN" and r.plot_zh_enc is not None:
                blob, context, language = r.plot_zh_enc, f"evidence:plot_zh:{review_id}", "zh-CN"
            fallback = lang != language
    if blob is None:
        raise NotFoundError(f"the {kind} evidence of this review is gone (retention) or absent")
    data = ctx.keys.cipher.decrypt(blob, context)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        media_type = "image/png"
    elif data[:3] == b"\xff\xd8\xff":
        media_type = "image/jpeg"
    else:
        media_type = "application/octet-stream"
    return EvidenceImage(data, media_type, language, fallback)


def decide_review(
    ctx: ServiceContext, principal: Principal, review_id: str, approve: bool, reason: str
) -> ReviewView:
    """Approve (the session becomes bindable) or reject; once, while pending. The review and
    its session move together, each by a conditional UPDATE: of concurrent decisions exactly
    one wins, the others answer 409 REVIEW_DECIDED."""
    now = ctx.now()
    review_state = ReviewState.APPROVED if approve else ReviewState.REJECTED
    session_state = SessionState.APPROVED if approve else SessionState.REJECTED
    with ctx.database.transaction() as session:
        r = _visible(principal, session.get(Review, review_id))
        decided = move_review(
            session,
            r.id,
            ReviewState.PENDING,
            review_state,
            decided_by=principal.user_id,
            decided_at=now,
            decision_reason=reason.strip(),
        )
        if not decided:
            session.refresh(r)
            raise ReviewDecidedError(f"the review is {r.state}", state=r.state)
        moved = move_session(
            session,
            r.session_id,
            SessionState.REVIEW,
            session_state,
            ended_at=None if approve else now,
        )
        if not moved:  # the session left review another way (retention): nothing is decided
            raise ReviewDecidedError("the review's session is no longer in review")
        ctx.audit.append(
            session,
            Actor(principal.username, principal.outlet_id),
            "review.decision",
            str(review_state),
            {"review": r.id, "session": r.session_id},  # the free-text reason stays in its row
            at=now,
        )
        session.refresh(r)
        s = session.get(RegistrationSession, r.session_id)
        return _view(ctx, r, s.id_number_masked if s else None, True)
