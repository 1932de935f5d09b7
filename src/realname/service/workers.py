"""A bounded pool for CPU work (decode and verify): ``workers`` threads and at most
``queue_limit`` jobs waiting. When both are full the request is refused at once with 503 BUSY
and ``Retry-After``, instead of queueing without bound; the event loop only awaits.

A request first reserves a slot (so it is refused before it spends anything, e.g. its nonce),
then runs its job in it. The slot is freed when the job ends, even if the request was cancelled
meanwhile, or at once if the job never started.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from realname.errors import BusyError

__all__ = ["Slot", "VerificationPool"]

T = TypeVar("T")


class Slot:
    def __init__(self, pool: VerificationPool) -> None:
        self._pool = pool
        self._started = False
        self._released = False

    def _release(self, _future: Future[Any] | None = None) -> None:
        with self._pool._lock:
            if not self._released:
                self._released = True
                self._pool._in_use -= 1

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self._started or self._released:
            raise RuntimeError("a slot runs one job")
        self._started = True
        try:
            future = self._pool._executor.submit(fn, *args)
        except RuntimeError:
            self._release()
            raise
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def release_unused(self) -> None:
        """Free the slot if its job never started (a started job frees it when it ends)."""
        if not self._started:
            self._release()


class VerificationPool:
    def __init__(self, workers: int, queue_limit: int, retry_after_s: int) -> None:
        self.workers = workers
        self.capacity = workers + queue_limit
        self.retry_after_s = retry_after_s
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify")
        self._lock = threading.Lock()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        """Jobs reserved, running or waiting."""
        return self._in_use

    def reserve(self) -> Slot:
        """A slot, or :class:`BusyError` (503, ``Retry-After``) when the pool is full."""
        with self._lock:
            if self._in_use >= self.capacity:
                raise BusyError(
                    "every verification worker is busy; try again shortly",
                    retry_after_s=self.retry_after_s,
                )
            self._in_use += 1
        return Slot(self)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        slot = self.reserve()
        try:
            return await slot.run(fn, *args)
        finally:
            slot.release_unused()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
