"""The citizen's own look-up (一证通查): prove who you are as at a registration, then see the
numbers bound to your ID and say "not mine".

States (``citizen_lookups.state``)::

    POST /citizen/lookups ──> awaiting_capture ── capture (nonce consumed) ──> capturing
                               │    ^    ^                                       │
        POST .../challenge ────┘    │    └── refused or unjudged, attempts left ─┤
        (steps, schedule, nonce) ───┘                                            │
                          failed <── refused or unjudged, no attempt left ───────┤
                          passed <── face and liveness passed ───────────────────┘
    passed ── POST .../disputes (before expires_at) ──> a dispute (usecases.disputes)

Any state past ``expires_at`` (``REALNAME_LOOKUP_TTL_S``) is ended: ``LOOKUP_CLOSED``.

The checks are the registration's: the ID number by GB 11643, the card's portrait enrolled by
the context's enroller in the verification pool (``NO_FACE``, ``MULTIPLE_FACES``), a
prompt-locked challenge from :meth:`ServiceContext.new_challenge` with its one-time nonce
(hashed, :func:`realname.service.security.hash_token`) and the registration's deadlines
(:func:`registration.challenge_view`, :func:`registration.answer_window`), a live clip judged
by the context's verifier (:class:`CaptureJob`), at most ``max_capture_attempts`` captures and
``max_challenges`` challenges. A look-up passes only at the operating threshold: there is no
review band for a citizen (a borderline score is refused).

Privacy: nothing about the ID is read before the face check passed. The start, the challenge,
a refused capture and the rate limits (per ID index and per client address,
:class:`realname.service.throttles.LookupThrottle`) never touch identities or numbers, so
their answers are the same whatever the ID holds. The token is stored as its SHA-256, the ID as
its HMAC indexes (one per index key: the identity is found under any) and masked, the portrait
encrypted until the look-up ends (passed, failed); an expired look-up is deleted by
:func:`forget_ended_lookups` (one with a dispute keeps its row, without portrait or nonce).
Audited with the masked ID and ids only: ``citizen.lookup_start``, ``citizen.challenge``,
``citizen.lookup`` (``passed`` | ``refused``), ``citizen.capture_error``, ``citizen.dispute``.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from realname.errors import (
    ChallengeExpiredError,
    ChallengeLimitError,
    DisputeOpenError,
    FaceError,
    InternalError,
    LookupClosedError,
    LookupConsentError,
    LookupNotPassedError,
    NonceInvalidError,
    NotFoundError,
    RealnameError,
    RequestInvalidError,
)
from realname.identity.idcard import mask_id_number, parse_id_number
from realname.identity.identifiers import canonical_text
from realname.liveness.challenge import Challenge, parse_challenge
from realname.media.image import load_image
from realname.records.audit import Actor
from realname.service.context import ServiceContext
from realname.service.security import hash_token
from realname.service.store.models import CitizenLookup, Dispute, Identity, Outlet, Subscription
from realname.service.throttles import LookupThrottle
from realname.service.usecases.registration import ChallengeView, answer_window, challenge_view
from realname.service.verification import CaptureJob

__all__ = [
    "CITIZEN",
    "CheckedLookup",
    "CitizenNumber",
    "DisputeOpened",
    "LookupOutcome",
    "LookupResult",
    "LookupStarted",
    "LookupState",
    "LookupTicket",
    "abort_capture",
    "begin_capture",
    "check_lookup",
    "finish_capture",
    "forget_ended_lookups",
    "judge",
    "open_dispute",
    "refuse_portrait",
    "reveal_challenge",
    "store_lookup",
]

#: Who the audit log names for a citizen's own steps (no account, no name).
CITIZEN = Actor("citizen")
NOT_FOUND = "no such look-up"
REFUSED_FALLBACK = ("FACE_MISMATCH",)  # a refusal without a reason code (never seen)
NOTE_MAX = 500


class LookupState(StrEnum):
    AWAITING_CAPTURE = "awaiting_capture"
    CAPTURING = "capturing"
    PASSED = "passed"
    FAILED = "failed"


L = LookupState
LOOKUP_TRANSITIONS: Mapping[LookupState, frozenset[LookupState]] = {
    L.AWAITING_CAPTURE: frozenset({L.AWAITING_CAPTURE, L.CAPTURING}),
    L.CAPTURING: frozenset({L.AWAITING_CAPTURE, L.PASSED, L.FAILED}),
    L.PASSED: frozenset(),
    L.FAILED: frozenset(),
}


def move_lookup(
    session: Session,
    lookup_id: str,
    from_: LookupState,
    to: LookupState,
    *,
    where: Iterable[ColumnElement[bool]] = (),
    **values: Any,
) -> bool:
    """One conditional UPDATE from ``from_`` to ``to`` (if ``where`` holds): of concurrent
    requests exactly one changes the row, on SQLite and PostgreSQL. True when this one did."""
    if to not in LOOKUP_TRANSITIONS[from_]:
        raise InternalError(f"no transition {from_} -> {to} in the look-up's life cycle")
    result = session.execute(
        update(CitizenLookup)
        .where(CitizenLookup.id == lookup_id, CitizenLookup.state == str(from_), *where)
        .values(state=str(to), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _throttle(ctx: ServiceContext) -> LookupThrottle:
    if ctx.lookup_throttle is None:  # a context built by hand (build_context makes one)
        ctx.lookup_throttle = LookupThrottle.from_settings(ctx.settings)
    return ctx.lookup_throttle


@dataclass(frozen=True, slots=True)
class CheckedLookup:
    """A look-up's ID number parsed, its rate limits spent and its portrait decoded
    (:func:`check_lookup`): what :func:`store_lookup` stores once the portrait is enrolled."""

    id_indexes: tuple[str, ...]  # newest first
    masked: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LookupStarted:
    id: str
    token: str  # the secret that authorises the look-up's later calls; stored as its SHA-256
    expires_at: datetime
    attempts_left: int


def check_lookup(
    ctx: ServiceContext, id_number: str, consent: bool, portrait: bytes, address: str
) -> CheckedLookup:
    """Consent (else LOOKUP_CONSENT_REQUIRED), the ID number (ID_NUMBER_INVALID), the rate
    limits per ID index and per client address (LOOKUP_RATE_LIMITED), the portrait decodes (the
    library's image errors). Nothing here reads what the ID holds."""
    if not consent:
        raise LookupConsentError("the look-up's face check needs biometric consent")
    number = parse_id_number(id_number, today=ctx.today()).number
    id_indexes = ctx.keys.cipher.indexes(number)
    _throttle(ctx).check(id_indexes, address)
    load_image(portrait, ctx.image_limits)
    return CheckedLookup(id_indexes, mask_id_number(number), ctx.now())


def refuse_portrait(ctx: ServiceContext, checked: CheckedLookup, error: FaceError) -> None:
    """Audit a portrait the enroller refused (NO_FACE, MULTIPLE_FACES): no look-up is made."""
    ctx.audit.record(
        CITIZEN, "citizen.lookup_start", error.code, {"id": checked.masked}, at=checked.at
    )


def store_lookup(ctx: ServiceContext, checked: CheckedLookup, portrait: bytes) -> LookupStarted:
    """A new look-up awaiting its challenge, the portrait encrypted; audited."""
    now = ctx.now()
    lookup_id, token = str(uuid.uuid4()), secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ctx.settings.lookup_ttl_s)
    forget_ended_lookups(ctx)
    with ctx.database.transaction() as session:
        session.add(
            CitizenLookup(
                id=lookup_id,
                token_hash=hash_token(token),
                id_index=checked.id_indexes[0],
                old_id_indexes=",".join(checked.id_indexes[1:]),
                id_number_masked=checked.masked,
                state=L.AWAITING_CAPTURE,
                portrait_enc=ctx.keys.cipher.encrypt(portrait, f"portrait:lookup:{lookup_id}"),
                challenges_issued=0,
                attempts=0,
                created_at=now,
                expires_at=expires_at,
            )
        )
        session.flush()
        objects = {"lookup": lookup_id, "id": checked.masked}
        ctx.audit.append(session, CITIZEN, "citizen.lookup_start", "ok", objects, at=now)
    return LookupStarted(lookup_id, token, expires_at, ctx.settings.max_capture_attempts)


