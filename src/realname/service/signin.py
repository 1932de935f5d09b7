"""Sign-in against a hostile client: throttles, account locks and a pool of its own (issue 9).

One ``POST /api/v1/auth/token`` goes through::

    throttle: client address, then account --> 429 RATE_LIMITED + Retry-After
        |                                      (no argon2, no audit row: a metric counts it)
    sign-in pool: a slot --------------------> 503 BUSY + Retry-After (every place taken)
        |
    people.login: account locked? -----------> 429 ACCOUNT_LOCKED + Retry-After
        |                                      (the password is not checked)
    argon2 check
        |-- fails:    failed_logins + 1 (one conditional UPDATE) -> 401 AUTH_INVALID; the
        |             REALNAME_LOGIN_LOCK_FAILURES-th failure in a row sets locked_until
        |             instead (audited once, "auth.lock") -> 429 ACCOUNT_LOCKED
        '-- succeeds: counter reset, token issued

The account key is the canonical username
(:func:`realname.identity.identifiers.canonical_username`), so
"ＡＤＭＩＮ" and "admin" share one budget; a name that is not a valid username is keyed by a hash
of its text and can never sign in. A name that names no account is throttled and locked exactly
like one that does (same answers, same argon2 work against a dummy hash), so the answers do not
tell whether an account exists.

The client address is ``request.client.host``: behind a reverse proxy that is the proxy's
address, shared by every client, unless the server is told to trust its forwarded headers
(``REALNAME_FORWARDED_ALLOW_IPS``, which ``realname serve`` gives uvicorn; default 127.0.0.1).

The throttles' budgets are in the database (:mod:`realname.service.store.rates`, a moving
window), spent by every instance behind a balancer alike (issue 16). Account locks of real
accounts are in the database too (``users.failed_logins``, ``users.locked_until``). The locks of
names that are no account are kept in memory, per instance, in a bounded table: behind N
instances such a name takes up to N times REALNAME_LOGIN_LOCK_FAILURES failures to lock
everywhere, while the per-account and per-address throttles (shared) still bound its tries.

Passwords are checked in :func:`signin_pool`, a few threads (``REALNAME_SIGNIN_WORKERS``) with a
bounded queue, apart from the verification pool and from the event loop's default thread pool,
so a flood of sign-ins queues behind itself and cannot starve captures of threads.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from realname.errors import RateLimitError, UsernameError
from realname.identity.identifiers import canonical_username
from realname.service.settings import ServiceSettings
from realname.service.throttles import MemoryRates, RateStore, first_refused, rate
from realname.service.workers import VerificationPool

__all__ = [
    "QUEUE_PER_WORKER",
    "LoginLocks",
    "SignInGuard",
    "SignInThrottle",
    "account_key",
    "signin_pool",
]

T = TypeVar("T")

QUEUE_PER_WORKER = 4  # sign-ins waiting per sign-in thread before 503 BUSY
UNKNOWN_NAMES_KEPT = 10_000  # locks of names that are no account, oldest forgotten first


def account_key(username: str) -> str:
    """The throttle key of a typed username: its canonical form, or (for text that is no valid
    username, hence no account) ``?`` and a hash of the text."""
    try:
        return canonical_username(username)
    except UsernameError:
        return "?" + hashlib.sha256(username.encode("utf-8", "replace")).hexdigest()[:32]


class SignInThrottle:
    """Attempts per client address and per account in a moving window, in a
    :class:`~realname.service.throttles.RateStore` (the service's database: shared by every
    instance). :meth:`check` spends one attempt of each or raises 429 ``RATE_LIMITED``."""

    def __init__(self, per_account: str, per_address: str, store: RateStore | None = None) -> None:
        self.per_account = rate(per_account, "REALNAME_LOGIN_RATE_ACCOUNT")
        self.per_address = rate(per_address, "REALNAME_LOGIN_RATE_ADDRESS")
        self.store: RateStore = store if store is not None else MemoryRates()

    def check(self, account: str, address: str) -> None:
        """Spend one attempt of the address and one of the account (or neither), or raise
        :class:`RateLimitError` with ``Retry-After`` and ``by`` (``address`` or ``account``)."""
        refused = first_refused(
            self.store,
            ("signin-address", address, self.per_address, "address"),
            ("signin-account", account, self.per_account, "account"),
        )
        if refused is None:
            return
        by, item, wait = refused
        where = "from this address" if by == "address" else "for this username"
        raise RateLimitError(
            f"too many sign-in attempts {where}; try again later",
            retry_after_s=wait,
            limit=str(item),
            by=by,
        )


class LoginLocks:
    """The lock rule (``failures`` failed sign-ins in a row lock for ``lock_s``), and its state
    for names that are no account (in memory, bounded), so that such a name is refused the same
    way as an account: the answers do not tell whether the account exists."""

    def __init__(self, failures: int, lock_s: int) -> None:
        self.failures = failures
        self.lock_s = lock_s
        self._unknown: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lock_s)

    @staticmethod
    def wait_s(locked_until: datetime | None, now: datetime) -> int | None:
        """Seconds left of a lock (at least 1), or ``None`` when not locked."""
        if locked_until is None or locked_until <= now:
            return None
        return max(1, math.ceil((locked_until - now).total_seconds()))

    def unknown_wait_s(self, key: str, now: datetime) -> int | None:
        with self._lock:
            _failures, until = self._unknown.get(key, (0, None))
        return self.wait_s(until, now)

    def unknown_failed(self, key: str, now: datetime) -> bool:
        """Count a failure of a name that is no account; True when it locks the name now."""
        with self._lock:
            failures, until = self._unknown.pop(key, (0, None))
            if self.wait_s(until, now) is not None:
                self._unknown[key] = (failures, until)
                return False
            failures += 1
            locked = failures >= self.failures
            self._unknown[key] = (0, self.until(now)) if locked else (failures, None)
            while len(self._unknown) > UNKNOWN_NAMES_KEPT:
                self._unknown.popitem(last=False)
            return locked


def signin_pool(workers: int, retry_after_s: int) -> VerificationPool:
    """``workers`` threads that check passwords and at most ``workers * QUEUE_PER_WORKER``
    sign-ins waiting; past that, 503 ``BUSY`` with ``Retry-After`` at once. The same bounded
    pool as the verifications', but its own threads."""
    return VerificationPool(workers, workers * QUEUE_PER_WORKER, retry_after_s, name="signin")


@dataclass(slots=True)
class SignInGuard:
    """The throttle, the lock rule and the pool of one app."""

    throttle: SignInThrottle
    locks: LoginLocks
    pool: VerificationPool

    @classmethod
    def from_settings(
        cls, settings: ServiceSettings, store: RateStore | None = None
    ) -> SignInGuard:
        return cls(
            SignInThrottle(settings.login_rate_account, settings.login_rate_address, store),
            LoginLocks(settings.login_lock_failures, settings.login_lock_s),
            signin_pool(settings.signin_workers, settings.busy_retry_after_s),
        )
