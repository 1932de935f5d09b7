"""A registration session: consent, the ID card, live captures, the verdict.

States (``sessions.state``)::

    POST /sessions ─ consent refused ──> manual (closed: the manual procedure)
         │ consent given
         v
    awaiting_card ── PUT id-card ──> awaiting_capture ── capture (nonce consumed) ──> capturing
                                      │    ^    ^                                      │
                 POST .../challenge ──┘    │    └── failed, attempts left (no nonce) ──┤
                 (a challenge and nonce ───┘                                           │
                  revealed when the customer is ready)                                 │
          failed (attempts used up, or the ID locked) <────────────────────────────────┤
          review (borderline) ── supervisor ──> approved | rejected                    │
          passed <─────────────────────────────────────────────────────────────────────┘
    passed | approved ── POST /subscriptions ──> bound

The states and their allowed transitions are :mod:`realname.service.usecases.lifecycle`; every
change of
state here is one conditional UPDATE there (``move_session``), so of concurrent requests exactly
one wins and the others get 409, on SQLite and on PostgreSQL. A capture still ``capturing``
after ``capture_timeout_s`` plus a grace (a crash, ``kill -9``, a runaway worker) is released by
:func:`release_stale_captures` at start-up and by the purge: ``CAPTURE_INTERRUPTED``, the
attempt counted, audited.

The liveness challenge is revealed at the last moment: a session carries none when it is
created or after its card. When the customer is framed and ready, the page asks
``POST .../challenge`` (:func:`reveal_challenge`) and gets the steps, their prompt schedule
(drawn by the CSPRNG from ``liveness.prompts``), how long to record and a one-time nonce. The
recording must begin within ``challenge_ttl_s``; its clip must arrive by then plus
``liveness.prompts.capture_s`` plus :data:`UPLOAD_SLACK_S`, else ``CHALLENGE_EXPIRED`` (the
nonce is spent, no attempt counted). A new challenge spends the previous one; a session gets at
most ``max_challenges``. Every challenge never answered (replaced, expired, or left when its
session is abandoned) is audited ``challenge.unanswered`` and counted.

The card (``PUT .../id-card``: :func:`check_card`, then the portrait enrolled by the context's
enroller in the verification pool, then :func:`store_card`) is refused when it breaks a rule
(``CARD_REFUSED``; a birth date or sex left out is taken from the ID number) and when its
portrait has no usable face (``NO_FACE``, ``MULTIPLE_FACES``, as the match would raise them at
the capture): the session still awaits its card, nothing is counted. A session lasts the whole
visit (``session_ttl_s``, 15 min from consent); the short clock is the challenge's.

A clerk never sees a score: a verdict is ``passed``, ``failed`` (with reason codes, and per
challenge step why it was not seen) or ``review``. Every change is audited with ids only
(session id, masked ID number).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from realname.errors import (
    CaptureInterruptedError,
    CardAlreadyReadError,
    CardRequiredError,
    ChallengeExpiredError,
    ChallengeLimitError,
    ConsentRefusedError,
    FaceError,
    ForbiddenError,
    IdCardRefusedError,
    IdLockedError,
    InternalError,
    NonceInvalidError,
    NotFoundError,
    RealnameError,
    SessionClosedError,
    SessionExpiredError,
)
from realname.face.match import FACE_MISMATCH
from realname.identity.idcard import mask_id_number, mask_name
from realname.identity.identifiers import canonical_text
from realname.identity.rules import check_id_card
from realname.liveness.actions import Action
from realname.liveness.challenge import Challenge, StepResult, parse_challenge
from realname.media.image import load_image
from realname.records.audit import SYSTEM, Actor
from realname.service.context import ServiceContext
from realname.service.security import Principal, hash_token
from realname.service.store.models import IdFailure, IdLockout, RegistrationSession, Review
from realname.service.usecases.lifecycle import (
    OPEN_STATES,
    ReviewState,
    SessionState,
    move_session,
)
from realname.service.verification import (
    Assessment,
    CaptureJob,
    Enroller,
    Evidence,
    Verdict,
    decide,
)

__all__ = [
    "CaptureOutcome",
    "CaptureResult",
    "CaptureTicket",
    "ChallengeView",
    "CheckedCard",
    "IdCardInput",
    "SessionView",
    "abort_capture",
    "answer_window",
    "begin_capture",
    "challenge_view",
    "check_card",
    "create_session",
    "finish_capture",
    "get_session",
    "list_sessions",
    "load_visible",
    "refuse_portrait",
    "release_stale_captures",
    "reveal_challenge",
    "run_capture",
    "session_id_indexes",
    "store_card",
    "submit_card",
]

S = SessionState
# A session in these states has had its card read: another card is CARD_ALREADY_READ.
CARD_READ_STATES = frozenset({S.AWAITING_CAPTURE, S.CAPTURING})
INTERRUPTED = "CAPTURE_INTERRUPTED"
STALE_GRACE_S = 30  # a capture is released this long after its own time budget ran out
# After a challenge's recording (it begins within challenge_ttl_s and lasts capture_s), the
# clip's upload: an 11 s WebM of about 1-2 MB over a slow counter link, with the body's own
# timeouts (REALNAME_BODY_TIMEOUT_S) below it.
UPLOAD_SLACK_S = 30


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as the API shows it: never a score, the ID number masked."""

    id: str
    state: str
    outlet_id: int
    created_at: datetime
    expires_at: datetime
    biometric_consent: bool
    attempts_left: int
    challenges_issued: int
    id_number_masked: str | None
    verdict: str | None
    reasons: tuple[str, ...]
    card_accepted: bool = False  # the card and its portrait were accepted
    name_masked: str | None = None
    challenges_left: int = 0
    challenge_expires_at: datetime | None = None  # the outstanding challenge's, if any
    challenge_answer_by: datetime | None = None
    portrait_source: str | None = None  # chip or printed, once the card was accepted