def forget_ended_lookups(ctx: ServiceContext) -> int:
    """Forget the look-ups past their expiry: each row goes unless a dispute was opened from it
    (then only its portrait and nonce go; the dispute keeps naming it). The audit log keeps
    the look-up's steps (masked ID, ids). Run at each new look-up and by the purge. Returns how
    many look-ups were forgotten."""
    now = ctx.now()
    disputed = exists().where(Dispute.lookup_id == CitizenLookup.id)
    with ctx.database.transaction() as session:
        deleted = session.execute(
            delete(CitizenLookup)
            .where(CitizenLookup.expires_at <= now, ~disputed)
            .execution_options(synchronize_session=False)
        )
        kept = session.execute(
            update(CitizenLookup)
            .where(CitizenLookup.expires_at <= now, CitizenLookup.portrait_enc.is_not(None))
            .values(portrait_enc=None, nonce_hash=None)
            .execution_options(synchronize_session=False)
        )
        return int(deleted.rowcount or 0) + int(kept.rowcount or 0)  # type: ignore[attr-defined]


def _load(session: Session, lookup_id: str, token: str | None) -> CitizenLookup:
    """The look-up whose token this is; a wrong or missing token is "not found" too."""
    row = session.get(CitizenLookup, lookup_id)
    if row is None or not token or not hmac.compare_digest(row.token_hash, hash_token(token)):
        raise NotFoundError(NOT_FOUND)
    return row


