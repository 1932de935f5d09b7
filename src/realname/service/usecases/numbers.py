"""Binding mobile numbers to identities: at most ``max_numbers_per_id`` active numbers per ID,
an active number on one ID only, a verified session used once.

Concurrency: the session is claimed by a conditional UPDATE (``passed``/``approved`` to
``bound``); the identity row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite holds
the database write lock from ``BEGIN IMMEDIATE``) before the active numbers are counted; and the
partial unique index on active numbers refuses a number bound concurrently to another ID.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from realname.errors import (
    ConsentRefusedError,
    InternalError,
    NotFoundError,
    NumberCapReachedError,
    NumberTakenError,
    SessionNotPassedError,
    SessionUsedError,
)
from realname.identity.rules import parse_msisdn
from realname.records.audit import Actor
from realname.records.crypto import FieldCipher
from realname.service.context import ServiceContext
from realname.service.security import Principal
from realname.service.store.models import Identity, RegistrationSession, Subscription
from realname.service.usecases.lifecycle import SessionState, move_session
from realname.service.usecases.registration import load_visible, session_id_indexes

__all__ = [
    "Binding",
    "NumberList",
    "bind_number",
    "deregister_number",
    "end_number",
    "list_numbers",
    "mask_msisdn",
    "msisdn_indexes",
]


def mask_msisdn(msisdn: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    return msisdn[:3] + "****" + msisdn[-4:]


@dataclass(frozen=True, slots=True)
class ActiveNumber:
    msisdn_masked: str
    since: datetime


@dataclass(frozen=True, slots=True)
class NumberList:
    id_number_masked: str | None
    numbers: tuple[ActiveNumber, ...]
    max_numbers: int


@dataclass(frozen=True, slots=True)
class Binding:
    session_id: str
    msisdn_masked: str
    id_number_masked: str
    active_numbers: int
    max_numbers: int


def msisdn_indexes(cipher: FieldCipher, msisdn: str) -> tuple[str, ...]:
    """The number's index under every index key, newest first (the newest is written)."""
    return cipher.indexes("msisdn:" + msisdn)


# A session in these states may bind one number (a review approved counts as passed).
BINDABLE_STATES = frozenset({SessionState.PASSED, SessionState.APPROVED})


def _claim(session: Session, s: RegistrationSession) -> None:
    if move_session(session, s.id, BINDABLE_STATES, SessionState.BOUND):
        return
    session.refresh(s)
    if s.state == SessionState.BOUND:
        raise SessionUsedError("this session was already used for a number")
    if s.state == SessionState.MANUAL:
        raise ConsentRefusedError("biometric consent was refused: use the manual procedure")
    raise SessionNotPassedError(f"the session is {s.state}, not passed", state=s.state)


#: The class of the advisory locks that serialise binds on an index: PostgreSQL's key space of
#: two 32-bit keys, which the audit chain's single 64-bit key does not share.
_INDEX_LOCK_CLASS = 0x524E4958


def _serialise_on(ctx: ServiceContext, session: Session, indexes: tuple[str, ...]) -> None:
    """Hold, until the transaction ends, a lock on each of ``indexes`` (the ID's and the
    number's, under every index key this instance knows), so that two binds that share any of
    them run one after the other.

    The row locks and the unique indexes already do this while every instance writes under the
    same index key. While the instances restart to add one, an instance that knows [A] and one
    that knows [A, B] would otherwise both find no identity for a new ID and store it under A's
    index and B's, two identities each under the cap; or bind one number twice. The two lists
    share A's index, so the second bind waits, then finds the first's rows. PostgreSQL: an
    advisory lock per index (a 32-bit digest: a collision only makes two binds wait for each
    other), taken in sorted order so that binds never deadlock; SQLite: ``BEGIN IMMEDIATE``
    already serialises every transaction."""
    if not ctx.database.is_postgres:
        return
    keys = sorted(
        {
            int.from_bytes(hashlib.blake2b(i.encode(), digest_size=4).digest(), "big", signed=True)
            for i in indexes
        }
    )
    for key in keys:
        session.execute(
            text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": _INDEX_LOCK_CLASS, "k": key}
        )


def _locked_identity(session: Session, id_indexes: tuple[str, ...]) -> Identity | None:
    """The identity stored under any of the ID's indexes, locked until the transaction ends."""
    return session.scalars(
        select(Identity)
        .where(Identity.id_index.in_(id_indexes))
        .order_by(Identity.id)
        .limit(1)
        .with_for_update()
    ).first()