@dataclass(frozen=True, slots=True)
class IdCardInput:
    name: str
    sex: str  # "" when not given: derived from the ID number
    ethnicity: str
    birth_date: date | None  # None when not given: derived from the ID number
    address: str
    id_number: str
    issuing_authority: str
    valid_from: date
    valid_until: date | None  # None: long-term (长期)
    guardian_consent: bool
    # The portrait's origin: the chip, or the card's printed photo cropped from a card photo
    # (a weaker reference, shown to the supervisor; see realname.cards.portrait).
    portrait_source: str = "chip"


def _actor(principal: Principal) -> Actor:
    return Actor(principal.username, principal.outlet_id)


def _reasons(text: str) -> tuple[str, ...]:
    return tuple(r for r in text.split(",") if r)


def _view(ctx: ServiceContext, s: RegistrationSession) -> SessionView:
    name = None
    if s.name_enc is not None:
        name = mask_name(ctx.keys.cipher.decrypt_text(s.name_enc, f"name:session:{s.id}"))
    pending = s.state == S.AWAITING_CAPTURE and s.nonce_hash is not None
    issued_at = s.challenge_issued_at if pending else None
    return SessionView(
        id=s.id,
        state=s.state,
        outlet_id=s.outlet_id,
        created_at=s.created_at,
        expires_at=s.expires_at,
        biometric_consent=s.biometric_consent,
        attempts_left=max(0, ctx.settings.max_capture_attempts - s.attempts),
        challenges_issued=s.challenges_issued or 0,
        id_number_masked=s.id_number_masked,
        verdict=s.verdict,
        reasons=_reasons(s.reasons),
        card_accepted=s.id_number_masked is not None,
        name_masked=name,
        challenges_left=max(0, ctx.settings.max_challenges - (s.challenges_issued or 0)),
        challenge_expires_at=None
        if issued_at is None
        else issued_at + timedelta(seconds=ctx.settings.challenge_ttl_s),
        challenge_answer_by=None if issued_at is None else _answer_by(ctx, issued_at),
        portrait_source=(s.portrait_source or "chip") if s.id_number_masked is not None else None,
    )


def load_visible(session: Session, principal: Principal, session_id: str) -> RegistrationSession:
    """The session if this user may see it; another outlet's session is "not found"."""
    s = session.get(RegistrationSession, session_id)
    if s is None:
        raise NotFoundError("no such session", session_id=session_id)
    restricted = principal.role in ("clerk", "supervisor") and principal.outlet_id is not None
    if restricted and s.outlet_id != principal.outlet_id:
        raise NotFoundError("no such session", session_id=session_id)
    return s


def create_session(
    ctx: ServiceContext, principal: Principal, biometric_consent: bool, consent_text_version: str
) -> SessionView:
    """A new session, without a challenge (:func:`reveal_challenge` gives one when the customer
    is ready). Sessions opened per clerk and per outlet are rate-limited
    (``SESSION_RATE_LIMITED``)."""
    now = ctx.now()
    if principal.outlet_id is None:
        raise ForbiddenError("a clerk must belong to an outlet to register customers")
    try:
        ctx.session_throttle.check(principal.user_id, principal.outlet_id)
    except RealnameError as refused:
        ctx.metrics.sessions_refused.labels(str(refused.context.get("by", ""))).inc()
        raise
    with ctx.database.transaction() as session:
        s = RegistrationSession(
            id=str(uuid.uuid4()),
            outlet_id=principal.outlet_id,
            clerk_id=principal.user_id,
            state=S.AWAITING_CARD if biometric_consent else S.MANUAL,
            biometric_consent=biometric_consent,
            consent_text_version=consent_text_version,
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.session_ttl_s),
            attempts=0,
            challenges_issued=0,
            reasons="",
        )
        if not biometric_consent:
            s.ended_at = now
        session.add(s)
        session.flush()
        objects = {"session": s.id, "consent_text_version": consent_text_version}
        if biometric_consent:
            ctx.audit.append(session, _actor(principal), "session.create", "ok", objects, at=now)
        else:
            ctx.audit.append(
                session, _actor(principal), "session.consent_refused", S.MANUAL, objects, at=now
            )
        return _view(ctx, s)


def get_session(ctx: ServiceContext, principal: Principal, session_id: str) -> SessionView:
    with ctx.database.transaction() as session:
        return _view(ctx, load_visible(session, principal, session_id))


#: Sessions the desk still has a next action for (``GET /sessions?open=true``, to resume after
#: a reload): those being worked on, before their deadline, and those waiting for a number
#: (``passed``, ``approved``) or for the supervisor (``review``).
UNFINISHED_STATES = frozenset({S.PASSED, S.APPROVED, S.REVIEW})


