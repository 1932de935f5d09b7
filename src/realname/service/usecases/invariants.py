"""The rules real-name registration exists to enforce, checked on the stored records:
``realname check invariants`` and the tests (after every race test).

* ``CAP_EXCEEDED``: no ID holds more than ``max_numbers_per_id`` active numbers.
* ``NUMBER_ACTIVE_TWICE``: no number is active twice (on one ID or two).

Both tell IDs and numbers apart by their plaintext (decrypted, indexed with the newest index
key), not by the stored index: while an index key is rotated, one could be stored under an old
and under the new index.
* ``BINDING_UNVERIFIED``: every number is bound from a session that is ``bound`` and was
  verified: it passed, or a supervisor approved its review.
* ``SESSION_USED_TWICE``: no session is behind more than one number.
* ``SESSION_STUCK``: no session is left ``capturing`` past its capture's time limit.
* ``CHALLENGE_STRAY``: a one-time nonce exists only for a challenge outstanding in
  ``awaiting_capture``, stored with its (scheduled) challenge and its issue time; no session was
  issued more challenges than ``max_challenges``.
* ``REVIEW_STATE_MISMATCH``: a review and its session agree (pending and ``review``; approved
  and ``approved`` or ``bound``; rejected and ``rejected``; expired and ``expired``).
* ``AUDIT_CHAIN_BROKEN``: the audit hash chain and its signed heads verify.

A violation names the rule, how many records break it and up to five of their ids (session,
review or subscription ids, or HMAC indexes: never a number or a name).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from realname.errors import SetupError
from realname.records.crypto import FieldCipher
from realname.service.context import ServiceContext
from realname.service.store.models import Identity, RegistrationSession, Review, Subscription
from realname.service.usecases.lifecycle import ReviewState, SessionState
from realname.service.usecases.registration import STALE_GRACE_S
from realname.service.verification import Verdict

__all__ = ["INVARIANTS", "InvariantReport", "Violation", "check_invariants"]

INVARIANTS = (
    "CAP_EXCEEDED",
    "NUMBER_ACTIVE_TWICE",
    "BINDING_UNVERIFIED",
    "SESSION_USED_TWICE",
    "SESSION_STUCK",
    "CHALLENGE_STRAY",
    "REVIEW_STATE_MISMATCH",
    "AUDIT_CHAIN_BROKEN",
)
_EXAMPLES = 5
_REVIEW_SESSION_STATES: dict[str, tuple[str, ...]] = {
    ReviewState.PENDING: (SessionState.REVIEW,),
    # An approved session that is never bound expires with its evidence (purge's
    # "after_evidence"); the review keeps its decision.
    ReviewState.APPROVED: (SessionState.APPROVED, SessionState.BOUND, SessionState.EXPIRED),
    ReviewState.REJECTED: (SessionState.REJECTED,),
    ReviewState.EXPIRED: (SessionState.EXPIRED,),
}


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    count: int
    examples: tuple[str, ...]
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "count": self.count,
            "examples": list(self.examples),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class InvariantReport:
    checked: tuple[str, ...]
    violations: tuple[Violation, ...]
    sessions: int
    active_numbers: int
    audit_entries: int

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": list(self.checked),
            "violations": [v.to_dict() for v in self.violations],
            "sessions": self.sessions,
            "active_numbers": self.active_numbers,
            "audit_entries": self.audit_entries,
        }


def _violation(rule: str, ids: list[Any], detail: str) -> Violation | None:
    if not ids:
        return None
    return Violation(rule, len(ids), tuple(str(i) for i in ids[:_EXAMPLES]), detail)


def _newest(cipher: FieldCipher, index: str, enc: str, purpose: str, prefix: str) -> str:
    """The newest index of the plaintext that ``enc`` holds (bound to ``purpose + index``);
    the stored index for a value that does not decrypt (a tampered row)."""
    try:
        return cipher.index(prefix + cipher.decrypt_text(enc, purpose + index))
    except SetupError:
        return index


def _over_cap(cipher: FieldCipher, session: Session, cap: int) -> Violation | None:
    """Counted per ID, not per identity row: while an index key is rotated one ID could be
    stored twice (under an old and the new index), so IDs are told apart by their plaintext's
    newest index."""
    per_id: Counter[str] = Counter()
    rows = session.execute(
        select(Identity.id_index, Identity.id_number_enc, func.count())
        .join(Subscription, Subscription.identity_id == Identity.id)
        .where(Subscription.ended_at.is_(None))
        .group_by(Identity.id, Identity.id_index, Identity.id_number_enc)
    )
    for index, enc, count in rows:
        per_id[_newest(cipher, index, enc, "id_number:identity:", "")] += count
    over = [f"id_index:{index[:12]}" for index, n in per_id.items() if n > cap]
    return _violation("CAP_EXCEEDED", over, f"IDs with over {cap} numbers")


def _active_twice(cipher: FieldCipher, session: Session) -> Violation | None:
    """By the number's newest index, from its plaintext: an old and a new index of one number
    (an index key being rotated) are the same number."""
    per_number: Counter[str] = Counter()
    rows = session.execute(
        select(Subscription.msisdn_index, Subscription.msisdn_enc).where(
            Subscription.ended_at.is_(None)
        )
    )
    for index, enc in rows:
        per_number[_newest(cipher, index, enc, "msisdn:", "msisdn:")] += 1
    twice = [f"msisdn_index:{index[:12]}" for index, n in per_number.items() if n > 1]
    return _violation("NUMBER_ACTIVE_TWICE", twice, "numbers active twice")


def _unverified(session: Session) -> Violation | None:
    approved = select(Review.session_id).where(Review.state == str(ReviewState.APPROVED))
    rows = session.execute(
        select(Subscription.id, RegistrationSession.state, RegistrationSession.verdict)
        .join(RegistrationSession, RegistrationSession.id == Subscription.session_id)
        .where(
            (RegistrationSession.state != str(SessionState.BOUND))
            | (
                (RegistrationSession.verdict != str(Verdict.PASSED))
                & RegistrationSession.id.not_in(approved)
            )
        )
    ).all()
    return _violation(
        "BINDING_UNVERIFIED",
        [f"subscription:{r[0]}" for r in rows],
        "numbers bound from a session that neither passed nor was approved",
    )


def _used_twice(session: Session) -> Violation | None:
    rows = session.execute(
        select(Subscription.session_id).group_by(Subscription.session_id).having(func.count() > 1)
    ).all()
    bound_without = session.execute(
        select(RegistrationSession.id)
        .outerjoin(Subscription, Subscription.session_id == RegistrationSession.id)
        .where(RegistrationSession.state == str(SessionState.BOUND), Subscription.id.is_(None))
    ).all()
    ids = [f"session:{r[0]}" for r in rows] + [f"session:{r[0]}" for r in bound_without]
    return _violation(
        "SESSION_USED_TWICE", ids, "sessions behind two numbers, or bound without one"
    )


def _stuck(ctx: ServiceContext, session: Session) -> Violation | None:
    limit = ctx.now() - timedelta(seconds=ctx.settings.capture_timeout_s + STALE_GRACE_S)
    rows = session.execute(
        select(RegistrationSession.id).where(
            RegistrationSession.state == str(SessionState.CAPTURING),
            (RegistrationSession.capture_started_at.is_(None))
            | (RegistrationSession.capture_started_at <= limit),
        )
    ).all()
    return _violation(
        "SESSION_STUCK",
        [f"session:{r[0]}" for r in rows],
        "sessions left capturing past the capture's time limit",
    )


def _stray_challenge(ctx: ServiceContext, session: Session) -> Violation | None:
    rows = session.execute(
        select(RegistrationSession.id).where(
            (
                RegistrationSession.nonce_hash.is_not(None)
                & (
                    (RegistrationSession.state != str(SessionState.AWAITING_CAPTURE))
                    | RegistrationSession.challenge_issued_at.is_(None)
                    | RegistrationSession.challenge.is_(None)
                    | RegistrationSession.challenge.not_like("%@%")
                )
            )
            | (RegistrationSession.challenges_issued > ctx.settings.max_challenges)
        )
    ).all()
    return _violation(
        "CHALLENGE_STRAY",
        [f"session:{r[0]}" for r in rows],
        "nonces outside an outstanding scheduled challenge, or sessions over max_challenges",
    )


def _review_mismatch(session: Session) -> Violation | None:
    bad: list[str] = []
    for review_state, session_states in _REVIEW_SESSION_STATES.items():
        rows = session.execute(
            select(Review.id)
            .join(RegistrationSession, RegistrationSession.id == Review.session_id)
            .where(
                and_(
                    Review.state == review_state,
                    RegistrationSession.state.not_in(session_states),
                )
            )
        ).all()
        bad += [f"review:{r[0]}" for r in rows]
    in_review = session.execute(
        select(RegistrationSession.id)
        .outerjoin(Review, Review.session_id == RegistrationSession.id)
        .where(
            RegistrationSession.state == str(SessionState.REVIEW),
            (Review.id.is_(None)) | (Review.state != str(ReviewState.PENDING)),
        )
    ).all()
    bad += [f"session:{r[0]}" for r in in_review]
    return _violation("REVIEW_STATE_MISMATCH", bad, "reviews whose session disagrees")


def check_invariants(ctx: ServiceContext) -> InvariantReport:
    """Check every rule of :data:`INVARIANTS` on the database of ``ctx``."""
    with ctx.database.transaction() as session:
        found = [
            _over_cap(ctx.keys.cipher, session, ctx.settings.max_numbers_per_id),
            _active_twice(ctx.keys.cipher, session),
            _unverified(session),
            _used_twice(session),
            _stuck(ctx, session),
            _stray_challenge(ctx, session),
            _review_mismatch(session),
        ]
        sessions = session.scalar(select(func.count()).select_from(RegistrationSession)) or 0
        active = (
            session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.ended_at.is_(None))
            )
            or 0
        )
    audit = ctx.audit.verify()
    if not audit.ok:
        found.append(
            Violation(
                "AUDIT_CHAIN_BROKEN",
                1,
                () if audit.first_bad is None else (f"entry:{audit.first_bad}",),
                audit.reason,
            )
        )
    return InvariantReport(
        checked=INVARIANTS,
        violations=tuple(v for v in found if v is not None),
        sessions=int(sessions),
        active_numbers=int(active),
        audit_entries=audit.entries,
    )