def _check_live(row: CitizenLookup, now: datetime) -> None:
    if row.state in (L.PASSED, L.FAILED) or row.expires_at <= now:
        raise LookupClosedError("the look-up has ended: start a new one", state=row.state)


def _attempts_left(ctx: ServiceContext, row: CitizenLookup) -> int:
    return max(0, ctx.settings.max_capture_attempts - row.attempts)


def reveal_challenge(ctx: ServiceContext, lookup_id: str, token: str | None) -> ChallengeView:
    """A new prompt-locked challenge and its nonce (the previous one, if any, is spent), as a
    registration's: one conditional UPDATE, of concurrent requests one wins (409)."""
    now = ctx.now()
    with ctx.database.transaction() as session:
        row = _load(session, lookup_id, token)
        _check_live(row, now)
        if row.state == L.CAPTURING:
            raise NonceInvalidError("a capture of this look-up is being verified")
        issued = row.challenges_issued
        if issued >= ctx.settings.max_challenges:
            raise ChallengeLimitError(
                f"this look-up was issued its {ctx.settings.max_challenges} challenges: "
                "start a new one",
                max_challenges=ctx.settings.max_challenges,
            )
        challenge = ctx.new_challenge()
        nonce = secrets.token_urlsafe(24)
        previous = CitizenLookup.nonce_hash
        same = previous.is_(None) if row.nonce_hash is None else previous == row.nonce_hash
        won = move_lookup(
            session,
            row.id,
            L.AWAITING_CAPTURE,
            L.AWAITING_CAPTURE,
            where=[same, CitizenLookup.challenges_issued == issued],
            challenge=str(challenge),
            nonce_hash=hash_token(nonce),
            challenge_issued_at=now,
            challenges_issued=issued + 1,
        )
        if not won:
            raise NonceInvalidError("another request replaced this look-up's challenge")
        objects: dict[str, str | int] = {"lookup": row.id, "challenge": issued + 1}
        ctx.audit.append(session, CITIZEN, "citizen.challenge", "ok", objects, at=now)
        left = _attempts_left(ctx, row)
    return challenge_view(ctx, lookup_id, challenge, nonce, now, left)


@dataclass(frozen=True, slots=True)
class LookupTicket:
    """A consumed nonce: the right to one face check of this look-up."""

    lookup_id: str
    attempt: int
    portrait: bytes
    challenge: Challenge

    def job(self, clip: bytes) -> CaptureJob:
        return CaptureJob(self.portrait, clip, self.challenge, self.attempt)


def _spend_late(ctx: ServiceContext, session: Session, row: CitizenLookup, now: datetime) -> bool:
    """Spend the nonce of a challenge whose clip came after its deadline (no attempt counted);
    True when the challenge was late."""
    issued_at = row.challenge_issued_at
    if issued_at is None or issued_at + answer_window(ctx) >= now:
        return False
    spent = move_lookup(
        session,
        row.id,
        L.AWAITING_CAPTURE,
        L.AWAITING_CAPTURE,
        where=[CitizenLookup.nonce_hash == row.nonce_hash],
        nonce_hash=None,
        challenge_issued_at=None,
    )
    if spent:
        objects = {"lookup": row.id, "issued_at": issued_at.isoformat()}
        ctx.audit.append(session, CITIZEN, "citizen.challenge", "expired", objects, at=now)
    return True


