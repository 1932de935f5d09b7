"""The registration service's settings: the core's, plus the service's own fields.

:class:`ServiceSettings` extends :class:`realname.settings.Settings` with the same ``REALNAME_``
prefix and ``.env`` file: the database, the keys, dev mode, time limits, lock-outs, retention,
rates, workers and the hardening against a hostile client. One object, validated at start-up.

The secrets (the database URL, which may carry a password, and the three keys) are
:class:`pydantic.SecretStr`: a repr, a log line or a validation error shows ``**********``;
:func:`realname.service.keys.load_keys` and :func:`realname.service.app.build_context` read
them with ``get_secret_value()``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from realname.settings import Settings

__all__ = ["ServiceSettings"]


class ServiceSettings(Settings):
    """Settings of ``realname serve`` and the service's commands (``REALNAME_`` variables)."""

    max_framing_bytes: int = Field(
        1024 * 1024, description="Largest preview still the capture page sends for framing advice"
    )

    # --- The registration service (realname.service) ---
    database_url: SecretStr = Field(
        SecretStr("sqlite:///./realname.db"),
        description="SQLAlchemy URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB "
        "(secret: it may carry a password)",
    )
    dev_mode: bool = Field(
        False, description="Development: generate keys (kept beside the SQLite file) if unset"
    )
    dev_fixed_challenge: str | None = Field(
        None,
        description="Dev mode only: every challenge issued is this one (recorded clips), with "
        "its schedule (blink@1.00-3.20,...) or, without one, the policy's fixed schedule",
    )
    data_keys: SecretStr | None = Field(
        None, description="Comma-separated base64 32-byte AES-GCM data keys, newest last"
    )
    index_key: SecretStr | None = Field(None, description="Base64 32-byte HMAC key for look-ups")
    audit_signing_key: SecretStr | None = Field(
        None, description="Base64 raw 32-byte Ed25519 private key that signs the audit head"
    )
    key_file: Path | None = Field(
        None, description="JSON file with data_keys (list), index_key, audit_signing_key"
    )
    token_ttl_s: int = Field(8 * 3600, ge=60, description="Bearer token lifetime (s)")
    session_ttl_s: int = Field(
        900,
        ge=10,
        description="Registration session lifetime from consent (s): the whole visit, typing a "
        "card by hand (about 10 fields, 2-5 min) and up to max_capture_attempts captures with "
        "their challenges (about 1 min each) included, with room for the customer's questions; "
        "not longer, because the card and its portrait (encrypted) are held while it is open. "
        "The security-critical clock is the challenge's and its nonce's (challenge_ttl_s)",
    )
    challenge_ttl_s: int = Field(
        20,
        ge=5,
        description="A liveness challenge is revealed when the customer is ready; its recording "
        "must begin within this (s). Its clip must then arrive within liveness.prompts.capture_s "
        "plus 30 s for the upload, else CHALLENGE_EXPIRED",
    )
    max_challenges: int = Field(
        6,
        ge=1,
        description="Challenges one session may be issued (answered or not): every new one is "
        "another draw for a replayed recording; beyond, CHALLENGE_LIMIT",
    )
    max_capture_attempts: int = Field(3, ge=1, description="Captures per session")
    lockout_failures: int = Field(5, ge=1, description="Failed captures per ID that lock it")
    lockout_window_s: int = Field(180, ge=1, description="Window counting those failures (s)")
    lockout_s: int = Field(1800, ge=1, description="How long a locked ID is refused (s)")
    max_numbers_per_id: int = Field(5, ge=1, description="Active numbers one ID may hold")
    review_fmr: str = Field(
        "1e-3",
        description="Looser operating point: scores between it and the threshold go to review",
    )
    evidence_retention_days: int = Field(30, ge=1, description="Review evidence is kept (days)")
    identity_retention_days: int = Field(
        730, ge=1, description="Identity kept after its last number ends (days)"
    )
    workers: int = Field(2, ge=1, description="Verification worker threads")
    queue_limit: int = Field(4, ge=0, description="Verifications waiting for a worker")
    busy_retry_after_s: int = Field(5, ge=1, description="Retry-After of a BUSY answer (s)")
    audit_sign_interval_s: int = Field(300, ge=1, description="Sign the audit head every (s)")
    purge_interval_s: int = Field(3600, ge=1, description="Enforce retention every (s)")

    # --- Hardening against a hostile client (issue 9) ---
    capture_timeout_s: int = Field(
        60,
        ge=5,
        description="Time budget of one capture's verification (s); a capture still running "
        "30 s past it (a crash, a runaway worker) is released as CAPTURE_INTERRUPTED",
    )
    login_rate_account: str = Field(
        "10/minute", description="Sign-in attempts per account (limits notation, e.g. 10/minute)"
    )
    login_rate_address: str = Field(
        "30/minute", description="Sign-in attempts per client address (limits notation)"
    )
    session_rate_per_clerk: str = Field(
        "30/hour",
        description="Sessions one clerk may open (limits notation): a busy counter opens one "
        "every few minutes; each session is a new look at challenges for a replayed recording",
    )
    session_rate_per_outlet: str = Field(
        "300/hour",
        description="Sessions one outlet may open (limits notation): ten clerks at full pace; "
        "bounds an outlet whose clerks' accounts are shared or stolen",
    )
    login_lock_failures: int = Field(
        10, ge=1, description="Failed sign-ins in a row that lock the account"
    )
    login_lock_s: int = Field(900, ge=1, description="How long a locked account is refused (s)")
    signin_workers: int = Field(
        1, ge=1, description="Threads that check passwords (argon2), apart from verification"
    )
    body_timeout_s: float = Field(
        10.0, gt=0, description="Longest wait for the next piece of a request body (s)"
    )
    max_connections: int = Field(
        200, ge=1, description="Open connections and requests at once; beyond, uvicorn answers 503"
    )
    shutdown_grace_s: int = Field(
        10, ge=1, description="Shut-down waits at most this long for running requests (s)"
    )