def list_sessions(
    ctx: ServiceContext,
    principal: Principal,
    limit: int,
    state: str | None,
    *,
    open_only: bool = False,
) -> list[SessionView]:
    """Newest first; a clerk or outlet supervisor sees their own outlet only. ``open_only``:
    the unfinished sessions (:data:`OPEN_STATES` before their deadline, and
    :data:`UNFINISHED_STATES`), and for a clerk only those the clerk opened."""
    now = ctx.now()
    with ctx.database.transaction() as session:
        query = select(RegistrationSession).order_by(
            RegistrationSession.created_at.desc(), RegistrationSession.id.desc()
        )
        if principal.role in ("clerk", "supervisor") and principal.outlet_id is not None:
            query = query.where(RegistrationSession.outlet_id == principal.outlet_id)
        if state:
            query = query.where(RegistrationSession.state == state)
        if open_only:
            working = RegistrationSession.state.in_([str(x) for x in OPEN_STATES]) & (
                RegistrationSession.expires_at > now
            )
            waiting = RegistrationSession.state.in_([str(x) for x in UNFINISHED_STATES])
            query = query.where(working | waiting)
            if principal.role == "clerk":
                query = query.where(RegistrationSession.clerk_id == principal.user_id)
        return [_view(ctx, s) for s in session.scalars(query.limit(limit))]


def check_open(ctx: ServiceContext, principal: Principal, session_id: str) -> None:
    """The session is this principal's to see and still open (for framing advice)."""
    with ctx.database.transaction() as session:
        _check_open(ctx, load_visible(session, principal, session_id), ctx.now())


def _check_open(ctx: ServiceContext, s: RegistrationSession, now: datetime) -> None:
    if s.state == S.MANUAL:
        raise ConsentRefusedError("biometric consent was refused: use the manual procedure")
    if s.state not in OPEN_STATES:
        raise SessionClosedError(f"the session is {s.state}", state=s.state)
    if s.expires_at <= now:
        raise SessionExpiredError("the session expired: start a new one")


def check_session_open(ctx: ServiceContext, principal: Principal, session_id: str) -> str:
    """The state of a session this user may see and that is still open (else NOT_FOUND,
    CONSENT_REFUSED, SESSION_CLOSED, SESSION_EXPIRED)."""
    with ctx.database.transaction() as session:
        s = load_visible(session, principal, session_id)
        _check_open(ctx, s, ctx.now())
        return s.state


def locked_until(session: Session, id_indexes: tuple[str, ...], now: datetime) -> datetime | None:
    """The latest lock-out end of the ID under any of its indexes, if still ahead."""
    until = session.scalar(
        select(func.max(IdLockout.until)).where(IdLockout.id_index.in_(id_indexes))
    )
    return until if until is not None and until > now else None


def session_id_indexes(ctx: ServiceContext, s: RegistrationSession) -> tuple[str, ...]:
    """Every index the session's ID may be stored under, newest first: from its card while it
    holds one (an index key may have been added since it was read), else its own index."""
    if s.id_number_enc is not None:
        number = ctx.keys.cipher.decrypt_text(s.id_number_enc, f"id_number:session:{s.id}")
        return ctx.keys.cipher.indexes(number)
    return () if s.id_index is None else (s.id_index,)


def _raise_locked(until: datetime, now: datetime) -> None:
    wait = max(1, int((until - now).total_seconds() + 0.999))
    raise IdLockedError(
        "too many failed verifications for this ID: try again later", retry_after_s=wait
    )


_CHIP_SEX = {"male": "男", "female": "女"}


def _card_reasons(
    card: IdCardInput, ctx: ServiceContext
) -> tuple[tuple[str, ...], str, IdCardInput]:
    """Rule reasons of the card (raises ID_NUMBER_INVALID for a bad number), its number, and
    the card with a birth date or sex not given filled in from the number (the number says
    both: GB 11643). A birth date or sex given that disagrees with the number is a reason."""
    check = check_id_card(
        card.id_number,
        card.valid_from,
        card.valid_until,
        today=ctx.today(),
        guardian_consent=card.guardian_consent,
    )
    reasons = list(check.reasons)
    if card.birth_date is not None and card.birth_date != check.id_number.birth_date:
        reasons.append("CARD_BIRTH_DATE_MISMATCH")
    sex = {"男": "male", "女": "female"}.get(card.sex.strip(), card.sex.strip().lower())
    if sex in ("male", "female") and sex != check.id_number.sex:
        reasons.append("CARD_SEX_MISMATCH")
    completed = dataclasses.replace(
        card,
        birth_date=card.birth_date or check.id_number.birth_date,
        sex=card.sex.strip() or _CHIP_SEX[check.id_number.sex],
    )
    return tuple(reasons), check.id_number.number, completed


