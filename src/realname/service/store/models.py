"""Tables. Personal data is stored only encrypted (``*_enc``: AES-GCM via
:class:`realname.records.crypto.FieldCipher`, bound to purpose and row) with HMAC indexes for
look-ups
(``*_index``). No template or embedding is ever stored. The Alembic migrations in
``migrations/versions`` create exactly these tables (a test compares them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from realname.service.store.db import Base, UTCDateTime

__all__ = [
    "AuditHeadRow",
    "AuditRow",
    "CitizenLookup",
    "Dispute",
    "FlagAck",
    "IdFailure",
    "IdLockout",
    "Identity",
    "Outlet",
    "RegistrationSession",
    "ReportDay",
    "Review",
    "Subscription",
    "Token",
    "User",
]

ROLES = ("clerk", "supervisor", "auditor", "admin")


class Outlet(Base):
    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Local opening hours, ``HH:MM-HH:MM`` (the report's UTC offset); None: not known, so no
    # out-of-hours flag for this outlet.
    opening_hours: Mapped[str | None] = mapped_column(String(11))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Sign-in failures in a row (reset by a success) and the lock they set (issue 9).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The employee this account belongs to (canonical text): one person may hold a clerk and a
    # supervisor account, and approving their own clerk account's cases is flagged (issue 15).
    employee_ref: Mapped[str | None] = mapped_column(String(50))


class Token(Base):
    """An opaque bearer token, stored only as its SHA-256."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RegistrationSession(Base):
    """One customer at the counter: consent, card, captures, verdict, binding.

    ``state``: ``manual`` (consent refused), ``awaiting_card``, ``awaiting_capture``,
    ``capturing`` (a nonce was consumed, the verification is running), ``passed``, ``review``,
    ``approved``, ``rejected``, ``failed`` (attempts used up), ``bound`` (used for a number),
    ``expired`` (purged).
    """

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20))
    biometric_consent: Mapped[bool] = mapped_column(Boolean)
    consent_text_version: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The challenge now outstanding, in its string form with its schedule
    # (``blink@1.10-3.30,...``), with its nonce's hash and when it was issued: revealed only when
    # the customer is ready (``POST .../challenge``), never at creation. ``challenges_issued``
    # counts every challenge the session was given (answered or not: the inspection reports).
    challenge: Mapped[str | None] = mapped_column(String(200))
    nonce_hash: Mapped[str | None] = mapped_column(String(64))
    challenge_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    challenges_issued: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the running capture's nonce was consumed (state ``capturing``); a capture older than
    # ``capture_timeout_s`` is released as CAPTURE_INTERRUPTED.
    capture_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    id_index: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    name_enc: Mapped[str | None] = mapped_column(Text)
    card_enc: Mapped[str | None] = mapped_column(Text)
    portrait_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Where the match reference came from: the chip (``chip``) or the portrait printed on the
    # card, cropped from its photo (``printed``: a weaker reference, shown to the supervisor).
    portrait_source: Mapped[str] = mapped_column(String(10), default="chip", server_default="chip")
    verdict: Mapped[str | None] = mapped_column(String(10))
    reasons: Mapped[str] = mapped_column(String(500), default="")
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Identity(Base):
    """A customer who holds (or held) numbers, found by the HMAC of the ID number."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    id_number_enc: Mapped[str] = mapped_column(Text)
    name_enc: Mapped[str] = mapped_column(Text)
    card_enc: Mapped[str] = mapped_column(Text)  # the other chip fields of the latest card
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Subscription(Base):
    """A number bound to an identity; ``ended_at`` set on deregistration (soft)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index(
            "uq_subscriptions_active_msisdn",
            "msisdn_index",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), unique=True)
    msisdn_index: Mapped[str] = mapped_column(String(64))
    msisdn_masked: Mapped[str] = mapped_column(String(11))
    msisdn_enc: Mapped[str] = mapped_column(Text)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(200))


class IdFailure(Base):
    """A failed capture for an ID (by HMAC index), for the lock-out window."""

    __tablename__ = "id_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_index: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdLockout(Base):
    __tablename__ = "id_lockouts"

    id_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime())


