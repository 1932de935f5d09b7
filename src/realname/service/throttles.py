"""Sessions opened per clerk and per outlet (issue 10) and citizen look-ups per ID and per
client address (issue 15), rate-limited.

Every session is a fresh look at the challenges: an attacker with one recording once kept
opening sessions until its sequence came up. ``REALNAME_SESSION_RATE_PER_CLERK`` (30/hour: a
busy counter registers a customer every few minutes) and ``REALNAME_SESSION_RATE_PER_OUTLET``
(300/hour: ten clerks at full pace, for an outlet whose accounts are shared or stolen) bound
that, in a moving window. A refusal is 429 ``SESSION_RATE_LIMITED`` with ``Retry-After``,
counted (``realname_sessions_refused_total``) and not audited (a flood must not fill the audit
log), like the sign-in throttles of :mod:`realname.service.signin`.

Where the budgets live is a :class:`RateStore`: the service keeps them in the database
(:class:`realname.service.store.rates.SqlRates`), so that every instance behind a balancer
spends from the same budgets (issue 16); :class:`MemoryRates` (``limits``' moving window in
memory, one process only) is for a throttle used on its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Protocol

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from realname.errors import LookupRateLimitError, SessionRateLimitError, SetupError
from realname.service.settings import ServiceSettings
from realname.service.store.rates import Spend

__all__ = [
    "LookupThrottle",
    "MemoryRates",
    "RateStore",
    "SessionThrottle",
    "first_refused",
    "rate",
]


class RateStore(Protocol):
    def spend(self, budgets: Sequence[Spend], now: float) -> tuple[int, int] | None:
        """One spend of every budget, or of none: ``None``, or ``(index, wait_s)`` of the
        first full budget."""
        ...


class MemoryRates:
    """The budgets in this process's memory (``limits``' moving window)."""

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def spend(self, budgets: Sequence[Spend], now: float) -> tuple[int, int] | None:
        items = [RateLimitItemPerSecond(amount, round(window)) for _, _, amount, window in budgets]
        for index, ((scope, key, _, _), item) in enumerate(zip(budgets, items, strict=True)):
            if not self._limiter.test(item, scope, key):
                reset = self._limiter.get_window_stats(item, scope, key).reset_time
                return index, max(1, math.ceil(reset - time.time()))
        for (scope, key, _, _), item in zip(budgets, items, strict=True):
            self._limiter.hit(item, scope, key)
        return None


def rate(text: str, setting: str) -> RateLimitItem:
    """A rate such as ``30/hour`` (``limits``' notation), or :class:`SetupError` naming the
    setting."""
    try:
        return parse(text)
    except ValueError:
        raise SetupError(f"{setting} {text!r} is not a rate such as 30/hour") from None


def first_refused(
    store: RateStore, *budgets: tuple[str, str, RateLimitItem, str]
) -> tuple[str, RateLimitItem, int] | None:
    """Spend one of each budget ``(scope, key, rate, by)`` now, or none: ``None``, or the
    refusing budget's ``by``, its rate and the seconds to wait."""
    spent = [(scope, key, item.amount, float(item.get_expiry())) for scope, key, item, _ in budgets]
    refused = store.spend(spent, time.time())
    if refused is None:
        return None
    index, wait = refused
    _, _, item, by = budgets[index]
    return by, item, wait


class SessionThrottle:
    """:meth:`check` spends one session of the clerk's and one of the outlet's budget, or
    raises :class:`SessionRateLimitError` (``by``: ``clerk`` or ``outlet``) spending neither."""

    def __init__(self, per_clerk: str, per_outlet: str, store: RateStore | None = None) -> None:
        self.per_clerk = rate(per_clerk, "REALNAME_SESSION_RATE_PER_CLERK")
        self.per_outlet = rate(per_outlet, "REALNAME_SESSION_RATE_PER_OUTLET")
        self.store: RateStore = store if store is not None else MemoryRates()

    @classmethod
    def from_settings(
        cls, settings: ServiceSettings, store: RateStore | None = None
    ) -> SessionThrottle:
        return cls(settings.session_rate_per_clerk, settings.session_rate_per_outlet, store)

    def check(self, clerk_id: int, outlet_id: int) -> None:
        refused = first_refused(
            self.store,
            ("session-clerk", str(clerk_id), self.per_clerk, "clerk"),
            ("session-outlet", str(outlet_id), self.per_outlet, "outlet"),
        )
        if refused is None:
            return
        by, item, wait = refused
        raise SessionRateLimitError(
            f"too many sessions opened by this {by}: try again in {wait} s",
            retry_after_s=wait,
            limit=str(item),
            by=by,
        )


class LookupThrottle:
    """Citizen look-ups (一证通查) per ID number and per client address (issue 15):
    :meth:`check` spends one of each budget, or raises :class:`LookupRateLimitError` spending
    neither. The ID is keyed by its HMAC index only. The answer never depends on what the ID
    holds: the throttle knows nothing but the keys (one per index key, and the address)."""

    def __init__(self, per_id: str, per_address: str, store: RateStore | None = None) -> None:
        self.per_id = rate(per_id, "REALNAME_LOOKUP_RATE_PER_ID")
        self.per_address = rate(per_address, "REALNAME_LOOKUP_RATE_PER_ADDRESS")
        self.store: RateStore = store if store is not None else MemoryRates()

    @classmethod
    def from_settings(
        cls, settings: ServiceSettings, store: RateStore | None = None
    ) -> LookupThrottle:
        return cls(settings.lookup_rate_per_id, settings.lookup_rate_per_address, store)

    def check(self, id_indexes: tuple[str, ...], address: str) -> None:
        """``id_indexes``: the ID's index under every index key, newest first; each has its
        budget spent, so that look-ups counted under an old index key still count."""
        refused = first_refused(
            self.store,
            *[("lookup-id", index, self.per_id, "ID") for index in id_indexes],
            ("lookup-address", address, self.per_address, "address"),
        )
        if refused is None:
            return
        by, item, wait = refused
        raise LookupRateLimitError(
            f"too many look-ups for this {by}: try again in {wait} s",
            retry_after_s=wait,
            limit=str(item),
            by=by,
        )
