"""A bounded pool for CPU work (decode and verify): ``workers`` threads and at most
``queue_limit`` jobs waiting. When both are full the request is refused at once with 503 BUSY
and ``Retry-After``, instead of queueing without bound; the event loop only awaits.

A request first reserves a slot (so it is refused before it spends anything, e.g. its nonce),
then runs its job in it. The slot is freed when the job ends, even if the request was cancelled
meanwhile, or at once if the job never started.

The threads are daemon threads of a small executor of our own (:class:`DaemonExecutor`), not
``concurrent.futures``' workers, which the interpreter joins at exit: a runaway job (a decoder
stuck in a hostile file) must not keep the process alive after SIGTERM. Shut-down cancels the
jobs still waiting and waits a bounded time (``REALNAME_SHUTDOWN_GRACE_S``) for running ones.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from realname.errors import BusyError

__all__ = ["DaemonExecutor", "Slot", "VerificationPool"]

T = TypeVar("T")

log = logging.getLogger("realname.service")

_Job = tuple[Future[Any], Callable[..., Any], tuple[object, ...]]


class DaemonExecutor:
    """``workers`` daemon threads running submitted jobs in order; see the module docstring."""

    def __init__(self, workers: int, thread_name_prefix: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{thread_name_prefix}_{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor is shut down")
            self._jobs.put((future, fn, args))
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
            del job, future, fn, args  # drop the job's data (a clip) before waiting again

    def shutdown(self, timeout_s: float) -> bool:
        """Cancel the jobs not started, then wait at most ``timeout_s`` for running ones.
        True when every thread ended; a thread still running is left behind (a daemon)."""
        with self._lock:
            self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        for _ in self._threads:
            self._jobs.put(None)
        end = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        running = sum(thread.is_alive() for thread in self._threads)
        if running:
            log.warning(
                "shut-down left %d verification job(s) running after %.0f s", running, timeout_s
            )
        return running == 0


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
    """The bounded pool; ``name`` names its threads and its BUSY answer (the service runs one
    for verifications and one, apart, for password checks)."""

    def __init__(
        self, workers: int, queue_limit: int, retry_after_s: int, name: str = "verify"
    ) -> None:
        self.workers = workers
        self.capacity = workers + queue_limit
        self.retry_after_s = retry_after_s
        self.name = name
        self._executor = DaemonExecutor(workers, thread_name_prefix=name)
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
                    f"every {self.name} worker is busy; try again shortly",
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

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Cancel waiting jobs; wait at most ``timeout_s`` for running ones (True: all ended)."""
        return self._executor.shutdown(timeout_s)
