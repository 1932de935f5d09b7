"""Shut-down never waits for a runaway worker: the pool's threads are daemons, its shut-down
waits a bounded time, and uvicorn gives open requests a bounded grace."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import httpx2

from realname.service.workers import VerificationPool
from tests.service.conftest import key_settings, portrait_png
from tests.service.server_process import Api, ServerProcess


def test_pool_shutdown_waits_a_bounded_time_for_a_job_that_never_ends() -> None:
    pool = VerificationPool(workers=1, queue_limit=1, retry_after_s=1)
    started, never = threading.Event(), threading.Event()

    def runaway() -> None:
        started.set()
        never.wait()

    async def scenario() -> None:
        running = asyncio.ensure_future(pool.run(runaway))
        waiting = asyncio.ensure_future(pool.run(runaway))  # queued behind it: cancelled
        await asyncio.sleep(0.05)
        assert started.wait(5)
        begin = time.monotonic()
        assert pool.shutdown(0.2) is False  # one job still running, left behind
        assert time.monotonic() - begin < 1.0
        await asyncio.sleep(0.05)
        assert waiting.cancelled() and not running.done()
        never.set()
        await running

    try:
        asyncio.run(scenario())
    finally:
        never.set()
    running = [t for t in threading.enumerate() if t.name.startswith("verify")]
    assert all(t.daemon for t in running)  # nothing that the interpreter would wait for


def test_sigterm_stops_a_server_whose_capture_never_ends(tmp_path: Path) -> None:
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'realname.db'}",
        "shutdown_grace_s": 1,
        **key_settings(),
    }
    server = ServerProcess(tmp_path, settings, verifier="block")
    try:
        server.wait_ready()
        api = Api(server.url)
        session = api.start()
        assert api.card(session["id"], portrait_png()).status_code == 200
        nonce = api.nonce(session["id"])
        answers: list[object] = []

        def capture() -> None:
            try:
                answers.append(api.capture(session["id"], nonce, b"WAIT"))
            except httpx2.HTTPError as exc:  # the server went away mid-request
                answers.append(exc)

        thread = threading.Thread(target=capture, daemon=True)
        thread.start()
        time.sleep(1.5)  # the capture is in the worker by now, and never returns
        assert thread.is_alive() and not answers
    finally:
        elapsed = server.stop(timeout_s=30.0)
    thread.join(10)
    api.close()
    assert answers and not thread.is_alive()  # the request ended too (cancelled, or cut off)
    log = (tmp_path / "server.log").read_text()
    # uvicorn re-raises the SIGTERM it handled once it has shut down (-15); -9: it had to be killed
    assert server.process.returncode in (0, -signal.SIGTERM), log[-2000:]
    assert "Application shutdown complete" in log and "left 1 verification job(s)" in log
    # uvicorn's grace (1 s) + the pool's bounded wait (1 s) + signing the audit head
    assert elapsed < 10.0, f"the server took {elapsed:.1f} s to stop after SIGTERM"