def _identity_for_update(
    ctx: ServiceContext, session: Session, s: RegistrationSession, now: datetime
) -> Identity:
    """The session's identity (under any index key), created under the newest if new, locked
    until the transaction ends."""
    if not (s.id_index and s.id_number_enc and s.name_enc and s.card_enc):
        raise InternalError("a session claimed for a number has no card")
    cipher = ctx.keys.cipher
    number = cipher.decrypt_text(s.id_number_enc, f"id_number:session:{s.id}")
    name = cipher.decrypt_text(s.name_enc, f"name:session:{s.id}")
    card = cipher.decrypt_text(s.card_enc, f"id_card:session:{s.id}")
    id_indexes = cipher.indexes(number)
    identity = _locked_identity(session, id_indexes)
    if identity is None:
        new = id_indexes[0]
        values = {
            "id_index": new,
            "id_number_masked": s.id_number_masked or "",
            "id_number_enc": cipher.encrypt_text(number, f"id_number:identity:{new}"),
            "name_enc": cipher.encrypt_text(name, f"name:identity:{new}"),
            "card_enc": cipher.encrypt_text(card, f"id_card:identity:{new}"),
            "created_at": now,
        }
        insert = pg_insert if ctx.database.is_postgres else sqlite_insert
        session.execute(insert(Identity).values(**values).on_conflict_do_nothing())
        identity = _locked_identity(session, id_indexes)
    if identity is None:
        raise InternalError("an identity just stored cannot be found")
    # The latest card read replaces the stored one (a renewed card, a new name), bound to the
    # index the identity is stored under (the rotation moves it to the newest).
    identity.name_enc = cipher.encrypt_text(name, f"name:identity:{identity.id_index}")
    identity.card_enc = cipher.encrypt_text(card, f"id_card:identity:{identity.id_index}")
    identity.retain_until = None
    return identity


def _check_room(session: Session, identity: Identity, indexes: tuple[str, ...], cap: int) -> int:
    """Refuse a number over the ID's cap or already registered; else the ID's active count."""
    active = session.scalar(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.identity_id == identity.id, Subscription.ended_at.is_(None))
    )
    if (active or 0) >= cap:
        raise NumberCapReachedError(f"this ID already holds {cap} active numbers", max_numbers=cap)
    taken = session.scalar(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.msisdn_index.in_(indexes), Subscription.ended_at.is_(None))
    )
    if taken:
        raise NumberTakenError("this number is already registered")
    return active or 0


def _forget_card(
    session: Session, s: RegistrationSession, identity: Identity, now: datetime
) -> None:
    """The registration record now lives in the identity: the session forgets the card."""
    session.execute(
        update(RegistrationSession)
        .where(RegistrationSession.id == s.id)
        .values(
            identity_id=identity.id,
            ended_at=now,
            portrait_enc=None,
            id_number_enc=None,
            name_enc=None,
            card_enc=None,
        )
        .execution_options(synchronize_session=False)
    )


def bind_number(
    ctx: ServiceContext, principal: Principal, session_id: str, msisdn_text: str
) -> Binding:
    msisdn = parse_msisdn(msisdn_text)
    masked = mask_msisdn(msisdn)
    indexes = msisdn_indexes(ctx.keys.cipher, msisdn)
    index = indexes[0]
    now = ctx.now()
    cap = ctx.settings.max_numbers_per_id
    try:
        with ctx.database.transaction() as session:
            s = load_visible(session, principal, session_id)
            _claim(session, s)
            _serialise_on(ctx, session, (*session_id_indexes(ctx, s), *indexes))
            identity = _identity_for_update(ctx, session, s, now)
            active = _check_room(session, identity, indexes, cap)
            session.add(
                Subscription(
                    identity_id=identity.id,
                    session_id=s.id,
                    msisdn_index=index,
                    msisdn_masked=masked,
                    msisdn_enc=ctx.keys.cipher.encrypt_text(msisdn, f"msisdn:{index}"),
                    outlet_id=s.outlet_id,
                    created_at=now,
                )
            )
            session.flush()  # the partial unique index speaks here
            _forget_card(session, s, identity, now)
            ctx.audit.append(
                session,
                Actor(principal.username, principal.outlet_id),
                "number.bind",
                "ok",
                {"session": s.id, "msisdn": masked, "id": identity.id_number_masked},
                at=now,
            )
            return Binding(s.id, masked, identity.id_number_masked, active + 1, cap)
    except IntegrityError:
        raise NumberTakenError("this number is already registered") from None