def begin_capture(
    ctx: ServiceContext, lookup_id: str, token: str | None, nonce: str
) -> LookupTicket:
    """Check the look-up and consume the nonce atomically (spent even if the check then
    fails); a clip after its challenge's deadline answers CHALLENGE_EXPIRED, no attempt."""
    now = ctx.now()
    with ctx.database.transaction() as session:
        row = _load(session, lookup_id, token)
        _check_live(row, now)
        expected = row.nonce_hash or ""
        if row.state != L.AWAITING_CAPTURE or not nonce or not expected:
            raise NonceInvalidError("the nonce is wrong or was already used")
        if not hmac.compare_digest(expected, hash_token(nonce)):
            raise NonceInvalidError("the nonce is wrong or was already used")
        late = _spend_late(ctx, session, row, now)
        consumed = not late and move_lookup(
            session,
            row.id,
            L.AWAITING_CAPTURE,
            L.CAPTURING,
            where=[CitizenLookup.nonce_hash == expected],
            nonce_hash=None,
            challenge_issued_at=None,
            attempts=CitizenLookup.attempts + 1,
        )
        if consumed:
            session.refresh(row)
            if row.portrait_enc is None or row.challenge is None:
                raise InternalError("a look-up awaiting its capture has no portrait or challenge")
            portrait = ctx.keys.cipher.decrypt(row.portrait_enc, f"portrait:lookup:{row.id}")
            return LookupTicket(row.id, row.attempts, portrait, parse_challenge(row.challenge))
    if late:
        raise ChallengeExpiredError(
            "the challenge expired before its clip arrived: ask for a new challenge",
            valid_s=ctx.settings.challenge_ttl_s,
        )
    raise NonceInvalidError("the nonce was already used")


@dataclass(frozen=True, slots=True)
class LookupOutcome:
    """What the worker thread returns: passed or not, and the face and liveness reasons."""

    passed: bool
    reasons: tuple[str, ...]


def judge(ctx: ServiceContext, job: CaptureJob) -> LookupOutcome:
    """Run the context's verifier (CPU work, in the pool). Passed only at the operating
    threshold, liveness included: a citizen has no review band."""
    assessment = ctx.require_verifier()(job)
    if assessment.passed:
        return LookupOutcome(True, ())
    return LookupOutcome(False, assessment.reasons or REFUSED_FALLBACK)


@dataclass(frozen=True, slots=True)
class CitizenNumber:
    ref: str  # opaque, valid for this look-up only
    msisdn: str  # masked but for the last four digits
    outlet: str
    bound_at: datetime
    disputed: bool  # an open dispute exists


@dataclass(frozen=True, slots=True)
class LookupResult:
    verdict: str  # passed | refused
    attempts_left: int
    numbers: tuple[CitizenNumber, ...]
    reasons: tuple[str, ...]


def _ref(ctx: ServiceContext, lookup_id: str, subscription_id: int) -> str:
    return ctx.keys.cipher.index(f"lookup-ref:{lookup_id}:{subscription_id}")[:32]


def _is_ref(ctx: ServiceContext, ref: str, lookup_id: str, subscription_id: int) -> bool:
    """Whether ``ref`` names the number, under any index key (an instance restarted with a new
    index key honours the refs an older one gave)."""
    refs = ctx.keys.cipher.indexes(f"lookup-ref:{lookup_id}:{subscription_id}")
    return any(hmac.compare_digest(r[:32], ref) for r in refs)


def _last_four(masked: str) -> str:
    return "*" * 7 + masked[-4:]


def _id_indexes(row: CitizenLookup) -> list[str]:
    """The look-up's ID under every index key it was started with, newest first."""
    return [row.id_index, *(i for i in row.old_id_indexes.split(",") if i)]


def _active_numbers(
    ctx: ServiceContext, session: Session, row: CitizenLookup
) -> list[tuple[CitizenNumber, Subscription]]:
    """The ID's active numbers, oldest first (read only after a passed face check)."""
    open_dispute = exists().where(
        Dispute.subscription_id == Subscription.id, Dispute.state == "open"
    )
    rows = session.execute(
        select(Subscription, Outlet.name, open_dispute)
        .join(Identity, Identity.id == Subscription.identity_id)
        .join(Outlet, Outlet.id == Subscription.outlet_id)
        .where(Identity.id_index.in_(_id_indexes(row)), Subscription.ended_at.is_(None))
        .order_by(Subscription.created_at, Subscription.id)
    ).all()
    return [
        (
            CitizenNumber(
                _ref(ctx, row.id, sub.id),
                _last_four(sub.msisdn_masked),
                outlet,
                sub.created_at,
                bool(disputed),
            ),
            sub,
        )
        for sub, outlet, disputed in rows
    ]