def _refuse_card(
    ctx: ServiceContext,
    actor: Actor,
    session_id: str,
    id_indexes: tuple[str, ...],
    masked: str,
    reasons: tuple[str, ...],
    now: datetime,
) -> None:
    """Refuse (audited) a card whose ID is locked (ID_LOCKED) or that breaks a rule."""
    with ctx.database.transaction() as session:
        until = locked_until(session, id_indexes, now)
    if until is not None:
        ctx.audit.record(
            actor, "id_card.refused", "ID_LOCKED", {"session": session_id, "id": masked}, at=now
        )
        _raise_locked(until, now)
    if reasons:
        ctx.audit.record(
            actor,
            "id_card.refused",
            "CARD_REFUSED",
            {"session": session_id, "id": masked, "reasons": ",".join(reasons)},
            at=now,
        )
        raise IdCardRefusedError("the ID card breaks a registration rule", reasons=reasons)


def _card_details(card: IdCardInput) -> dict[str, Any]:
    """The card's fields other than the number and the name, canonical, as stored."""
    return {
        "sex": canonical_text(card.sex, "the sex", max_length=10),
        "ethnicity": canonical_text(card.ethnicity, "the ethnicity", max_length=50, required=False),
        "birth_date": card.birth_date.isoformat() if card.birth_date else None,
        "address": canonical_text(card.address, "the address", max_length=300, required=False),
        "issuing_authority": canonical_text(
            card.issuing_authority, "the issuing authority", max_length=100, required=False
        ),
        "valid_from": card.valid_from.isoformat(),
        "valid_until": card.valid_until.isoformat() if card.valid_until else "长期",
        "guardian_consent": card.guardian_consent,
    }


@dataclass(frozen=True, slots=True)
class CheckedCard:
    """A card whose rules passed and whose portrait decodes (:func:`check_card`): what
    :func:`store_card` stores once the portrait's face is enrolled."""

    session_id: str
    card: IdCardInput  # the birth date and sex filled in from the number
    number: str
    masked: str
    id_index: str
    at: datetime


def check_card(
    ctx: ServiceContext, principal: Principal, session_id: str, card: IdCardInput, portrait: bytes
) -> CheckedCard:
    """The session may take a card, the card keeps the rules (else CARD_REFUSED, ID_LOCKED:
    audited), and the portrait decodes (else the library's image errors)."""
    now = ctx.now()
    actor = _actor(principal)
    with ctx.database.transaction() as session:
        s = load_visible(session, principal, session_id)
        if s.state in CARD_READ_STATES:
            raise CardAlreadyReadError("this session's ID card was already read")
        _check_open(ctx, s, now)
    reasons, number, card = _card_reasons(card, ctx)
    masked = mask_id_number(number)
    id_indexes = ctx.keys.cipher.indexes(number)
    _refuse_card(ctx, actor, session_id, id_indexes, masked, reasons, now)
    load_image(portrait, ctx.image_limits)  # unusable images raise the library's errors
    return CheckedCard(session_id, card, number, masked, id_indexes[0], now)


def refuse_portrait(
    ctx: ServiceContext, principal: Principal, checked: CheckedCard, error: FaceError
) -> None:
    """Audit a portrait whose face could not be enrolled (``NO_FACE``, ``MULTIPLE_FACES``): the
    session stays ``awaiting_card`` for a better portrait; no attempt is counted."""
    ctx.audit.record(
        _actor(principal),
        "id_card.refused",
        error.code,
        {"session": checked.session_id, "id": checked.masked},
        at=checked.at,
    )


def store_card(
    ctx: ServiceContext, principal: Principal, checked: CheckedCard, portrait: bytes
) -> SessionView:
    """Store the checked card and its enrolled portrait, encrypted: one conditional transition
    to ``awaiting_capture`` (CARD_ALREADY_READ when another request read a card first)."""
    now = checked.at
    actor = _actor(principal)
    cipher = ctx.keys.cipher
    card, number, masked = checked.card, checked.number, checked.masked
    name = canonical_text(card.name, "the name", max_length=100)
    details = _card_details(card)
    sid = session_id = checked.session_id
    with ctx.database.transaction() as session:
        s = load_visible(session, principal, session_id)
        won = move_session(
            session,
            s.id,
            S.AWAITING_CARD,
            S.AWAITING_CAPTURE,
            where=[RegistrationSession.expires_at > ctx.now()],
            id_index=checked.id_index,
            id_number_masked=masked,
            id_number_enc=cipher.encrypt_text(number, f"id_number:session:{sid}"),
            name_enc=cipher.encrypt_text(name, f"name:session:{sid}"),
            card_enc=cipher.encrypt_text(
                json.dumps(details, ensure_ascii=False), f"id_card:session:{sid}"
            ),
            portrait_enc=cipher.encrypt(portrait, f"portrait:session:{sid}"),
            portrait_source=card.portrait_source,
        )
        session.refresh(s)
        if not won:  # another request read a card first, or the session closed meanwhile
            if s.state not in CARD_READ_STATES:
                _check_open(ctx, s, ctx.now())
            raise CardAlreadyReadError("this session's ID card was already read")
        ctx.audit.append(
            session,
            actor,
            "id_card.accepted",
            "ok",
            {"session": s.id, "id": masked, "portrait": card.portrait_source},
            at=now,
        )
        return _view(ctx, s)


