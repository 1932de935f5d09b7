"""Disputes: a number its ID's holder said is not theirs (from a passed citizen look-up,
:mod:`realname.service.usecases.citizen`), for the supervisors of the number's outlet to answer.

States (``disputes.state``)::

    open ── supervisor of the number's outlet ──> answered (outcome upheld | dismissed)

``upheld`` ends the number at once, as a deregistration does (:func:`numbers.end_number`, end
reason ``dispute <id>``, audited ``number.deregister``). The answer is one conditional UPDATE
(``state = 'open'``): of two answers exactly one wins, the other gets 409 ``DISPUTE_ANSWERED``,
on SQLite and PostgreSQL. Supervisors see their outlet's disputes (a regional supervisor,
without an outlet, all), auditors read all; another outlet's dispute is "not found". Audited
``dispute.answer`` with the outlet and the dispute's id; the answer's text stays in its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, aliased

from realname.errors import DisputeAnsweredError, NotFoundError, RequestInvalidError
from realname.identity.identifiers import canonical_text
from realname.records.audit import Actor
from realname.service.context import ServiceContext
from realname.service.security import Principal
from realname.service.store.models import Dispute, Outlet, RegistrationSession, Subscription, User
from realname.service.usecases.numbers import end_number

__all__ = [
    "DisputeState",
    "DisputeView",
    "Outcome",
    "answer_dispute",
    "list_disputes",
]

Outcome = Literal["upheld", "dismissed"]
ANSWER_MAX = 500


class DisputeState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class DisputeView:
    id: str
    state: str
    outlet_id: int
    outlet: str
    msisdn: str  # masked
    session_id: str
    clerk: str  # the username of the clerk whose session bound the number
    bound_at: datetime
    opened_at: datetime
    note: str
    outcome: str | None
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None


def _restricted(principal: Principal) -> bool:
    return principal.role == "supervisor" and principal.outlet_id is not None


def _query(principal: Principal) -> Select[Dispute, str, str, str]:
    clerk, answerer = aliased(User), aliased(User)
    query = (
        select(Dispute, Outlet.name, clerk.username, answerer.username)
        .join(Outlet, Outlet.id == Dispute.outlet_id)
        .join(RegistrationSession, RegistrationSession.id == Dispute.session_id)
        .join(clerk, clerk.id == RegistrationSession.clerk_id)
        .outerjoin(answerer, answerer.id == Dispute.answered_by)
        .order_by(Dispute.opened_at, Dispute.id)
    )
    if _restricted(principal):
        query = query.where(Dispute.outlet_id == principal.outlet_id)
    return query


def _view(
    ctx: ServiceContext, d: Dispute, outlet: str, clerk: str, answered_by: str | None
) -> DisputeView:
    note = ""
    if d.note_enc is not None:
        note = ctx.keys.cipher.decrypt_text(d.note_enc, f"note:dispute:{d.id}")
    return DisputeView(
        id=d.id,
        state=d.state,
        outlet_id=d.outlet_id,
        outlet=outlet,
        msisdn=d.msisdn_masked,
        session_id=d.session_id,
        clerk=clerk,
        bound_at=d.bound_at,
        opened_at=d.opened_at,
        note=note,
        outcome=d.outcome,
        answer=d.answer,
        answered_by=answered_by,
        answered_at=d.answered_at,
    )


def list_disputes(
    ctx: ServiceContext, principal: Principal, state: str | None
) -> list[DisputeView]:
    """Oldest first; a supervisor of an outlet sees that outlet's only."""
    with ctx.database.transaction() as session:
        query = _query(principal)
        if state:
            query = query.where(Dispute.state == state)
        return [_view(ctx, d, o, c, a) for d, o, c, a in session.execute(query).all()]


def _one(
    ctx: ServiceContext, session: Session, principal: Principal, dispute_id: str
) -> DisputeView:
    row = session.execute(_query(principal).where(Dispute.id == dispute_id)).first()
    if row is None:
        raise NotFoundError("no such dispute")
    d, outlet, clerk, answered_by = row
    return _view(ctx, d, outlet, clerk, answered_by)


def answer_dispute(
    ctx: ServiceContext, principal: Principal, dispute_id: str, outcome: Outcome, answer: str
) -> DisputeView:
    """Answer an open dispute of the supervisor's outlet, once; ``upheld`` ends the number."""
    now = ctx.now()
    text = canonical_text(answer, "the answer", max_length=ANSWER_MAX, error=RequestInvalidError)
    actor = Actor(principal.username, principal.outlet_id)
    with ctx.database.transaction() as session:
        before = _one(ctx, session, principal, dispute_id)
        won = session.execute(
            update(Dispute)
            .where(Dispute.id == dispute_id, Dispute.state == str(DisputeState.OPEN))
            .values(
                state=str(DisputeState.ANSWERED),
                outcome=outcome,
                answer=text,
                answered_by=principal.user_id,
                answered_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won != 1:
            raise DisputeAnsweredError("the dispute was already answered", state=before.state)
        objects = {"outlet": str(before.outlet_id), "dispute": dispute_id}
        ctx.audit.append(session, actor, "dispute.answer", outcome, objects, at=now)
        subscription_id = session.scalar(
            select(Dispute.subscription_id).where(Dispute.id == dispute_id)
        )
        if outcome == "upheld" and subscription_id is not None:
            where = [Subscription.id == subscription_id]
            end_number(ctx, session, actor, where, f"dispute {dispute_id}", now)
        return _one(ctx, session, principal, dispute_id)