def list_numbers(ctx: ServiceContext, principal: Principal, session_id: str) -> NumberList:
    """The active numbers of the ID read in a session (masked), and the cap."""
    cap = ctx.settings.max_numbers_per_id
    with ctx.database.transaction() as session:
        s = load_visible(session, principal, session_id)
        id_indexes = session_id_indexes(ctx, s)
        if not id_indexes:
            return NumberList(None, (), cap)
        if s.identity_id is not None:
            identity = session.get(Identity, s.identity_id)
        else:
            identity = session.scalars(
                select(Identity).where(Identity.id_index.in_(id_indexes)).order_by(Identity.id)
            ).first()
        if identity is None:
            return NumberList(s.id_number_masked, (), cap)
        rows = session.scalars(
            select(Subscription)
            .where(Subscription.identity_id == identity.id, Subscription.ended_at.is_(None))
            .order_by(Subscription.created_at, Subscription.id)
        )
        numbers = tuple(ActiveNumber(r.msisdn_masked, r.created_at) for r in rows)
        return NumberList(identity.id_number_masked, numbers, cap)


NOT_HERE = "this number is not registered at your outlet"


def deregister_number(
    ctx: ServiceContext, principal: Principal, msisdn_text: str, reason: str
) -> str:
    """End an active number (soft) bound at the caller's outlet; an identity without numbers
    is kept for the retention period, then purged. Returns the masked number.

    A clerk or supervisor ends only numbers bound at their own outlet; a regional supervisor
    (no outlet, created explicitly with ``--all-outlets``) ends any. Another outlet's number
    and a number not registered get the same answer (404, same detail), so the answer does
    not tell anyone whether a number is registered elsewhere. The end is one conditional
    UPDATE (``ended_at IS NULL``): of concurrent requests one ends it, the others get 404."""
    msisdn = parse_msisdn(msisdn_text)
    masked = mask_msisdn(msisdn)
    indexes = msisdn_indexes(ctx.keys.cipher, msisdn)
    now = ctx.now()
    scope = (
        [Subscription.outlet_id == principal.outlet_id] if principal.outlet_id is not None else []
    )
    with ctx.database.transaction() as session:
        where = [Subscription.msisdn_index.in_(indexes), *scope]
        actor = Actor(principal.username, principal.outlet_id)
        if end_number(ctx, session, actor, where, reason, now) is None:
            raise NotFoundError(NOT_HERE)
        return masked


def end_number(
    ctx: ServiceContext,
    session: Session,
    actor: Actor,
    where: list[ColumnElement[bool]],
    reason: str,
    now: datetime,
) -> str | None:
    """End the active number that ``where`` selects, in ``session``'s transaction, by one
    conditional UPDATE (``ended_at IS NULL``), audited ``number.deregister``; its identity, left
    without numbers, is kept for the retention period. The masked number, or None when no
    active number matched (ended meanwhile). Deregistrations and upheld disputes use it."""
    ended = session.execute(
        update(Subscription)
        .where(*where, Subscription.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason.strip())
        .returning(
            Subscription.id,
            Subscription.identity_id,
            Subscription.outlet_id,
            Subscription.session_id,
            Subscription.msisdn_masked,
        )
        .execution_options(synchronize_session=False)
    ).first()
    if ended is None:
        return None
    subscription_id, identity_id, outlet_id, bound_in, masked = ended
    # Lock the identity as a bind does, so that a number bound meanwhile is counted.
    session.execute(select(Identity.id).where(Identity.id == identity_id).with_for_update())
    remaining = session.scalar(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.identity_id == identity_id, Subscription.ended_at.is_(None))
    )
    if not remaining:
        session.execute(
            update(Identity)
            .where(Identity.id == identity_id)
            .values(retain_until=now + timedelta(days=ctx.settings.identity_retention_days))
        )
    ctx.audit.append(
        session,
        actor,
        "number.deregister",
        "ok",
        {  # the reason stays in its row; the outlet and session: the reports and flags
            "msisdn": masked,
            "subscription": subscription_id,
            "outlet": outlet_id,
            "session": bound_in,
        },
        at=now,
    )
    return str(masked)