def submit_card(
    ctx: ServiceContext,
    principal: Principal,
    session_id: str,
    card: IdCardInput,
    portrait: bytes,
    enrol: Enroller | None = None,
) -> SessionView:
    """Check the card's rules and the portrait, enrol the portrait's face (``enrol``: the
    match's own reference preparation; refused with ``NO_FACE`` or ``MULTIPLE_FACES``, the
    session still awaiting its card), store both encrypted; or refuse (audited). The API runs
    these steps itself, the enrolment in the verification pool."""
    checked = check_card(ctx, principal, session_id, card, portrait)
    if enrol is not None:
        try:
            enrol(portrait)
        except FaceError as refused:
            refuse_portrait(ctx, principal, checked, refused)
            raise
    return store_card(ctx, principal, checked, portrait)


@dataclass(frozen=True, slots=True)
class ChallengeView:
    """A challenge as the page receives it: the steps with their schedule (seconds from the
    recording's start), how long to record, the one-time nonce, and when it lapses:
    ``expires_at`` (the recording must begin by then; ``valid_s`` after ``issued_at``) and
    ``answer_by`` (the clip must have arrived)."""

    session_id: str
    steps: tuple[tuple[Action, float, float], ...]  # action, prompt_s, window_end_s
    capture_s: float
    nonce: str
    issued_at: datetime
    expires_at: datetime
    answer_by: datetime
    valid_s: int
    attempts_left: int


def answer_window(ctx: ServiceContext) -> timedelta:
    """How long after its issue a challenge's clip may arrive: the recording begins within
    ``challenge_ttl_s``, lasts ``capture_s``, then :data:`UPLOAD_SLACK_S` for the upload."""
    seconds = ctx.settings.challenge_ttl_s + ctx.prompts.capture_s + UPLOAD_SLACK_S
    return timedelta(seconds=seconds)


def _answer_by(ctx: ServiceContext, issued_at: datetime) -> datetime:
    """When the clip of a challenge issued at ``issued_at`` must have arrived."""
    return issued_at + answer_window(ctx)


def _unanswered(
    ctx: ServiceContext,
    session: Session,
    actor: Actor,
    s_id: str,
    why: str,
    now: datetime,
    issued_at: datetime | None,
) -> None:
    """Audit a challenge spent without a clip: ``replaced``, ``expired`` or ``abandoned``."""
    objects: dict[str, str] = {"session": s_id}
    if issued_at is not None:
        objects["issued_at"] = issued_at.isoformat()
    ctx.audit.append(session, actor, "challenge.unanswered", why, objects, at=now)


def _check_challenge_allowed(
    ctx: ServiceContext, session: Session, s: RegistrationSession, now: datetime
) -> int:
    """Refuse a challenge the session may not have now; else the count of those issued."""
    if s.state == S.AWAITING_CARD:
        raise CardRequiredError("read the ID card before the challenge")
    if s.state == S.CAPTURING:
        raise NonceInvalidError("a capture of this session is being verified")
    _check_open(ctx, s, now)
    if until := locked_until(session, session_id_indexes(ctx, s), now):
        _raise_locked(until, now)
    issued = s.challenges_issued or 0
    if issued >= ctx.settings.max_challenges:
        raise ChallengeLimitError(
            f"this session was issued its {ctx.settings.max_challenges} challenges: "
            "start a new session",
            max_challenges=ctx.settings.max_challenges,
        )
    return issued


def _issue_challenge(
    session: Session, s: RegistrationSession, issued: int, challenge: Challenge, now: datetime
) -> str:
    """Give the session ``challenge`` and a fresh nonce (returned), by one conditional UPDATE
    guarded by the nonce and the count read: NONCE_INVALID when another request won."""
    nonce = secrets.token_urlsafe(24)
    previous = RegistrationSession.nonce_hash
    same_nonce = previous.is_(None) if s.nonce_hash is None else previous == s.nonce_hash
    won = move_session(
        session,
        s.id,
        S.AWAITING_CAPTURE,
        S.AWAITING_CAPTURE,
        where=[
            same_nonce,
            RegistrationSession.challenges_issued == issued,
            RegistrationSession.expires_at > now,
        ],
        challenge=str(challenge),
        nonce_hash=hash_token(nonce),
        challenge_issued_at=now,
        challenges_issued=issued + 1,
    )
    if not won:
        raise NonceInvalidError("another request replaced this session's challenge")
    return nonce


def reveal_challenge(ctx: ServiceContext, principal: Principal, session_id: str) -> ChallengeView:
    """A new prompt-locked challenge and its nonce, when the customer is framed and ready (and
    after a capture that failed or could not be judged, while attempts are left). The previous
    challenge, if still unanswered, is spent (audited ``challenge.unanswered``, ``replaced``).
    One conditional UPDATE: of concurrent requests exactly one wins; the others get 409."""
    now = ctx.now()
    actor = _actor(principal)
    with ctx.database.transaction() as session:
        s = load_visible(session, principal, session_id)
        issued = _check_challenge_allowed(ctx, session, s, now)
        challenge = ctx.new_challenge()
        schedule = challenge.schedule
        if schedule is None:
            raise InternalError("a challenge was issued without its schedule")
        replaced, replaced_at = s.nonce_hash is not None, s.challenge_issued_at
        nonce = _issue_challenge(session, s, issued, challenge, now)
        session.refresh(s)
        if replaced:
            _unanswered(ctx, session, actor, s.id, "replaced", now, replaced_at)
        ctx.audit.append(
            session,
            actor,
            "challenge.issue",
            "ok",
            {"session": s.id, "challenge": issued + 1},
            at=now,
        )
        attempts_left = max(0, ctx.settings.max_capture_attempts - s.attempts)
    ctx.metrics.challenges_issued.inc()
    if replaced:
        ctx.metrics.challenges_unanswered.labels("replaced").inc()
    return challenge_view(ctx, session_id, challenge, nonce, now, attempts_left)