def finish_capture(
    ctx: ServiceContext, ticket: LookupTicket, outcome: LookupOutcome
) -> LookupResult:
    """Record the face check: one conditional transition out of ``capturing``. Passed: the
    portrait is deleted and the ID's numbers are read. Refused: another challenge while
    attempts are left, else the look-up fails (portrait deleted). The refused answer is built
    from the check alone."""
    now = ctx.now()
    with ctx.database.transaction() as session:
        row = session.get(CitizenLookup, ticket.lookup_id)
        if row is None:
            raise InternalError("the look-up of a running capture is gone")
        if outcome.passed:
            target, values = L.PASSED, {"portrait_enc": None, "ended_at": now}
        elif ticket.attempt < ctx.settings.max_capture_attempts:
            target, values = L.AWAITING_CAPTURE, {}
        else:
            target, values = L.FAILED, {"portrait_enc": None, "ended_at": now}
        where = [CitizenLookup.attempts == ticket.attempt]
        if not move_lookup(session, row.id, L.CAPTURING, target, where=where, **values):
            raise LookupClosedError("the look-up has ended: start a new one")
        session.refresh(row)
        objects: dict[str, str | int] = {
            "lookup": row.id,
            "id": row.id_number_masked,
            "attempt": ticket.attempt,
            "reasons": ",".join(outcome.reasons),
        }
        verdict = "passed" if outcome.passed else "refused"
        ctx.audit.append(session, CITIZEN, "citizen.lookup", verdict, objects, at=now)
        numbers = tuple(n for n, _ in _active_numbers(ctx, session, row)) if outcome.passed else ()
        return LookupResult(verdict, _attempts_left(ctx, row), numbers, outcome.reasons)


def abort_capture(ctx: ServiceContext, ticket: LookupTicket, error: Exception) -> None:
    """The clip could not be judged: the attempt and the nonce are spent; with attempts left
    the look-up waits for a new challenge, else it fails (portrait deleted). Audited."""
    now = ctx.now()
    code = error.code if isinstance(error, RealnameError) else "INTERNAL"
    if ticket.attempt < ctx.settings.max_capture_attempts:
        target, values = L.AWAITING_CAPTURE, {}
    else:
        target, values = L.FAILED, {"portrait_enc": None, "ended_at": now}
    with ctx.database.transaction() as session:
        where = [CitizenLookup.attempts == ticket.attempt]
        if move_lookup(session, ticket.lookup_id, L.CAPTURING, target, where=where, **values):
            objects: dict[str, str | int] = {"lookup": ticket.lookup_id, "attempt": ticket.attempt}
            ctx.audit.append(session, CITIZEN, "citizen.capture_error", code, objects, at=now)


@dataclass(frozen=True, slots=True)
class DisputeOpened:
    id: str
    state: str
    msisdn: str
    outlet: str
    opened_at: datetime


def open_dispute(
    ctx: ServiceContext, lookup_id: str, token: str | None, ref: str, note: str
) -> DisputeOpened:
    """Say "not mine" of one number shown by a passed look-up (before it expires): a dispute
    for the supervisors of the number's outlet, audited ``citizen.dispute`` ``opened``. A
    number with an open dispute answers DISPUTE_OPEN."""
    now = ctx.now()
    try:
        with ctx.database.transaction() as session:
            row = _load(session, lookup_id, token)  # a wrong token is 404 before any 422
            text = canonical_text(
                note, "the note", max_length=NOTE_MAX, required=False, error=RequestInvalidError
            )
            if row.state != L.PASSED:
                raise LookupNotPassedError("the look-up has not passed its face check")
            if row.expires_at <= now:
                raise LookupClosedError("the look-up has ended: start a new one")
            found = [
                (n, s)
                for n, s in _active_numbers(ctx, session, row)
                if _is_ref(ctx, ref, row.id, s.id)
            ]
            if not found:
                raise NotFoundError("no such number in this look-up")
            number, sub = found[0]
            if number.disputed:
                raise DisputeOpenError("this number already has an open dispute")
            dispute_id = str(uuid.uuid4())
            session.add(
                Dispute(
                    id=dispute_id,
                    lookup_id=row.id,
                    subscription_id=sub.id,
                    outlet_id=sub.outlet_id,
                    session_id=sub.session_id,
                    msisdn_masked=sub.msisdn_masked,
                    bound_at=sub.created_at,
                    state="open",
                    note_enc=ctx.keys.cipher.encrypt_text(text, f"note:dispute:{dispute_id}")
                    if text
                    else None,
                    opened_at=now,
                )
            )
            session.flush()  # the partial unique index on open disputes speaks here
            objects: dict[str, str | int] = {
                "outlet": str(sub.outlet_id),
                "dispute": dispute_id,
                "session": sub.session_id,
                "msisdn": sub.msisdn_masked,
                "lookup": row.id,
            }
            ctx.audit.append(session, CITIZEN, "citizen.dispute", "opened", objects, at=now)
            return DisputeOpened(dispute_id, "open", number.msisdn, number.outlet, now)
    except IntegrityError:
        raise DisputeOpenError("this number already has an open dispute") from None