class Review(Base):
    """A borderline case for a supervisor, with encrypted evidence that expires."""

    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), unique=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    state: Mapped[str] = mapped_column(String(10))  # pending, approved, rejected, expired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reasons: Mapped[str] = mapped_column(String(500), default="")
    details_enc: Mapped[str | None] = mapped_column(Text)
    portrait_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    frame_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    plot_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    plot_zh_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # None: no CJK font
    evidence_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(String(500))


class AuditRow(Base):
    """One :class:`realname.records.audit.AuditEntry`; rows are read back in ``id`` order."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    time: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    outlet: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))
    objects: Mapped[str] = mapped_column(Text)  # canonical JSON of str -> str
    outcome: Mapped[str] = mapped_column(String(50))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """A signed chain head (:class:`realname.records.audit.ChainHead`)."""

    __tablename__ = "audit_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(200))


class ReportDay(Base):
    """The report counters of one outlet and local day, kept when the audit entries they were
    counted from are pruned (``audit_retention_days``): the figures stay, the entries go."""

    __tablename__ = "report_days"
    __table_args__ = (UniqueConstraint("outlet", "day", name="uq_report_days_outlet_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outlet: Mapped[str] = mapped_column(String(50))
    day: Mapped[str] = mapped_column(String(10))
    counts: Mapped[str] = mapped_column(Text)  # canonical JSON of the additive figures
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    folded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FlagAck(Base):
    """An anomaly flag that a supervisor or auditor acknowledged (the flag's stable id)."""

    __tablename__ = "flag_acks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    outlet: Mapped[str] = mapped_column(String(50))
    acknowledged_by: Mapped[str] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(String(500))


class CitizenLookup(Base):
    """A citizen's own look-up of the numbers bound to their ID (一证通查, issue 15).

    Its secret token is stored only as its SHA-256; the ID only as its HMAC indexes (as
    ``identities.id_index``: the newest index key's, and the older keys' while one is rotated)
    and masked; the card's portrait only encrypted, and only until the
    look-up ends (passed, attempts used up, expired). ``state``: ``awaiting_capture``,
    ``capturing``, ``passed``, ``failed`` (:class:`realname.service.usecases.citizen.LookupState`).
    """

    __tablename__ = "citizen_lookups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_index: Mapped[str] = mapped_column(String(64), index=True)
    # The ID's indexes under the older index keys, newest first, comma-separated (an index key
    # being rotated: the identity may still be stored under one of them).
    old_id_indexes: Mapped[str] = mapped_column(String(400), default="", server_default="")
    id_number_masked: Mapped[str] = mapped_column(String(18))
    state: Mapped[str] = mapped_column(String(20))
    portrait_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    challenge: Mapped[str | None] = mapped_column(String(200))
    nonce_hash: Mapped[str | None] = mapped_column(String(64))
    challenge_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    challenges_issued: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Dispute(Base):
    """A number its ID's holder said is not theirs, opened from a passed look-up; answered once
    by a supervisor of the number's outlet (``upheld`` ends the number). The citizen's note is
    stored encrypted; the number masked only."""

    __tablename__ = "disputes"
    __table_args__ = (
        Index(
            "uq_disputes_open_subscription",
            "subscription_id",
            unique=True,
            postgresql_where=text("state = 'open'"),
            sqlite_where=text("state = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lookup_id: Mapped[str] = mapped_column(ForeignKey("citizen_lookups.id"))
    # SET NULL: the purge deletes the subscriptions of an identity past its retention.
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    msisdn_masked: Mapped[str] = mapped_column(String(11))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(10))  # open, answered
    note_enc: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(10))  # upheld, dismissed
    answer: Mapped[str | None] = mapped_column(String(500))
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RateKey(Base):
    """One throttle budget (a scope and its key, hashed: addresses and usernames are not kept
    in the clear). Its row is what concurrent spenders of the budget lock, on every instance."""

    __tablename__ = "rate_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    touched_at: Mapped[float] = mapped_column(Float)  # epoch seconds of the last spend


class RateHit(Base):
    """One spend of a budget, kept for the budget's moving window."""

    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_key_at", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)  # epoch seconds