def challenge_view(
    ctx: ServiceContext,
    subject_id: str,
    challenge: Challenge,
    nonce: str,
    issued_at: datetime,
    attempts_left: int,
) -> ChallengeView:
    """What the page gets of a challenge just issued (a registration session's, or a citizen
    look-up's: ``subject_id``), with its deadlines from the settings and the policy."""
    schedule = challenge.schedule
    if schedule is None:
        raise InternalError("a challenge was issued without its schedule")
    return ChallengeView(
        session_id=subject_id,
        steps=tuple(zip(challenge.steps, schedule.prompts_s, schedule.window_ends_s, strict=True)),
        capture_s=ctx.prompts.capture_s,
        nonce=nonce,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=ctx.settings.challenge_ttl_s),
        answer_by=_answer_by(ctx, issued_at),
        valid_s=ctx.settings.challenge_ttl_s,
        attempts_left=attempts_left,
    )


@dataclass(frozen=True, slots=True)
class CaptureTicket:
    """A consumed nonce: the right to one verification of this session."""

    session_id: str
    attempt: int
    portrait: bytes
    challenge: Challenge

    def job(self, clip: bytes) -> CaptureJob:
        return CaptureJob(self.portrait, clip, self.challenge, self.attempt)


def begin_capture(
    ctx: ServiceContext, principal: Principal, session_id: str, nonce: str
) -> CaptureTicket:
    """Check the session and consume the nonce atomically (it is spent even if the capture
    then fails). A clip arriving after its challenge's deadline (:func:`_answer_by`) spends the
    nonce without an attempt and answers ``CHALLENGE_EXPIRED``."""
    now = ctx.now()
    expired = _expire_challenge(ctx, principal, session_id, nonce, now)
    if expired:
        ctx.metrics.challenges_unanswered.labels("expired").inc()
        raise ChallengeExpiredError(
            "the challenge expired before its clip arrived: ask for a new challenge",
            valid_s=ctx.settings.challenge_ttl_s,
        )
    with ctx.database.transaction() as session:
        s = load_visible(session, principal, session_id)
        if s.state == S.AWAITING_CARD:
            raise CardRequiredError("read the ID card before the capture")
        if s.state == S.CAPTURING:
            raise NonceInvalidError("the nonce was already used")
        _check_open(ctx, s, now)
        if until := locked_until(session, session_id_indexes(ctx, s), now):
            _raise_locked(until, now)
        expected = s.nonce_hash or ""
        if not nonce or not hmac.compare_digest(expected, hash_token(nonce)):
            raise NonceInvalidError("the nonce is wrong or was already used")
        consumed = move_session(
            session,
            s.id,
            S.AWAITING_CAPTURE,
            S.CAPTURING,
            where=[
                RegistrationSession.nonce_hash == expected,
                RegistrationSession.challenge_issued_at >= now - answer_window(ctx),
            ],
            nonce_hash=None,
            challenge_issued_at=None,
            attempts=RegistrationSession.attempts + 1,
            capture_started_at=now,
        )
        if not consumed:
            raise NonceInvalidError("the nonce was already used")
        session.refresh(s)
        if s.portrait_enc is None or s.challenge is None:
            raise InternalError("a session awaiting its capture has no portrait or challenge")
        portrait = ctx.keys.cipher.decrypt(s.portrait_enc, f"portrait:session:{s.id}")
        return CaptureTicket(s.id, s.attempts, portrait, parse_challenge(s.challenge))


def _expire_challenge(
    ctx: ServiceContext, principal: Principal, session_id: str, nonce: str, now: datetime
) -> bool:
    """Spend the session's challenge if ``nonce`` is its nonce and its deadline has passed
    (audited ``challenge.unanswered``, ``expired``); True when this call did."""
    with ctx.database.transaction() as session:
        s = load_visible(session, principal, session_id)
        if s.state != S.AWAITING_CAPTURE or not s.nonce_hash or not nonce or s.expires_at <= now:
            return False  # the session's own state or deadline answers
        if not hmac.compare_digest(s.nonce_hash, hash_token(nonce)):
            return False
        issued_at = s.challenge_issued_at
        if issued_at is not None and _answer_by(ctx, issued_at) >= now:
            return False
        spent = move_session(
            session,
            s.id,
            S.AWAITING_CAPTURE,
            S.AWAITING_CAPTURE,
            where=[RegistrationSession.nonce_hash == s.nonce_hash],
            nonce_hash=None,
            challenge_issued_at=None,
        )
        if spent:
            _unanswered(ctx, session, _actor(principal), s.id, "expired", now, issued_at)
        return spent


@dataclass(frozen=True, slots=True)
class CaptureOutcome:
    """What the worker thread returns: the verdict and, for a review, the evidence."""

    verdict: Verdict
    reasons: tuple[str, ...]
    assessment: Assessment
    evidence: Evidence | None


