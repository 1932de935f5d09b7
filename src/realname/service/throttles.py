"""Sessions opened per clerk and per outlet, rate-limited (issue 10).

Every session is a fresh look at the challenges: an attacker with one recording once kept
opening sessions until its sequence came up. ``REALNAME_SESSION_RATE_PER_CLERK`` (30/hour: a
busy counter registers a customer every few minutes) and ``REALNAME_SESSION_RATE_PER_OUTLET``
(300/hour: ten clerks at full pace, for an outlet whose accounts are shared or stolen) bound
that, in ``limits``' moving window. A refusal is 429 ``SESSION_RATE_LIMITED`` with
``Retry-After``, counted (``realname_sessions_refused_total``) and not audited (a flood must not
fill the audit log), like the sign-in throttles of :mod:`realname.service.signin`.

State lives in memory, per instance, as the sign-in throttles' does.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from realname.errors import LookupRateLimitError, SessionRateLimitError, SetupError
from realname.service.settings import ServiceSettings

__all__ = ["LookupThrottle", "SessionThrottle"]


def _rate(text: str, setting: str) -> RateLimitItem:
    try:
        return parse(text)
    except ValueError:
        raise SetupError(f"{setting} {text!r} is not a rate such as 30/hour") from None


class SessionThrottle:
    """:meth:`check` spends one session of the clerk's and one of the outlet's budget, or
    raises :class:`SessionRateLimitError` (``by``: ``clerk`` or ``outlet``) spending neither."""

    def __init__(self, per_clerk: str, per_outlet: str) -> None:
        self.per_clerk = _rate(per_clerk, "REALNAME_SESSION_RATE_PER_CLERK")
        self.per_outlet = _rate(per_outlet, "REALNAME_SESSION_RATE_PER_OUTLET")
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> SessionThrottle:
        return cls(settings.session_rate_per_clerk, settings.session_rate_per_outlet)

    def _refused(self, item: RateLimitItem, scope: str, key: str, by: str) -> None:
        if self._limiter.test(item, scope, key):
            return
        reset = self._limiter.get_window_stats(item, scope, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise SessionRateLimitError(
            f"too many sessions opened by this {by}: try again in {wait} s",
            retry_after_s=wait,
            limit=str(item),
            by=by,
        )

    def check(self, clerk_id: int, outlet_id: int) -> None:
        self._refused(self.per_clerk, "session-clerk", str(clerk_id), "clerk")
        self._refused(self.per_outlet, "session-outlet", str(outlet_id), "outlet")
        self._limiter.hit(self.per_clerk, "session-clerk", str(clerk_id))
        self._limiter.hit(self.per_outlet, "session-outlet", str(outlet_id))


class LookupThrottle:
    """Citizen look-ups (一证通查) per ID number and per client address (issue 15):
    :meth:`check` spends one of each budget, or raises :class:`LookupRateLimitError` spending
    neither. The ID is keyed by its HMAC index only. The answer never depends on what the ID
    holds: the throttle knows nothing but the two keys."""

    def __init__(self, per_id: str, per_address: str) -> None:
        self.per_id = _rate(per_id, "REALNAME_LOOKUP_RATE_PER_ID")
        self.per_address = _rate(per_address, "REALNAME_LOOKUP_RATE_PER_ADDRESS")
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> LookupThrottle:
        return cls(settings.lookup_rate_per_id, settings.lookup_rate_per_address)

    def _refused(self, item: RateLimitItem, scope: str, key: str, by: str) -> None:
        if self._limiter.test(item, scope, key):
            return
        reset = self._limiter.get_window_stats(item, scope, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise LookupRateLimitError(
            f"too many look-ups for this {by}: try again in {wait} s",
            retry_after_s=wait,
            limit=str(item),
            by=by,
        )

    def check(self, id_index: str, address: str) -> None:
        self._refused(self.per_id, "lookup-id", id_index, "ID")
        self._refused(self.per_address, "lookup-address", address, "address")
        self._limiter.hit(self.per_id, "lookup-id", id_index)
        self._limiter.hit(self.per_address, "lookup-address", address)
