"""Throttle budgets in the database, shared by every instance (issue 16).

A budget is ``amount`` spends per moving window of ``window_s`` seconds (``limits``' moving
window, kept in SQL). :meth:`SqlRates.spend` takes one spend of each budget given, or of none:
in one transaction it upserts each budget's row (which locks it: on PostgreSQL the row lock,
on SQLite the database's write lock, so concurrent spenders of one budget, on any instance, go
one after the other), forgets the budget's spends older than its window, counts the rest and
records the new spend; if a budget is full the transaction rolls back, the earlier budgets'
spends with it, and the answer is that budget's index and the seconds until its oldest spend
leaves the window. Budgets are locked in the order given; every caller gives its two in a fixed
order, so two spenders never wait on each other crosswise.

Keys are stored as a SHA-256 of scope and key (client addresses and usernames are personal
data, and the row only needs to be found again).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from realname.service.store.db import Database
from realname.service.store.models import RateHit, RateKey

__all__ = ["Spend", "SqlRates", "rate_key"]

# (scope, key, amount, window_s): one budget to spend from
Spend = tuple[str, str, int, float]


def rate_key(scope: str, key: str) -> str:
    return hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()


class _FullError(Exception):
    def __init__(self, index: int, wait_s: int) -> None:
        super().__init__(index, wait_s)
        self.index = index
        self.wait_s = wait_s


class SqlRates:
    """Moving-window budgets kept in ``database``, so that every instance spends the same."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def spend(self, budgets: Sequence[Spend], now: float) -> tuple[int, int] | None:
        """One spend of every budget, or none: ``None``, or ``(index, wait_s)`` of the first
        full budget (``wait_s`` at least 1)."""
        insert = pg_insert if self.database.is_postgres else sqlite_insert
        try:
            with self.database.transaction() as session:
                for index, (scope, key, amount, window_s) in enumerate(budgets):
                    hashed = rate_key(scope, key)
                    session.execute(
                        insert(RateKey)
                        .values(key_hash=hashed, touched_at=now)
                        .on_conflict_do_update(
                            index_elements=["key_hash"], set_={"touched_at": now}
                        )
                    )
                    since = now - window_s
                    session.execute(
                        delete(RateHit).where(RateHit.key_hash == hashed, RateHit.at <= since)
                    )
                    count, oldest = session.execute(
                        select(func.count(), func.min(RateHit.at)).where(RateHit.key_hash == hashed)
                    ).one()
                    if count >= amount:
                        # a spender that read its clock earlier may find a later spend
                        # (it waited for the lock): never more than the window
                        left = float(oldest) + window_s - now
                        wait = min(max(1, math.ceil(left)), math.ceil(window_s))
                        raise _FullError(index, wait)
                    session.add(RateHit(key_hash=hashed, at=now))
        except _FullError as full:
            return full.index, full.wait_s
        return None

    def forget(self, before: float) -> int:
        """Delete the spends and budgets untouched since ``before`` (the purge: a budget's
        window is at most a day); returns the budgets forgotten."""
        with self.database.transaction() as session:
            session.execute(delete(RateHit).where(RateHit.at < before))
            gone = session.execute(delete(RateKey).where(RateKey.touched_at < before))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]