def run_capture(ctx: ServiceContext, job: CaptureJob) -> CaptureOutcome:
    """Decode, verify, decide, and render evidence for a review: CPU work, in the pool."""
    assessment = ctx.require_verifier()(job)
    lower = ctx.review_threshold(assessment.engine)
    verdict, reasons = decide(assessment, lower)
    evidence = None
    if verdict == Verdict.REVIEW and assessment.evidence is not None:
        evidence = assessment.evidence()
    return CaptureOutcome(verdict, reasons, assessment, evidence)


@dataclass(frozen=True, slots=True)
class CaptureResult:
    verdict: Verdict
    reasons: tuple[str, ...]
    attempts_left: int
    steps: tuple[StepResult, ...] = ()  # each challenge step as judged, and why not seen


def _record_failure(
    ctx: ServiceContext, session: Session, id_indexes: tuple[str, ...], now: datetime
) -> datetime | None:
    """Count a failure for the ID (written under its newest index, counted under all); lock it
    when the window holds enough. Returns the lock end."""
    id_index = id_indexes[0]
    session.add(IdFailure(id_index=id_index, at=now))
    session.flush()
    since = now - timedelta(seconds=ctx.settings.lockout_window_s)
    count = session.scalar(
        select(func.count())
        .select_from(IdFailure)
        .where(IdFailure.id_index.in_(id_indexes), IdFailure.at > since)
    )
    if (count or 0) < ctx.settings.lockout_failures:
        return None
    until = now + timedelta(seconds=ctx.settings.lockout_s)
    insert = pg_insert if ctx.database.is_postgres else sqlite_insert
    session.execute(
        insert(IdLockout)
        .values(id_index=id_index, until=until)
        .on_conflict_do_update(index_elements=["id_index"], set_={"until": until})
    )
    return until


def _still_capturing(ticket: CaptureTicket) -> list[Any]:
    """The guard of every end of a capture: still this attempt's capture (not released)."""
    return [RegistrationSession.attempts == ticket.attempt]


def _capture_target(
    ctx: ServiceContext,
    session: Session,
    s: RegistrationSession,
    ticket: CaptureTicket,
    outcome: CaptureOutcome,
    now: datetime,
) -> tuple[SessionState, dict[str, Any], datetime | None]:
    """Where a capture's verdict moves the session, the columns that move with it (the
    portrait is forgotten once no capture can follow), and the ID's lock-out if this failure
    set one."""
    if outcome.verdict == Verdict.PASSED:
        return S.PASSED, {"portrait_enc": None}, None
    if outcome.verdict == Verdict.REVIEW:
        return S.REVIEW, {"portrait_enc": None}, None
    id_indexes = session_id_indexes(ctx, s)
    if not id_indexes:
        raise InternalError("a session being captured has no ID look-up key")
    locked = _record_failure(ctx, session, id_indexes, now)
    if locked is None and ticket.attempt < ctx.settings.max_capture_attempts:
        return S.AWAITING_CAPTURE, {}, None
    return S.FAILED, {"portrait_enc": None, "ended_at": now}, locked


def finish_capture(
    ctx: ServiceContext, principal: Principal, ticket: CaptureTicket, outcome: CaptureOutcome
) -> CaptureResult:
    """Record the verdict: one conditional transition out of ``capturing`` for this attempt.
    A failed capture with attempts left waits for a new challenge (``POST .../challenge``). A
    capture released meanwhile (it outlived its limit) answers CAPTURE_INTERRUPTED."""
    now = ctx.now()
    actor = _actor(principal)
    with ctx.database.transaction() as session:
        s = session.get(RegistrationSession, ticket.session_id)
        if s is None:
            raise InternalError("the session of a running capture is gone")
        objects: dict[str, str | int] = {
            "session": s.id,
            "attempt": ticket.attempt,
            "reasons": ",".join(outcome.reasons),
        }
        common: dict[str, Any] = {
            "verdict": outcome.verdict,
            "reasons": ",".join(outcome.reasons),
            "capture_started_at": None,
        }
        target, values, locked = _capture_target(ctx, session, s, ticket, outcome, now)
        if not move_session(
            session, s.id, S.CAPTURING, target, where=_still_capturing(ticket), **common, **values
        ):
            raise CaptureInterruptedError(
                "this capture outlived its time limit and was released: capture again",
                session_id=s.id,
            )
        if target == S.REVIEW:
            objects["review"] = _open_review(ctx, session, s, ticket, outcome, now)
        ctx.audit.append(session, actor, "capture.verdict", outcome.verdict, objects, at=now)
        if locked is not None:
            ctx.audit.append(
                session,
                actor,
                "id.locked",
                "locked",
                {"session": s.id, "id": s.id_number_masked or "", "until": locked.isoformat()},
                at=now,
            )
        session.refresh(s)
        return CaptureResult(
            outcome.verdict,
            outcome.reasons,
            _view(ctx, s).attempts_left,
            outcome.assessment.steps,
        )


def review_reasons(outcome: CaptureOutcome) -> tuple[str, ...]:
    """A review's reason codes: the verdict's (``MATCH_BORDERLINE``), then the assessment's
    others. The library's ``FACE_MISMATCH`` is not one of them: a borderline score is below the
    operating threshold by definition, and the supervisor decides exactly that."""
    others = (r for r in outcome.assessment.reasons if r != FACE_MISMATCH)
    return tuple(dict.fromkeys((*outcome.reasons, *others)))


