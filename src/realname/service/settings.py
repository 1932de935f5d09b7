"""The registration service's settings: the core's, plus the service's own fields.

:class:`ServiceSettings` extends :class:`realname.settings.Settings` with the same ``REALNAME_``
prefix and ``.env`` file: the database, the keys, dev mode, time limits, lock-outs, retention,
rates, workers and the hardening against a hostile client. One object, validated at start-up.

The secrets (the database URL, which may carry a password, and the keys) are
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
    database_pool_size: int = Field(
        10, ge=1, le=500, description="PostgreSQL: connections each instance keeps open"
    )
    database_max_overflow: int = Field(
        20, ge=0, le=500, description="PostgreSQL: connections opened beyond the pool at a peak"
    )
    database_pooler: bool = Field(
        False,
        description="PostgreSQL through PgBouncer in transaction mode (docs/deployment.md): "
        "no server-side prepared statements",
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
    index_keys: SecretStr | None = Field(
        None,
        description="Comma-separated base64 32-byte HMAC keys for look-ups, newest last "
        "(instead of index_key, while an index key is rotated)",
    )
    data_keys_next: SecretStr | None = Field(
        None,
        description="Comma-separated base64 data keys announced for a rotation: read, never "
        "written with (the first restart of a rotation; docs/deployment.md)",
    )
    index_keys_next: SecretStr | None = Field(
        None,
        description="Comma-separated base64 HMAC keys announced for a rotation: matched by "
        "every look-up, never written under (the first restart; docs/deployment.md)",
    )
    audit_signing_key: SecretStr | None = Field(
        None, description="Base64 raw 32-byte Ed25519 private key that signs the audit head"
    )
    key_file: Path | None = Field(
        None,
        description="JSON file with data_keys (list), index_keys (list) or index_key, "
        "audit_signing_key, and optionally data_keys_next and index_keys_next (lists)",
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

    # --- Inspection: reports and anomaly flags (issue 15) ---
    report_utc_offset_h: float = Field(
        8.0,
        ge=-14,
        le=14,
        description="Local time of the outlets for reports, days and opening hours (h from "
        "UTC): China keeps +8 all year, with no daylight saving",
    )
    audit_retention_days: int = Field(
        0,
        ge=0,
        description="Audit entries older than this are pruned by the purge, their figures kept "
        "as day counters for the reports (0: keep the log for ever, the default, because an "
        "inspector may ask about any number still held, however old its registration)",
    )
    flag_robust_z: float = Field(
        3.5,
        gt=0,
        description="An outlet's approval or manual-path rate is flagged this many robust "
        "standard deviations above its peers' median: 3.5 is Iglewicz and Hoaglin's cut for "
        "outliers on the modified z-score",
    )
    flag_min_cases: int = Field(
        10,
        ge=1,
        description="Review decisions or sessions an outlet needs before its rate is scored: "
        "below, one case moves the rate by 10 points or more",
    )
    flag_min_peers: int = Field(
        3,
        ge=2,
        description="Other outlets (each with flag_min_cases) needed for a robust score: a "
        "median and MAD of fewer say little",
    )
    flag_approves_all_share: float = Field(
        0.95,
        gt=0,
        le=1,
        description="A supervisor approving at least this share of their review cases is "
        "flagged: review cases are the borderline ones, between the 1e-4 and 1e-3 operating "
        "points, where impostors concentrate",
    )
    flag_approves_all_min: int = Field(
        20,
        ge=1,
        description="Decisions a supervisor needs before approves_all is judged: at 20, a "
        "supervisor who rightly approves 80% has under 7% chance of reaching 95% by luck",
    )
    flag_id_failures_min: int = Field(
        5,
        ge=2,
        description="Failed captures for one ID in the period that are flagged when they happen "
        "at flag_id_failures_outlets outlets or more: as many as lock the ID "
        "(lockout_failures), but spread over days and outlets, which the lock-out does not see",
    )
    flag_id_failures_outlets: int = Field(
        2, ge=1, description="Outlets those failures must span to be flagged"
    )
    flag_quick_end_h: float = Field(
        72.0,
        gt=0,
        description="A number bound and ended within this (h) counts as a quick end (the "
        "SIM-farm pattern: numbers opened, used for a campaign, dropped); three days covers the "
        "customer who changes their mind the next day",
    )
    flag_quick_end_min: int = Field(
        3,
        ge=1,
        description="Quick ends at one outlet in the period that are flagged: one or two are a "
        "customer's change of mind",
    )
    flag_burst_gap_s: float = Field(
        30.0,
        gt=0,
        description="Passed captures by one clerk closer than this (s) count as a burst: "
        "between two customers' captures come the next customer's consent, a card read (seconds "
        "with a chip reader, minutes typed), the framing and a recorded challenge of 6-11 s "
        "with its upload and verification; 30 s leaves room for the fastest of these",
    )
    flag_burst_min: int = Field(
        3,
        ge=2,
        description="Captures in a row, each closer than flag_burst_gap_s to the last, that are "
        "flagged: two can be a second clerk's customer on the same account",
    )
    flag_disputes_min: int = Field(
        1,
        ge=1,
        description="Numbers of one outlet disputed by their ID's holder (一证通查) that are "
        "flagged: each is a claim that a number was opened in someone else's name",
    )

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
    # --- The citizen's own look-up, 一证通查 (issue 15) ---
    lookup_rate_per_id: str = Field(
        "5/day",
        description="Citizen look-ups one ID number may start (limits notation, per its HMAC "
        "index): the holder needs one, a few with retries; each gives max_capture_attempts "
        "face checks, so an impostor holding the card's portrait gets at most 15 tries a day",
    )
    lookup_rate_per_address: str = Field(
        "20/hour",
        description="Citizen look-ups one client address may start (limits notation): a "
        "household or a shop behind one NAT address does a few; bounds one machine trying many "
        "IDs' portraits",
    )
    lookup_ttl_s: int = Field(
        600,
        ge=60,
        description="A citizen look-up's lifetime from its start (s): max_capture_attempts "
        "captures of about 1 min each, then reading the numbers and flagging one; not longer, "
        "because the card's portrait (encrypted) is held until the look-up ends",
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
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        max_length=2000,
        description="Addresses of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (comma-separated addresses or networks, uvicorn's "
        "--forwarded-allow-ips; '*' trusts every peer): the client address that the sign-in "
        "and look-up throttles count per is then the proxy's client. The default trusts a proxy "
        "on the same host; empty trusts none, and behind a proxy every client then shares the "
        "proxy's address and budget",
    )
    shutdown_grace_s: int = Field(
        10, ge=1, description="Shut-down waits at most this long for running requests (s)"
    )