def _open_review(
    ctx: ServiceContext,
    session: Session,
    s: RegistrationSession,
    ticket: CaptureTicket,
    outcome: CaptureOutcome,
    now: datetime,
) -> str:
    """The review of a borderline capture, with its evidence encrypted; returns its id."""
    cipher = ctx.keys.cipher
    review_id = str(uuid.uuid4())
    details = {
        "score": outcome.assessment.score,
        "threshold": outcome.assessment.threshold,
        "review_threshold": ctx.review_threshold(outcome.assessment.engine),
        "engine": outcome.assessment.engine,
        "review_fmr": ctx.settings.review_fmr,
        "library_reasons": list(outcome.assessment.reasons),
        "verification": outcome.assessment.details,
    }
    evidence = outcome.evidence
    session.add(
        Review(
            id=review_id,
            session_id=s.id,
            outlet_id=s.outlet_id,
            state=ReviewState.PENDING,
            created_at=now,
            expires_at=now + timedelta(days=ctx.settings.evidence_retention_days),
            reasons=",".join(review_reasons(outcome)),
            details_enc=cipher.encrypt_text(
                json.dumps(details, default=str), f"evidence:details:{review_id}"
            ),
            portrait_enc=cipher.encrypt(ticket.portrait, f"evidence:portrait:{review_id}"),
            frame_enc=None
            if evidence is None
            else cipher.encrypt(evidence.frame_jpeg, f"evidence:frame:{review_id}"),
            plot_enc=None
            if evidence is None or evidence.plot_png is None
            else cipher.encrypt(evidence.plot_png, f"evidence:plot:{review_id}"),
            plot_zh_enc=None
            if evidence is None or evidence.plot_zh_png is None
            else cipher.encrypt(evidence.plot_zh_png, f"evidence:plot_zh:{review_id}"),
        )
    )
    return review_id


def _end_attempt(
    ctx: ServiceContext,
    session: Session,
    session_id: str,
    attempts: int,
    code: str,
    now: datetime,
    where: list[Any],
) -> SessionState | None:
    """End a capture that could not be judged (``code``): with attempts left the session waits
    for a new challenge, else it fails. None when another request ended it first."""
    if attempts < ctx.settings.max_capture_attempts:
        target, values = S.AWAITING_CAPTURE, {}
    else:
        target, values = S.FAILED, {"ended_at": now, "portrait_enc": None}
    won = move_session(
        session,
        session_id,
        S.CAPTURING,
        target,
        where=where,
        reasons=code,
        verdict=Verdict.FAILED if code == INTERRUPTED else None,
        capture_started_at=None,
        nonce_hash=None,
        **values,
    )
    return target if won else None


def abort_capture(
    ctx: ServiceContext, principal: Principal, ticket: CaptureTicket, error: Exception
) -> None:
    """The clip could not be judged (or something broke): the attempt is spent, the nonce too;
    with attempts left the session waits for a new challenge (``POST .../challenge``)."""
    now = ctx.now()
    code = error.code if isinstance(error, RealnameError) else "INTERNAL"
    with ctx.database.transaction() as session:
        ended = _end_attempt(
            ctx, session, ticket.session_id, ticket.attempt, code, now, _still_capturing(ticket)
        )
        if ended is None:
            return  # released meanwhile: that release was audited
        ctx.audit.append(
            session,
            _actor(principal),
            "capture.error",
            code,
            {"session": ticket.session_id, "attempt": ticket.attempt},
            at=now,
        )


def release_stale_captures(ctx: ServiceContext, actor: Actor = SYSTEM) -> int:
    """Release every capture still ``capturing`` ``STALE_GRACE_S`` after its time budget
    (``capture_timeout_s``): a crash or ``kill -9`` left it, or its worker ran away. Each is
    failed as ``CAPTURE_INTERRUPTED`` (the attempt stays counted), audited, and its session
    waits for a new challenge or, without attempts left, fails. Returns how many."""
    now = ctx.now()
    limit = now - timedelta(seconds=ctx.settings.capture_timeout_s + STALE_GRACE_S)
    stale = (RegistrationSession.capture_started_at.is_(None)) | (
        RegistrationSession.capture_started_at <= limit
    )
    released = 0
    with ctx.database.transaction() as session:
        rows = session.execute(
            select(
                RegistrationSession.id,
                RegistrationSession.attempts,
                RegistrationSession.outlet_id,
            ).where(RegistrationSession.state == str(S.CAPTURING), stale)
        ).all()
    for session_id, attempts, outlet_id in rows:
        with ctx.database.transaction() as session:
            guard = [RegistrationSession.attempts == attempts, stale]
            ended = _end_attempt(ctx, session, session_id, attempts, INTERRUPTED, now, guard)
            if ended is None:
                continue
            ctx.audit.append(
                session,
                actor,
                "capture.interrupted",
                str(ended),
                {
                    "session": session_id,
                    "attempt": attempts,
                    "reasons": INTERRUPTED,
                    "outlet": outlet_id,  # the system's entry, counted for the session's outlet
                },
                at=now,
            )
            released += 1
    return released
