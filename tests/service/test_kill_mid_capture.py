"""``kill -9`` in the middle of a capture, for real: the server process dies with the session
``capturing``; once the capture's time limit has passed, the next instance's start-up releases
it (CAPTURE_INTERRUPTED, the attempt counted, audited) and the customer can capture again."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
from fastapi.testclient import TestClient

from realname.service.app import create_app
from realname.service.settings import ServiceSettings
from realname.service.store.models import RegistrationSession
from realname.service.usecases.registration import STALE_GRACE_S
from tests.service.conftest import PASSWORD, key_settings, portrait_png
from tests.service.fakes import FakeVerifier
from tests.service.invariant import assert_invariants
from tests.service.server_process import Api, ServerProcess


def _state(settings: ServiceSettings, session_id: str) -> RegistrationSession:
    from realname.service.app import build_context

    ctx = build_context(settings)
    with ctx.database.transaction() as session:
        row = session.get(RegistrationSession, session_id)
        assert row is not None
        session.expunge(row)
    ctx.database.dispose()
    return row


def test_a_capture_killed_with_sigkill_is_released_by_the_next_start_up(tmp_path: Path) -> None:
    values = {"database_url": f"sqlite:///{tmp_path / 'realname.db'}", **key_settings()}
    settings = ServiceSettings(_env_file=None, **values)
    server = ServerProcess(tmp_path, values, verifier="block")
    try:
        server.wait_ready()
        api = Api(server.url)
        s = api.start()
        assert api.card(s["id"], portrait_png()).status_code == 200
        nonce = api.nonce(s["id"])

        def capture() -> None:
            with contextlib.suppress(httpx2.HTTPError):  # the server dies under it
                api.capture(s["id"], nonce, b"WAIT")

        threading.Thread(target=capture, daemon=True).start()
        deadline = time.monotonic() + 20
        while _state(settings, s["id"]).state != "capturing":
            assert time.monotonic() < deadline, "the capture never started"
            time.sleep(0.1)
        server.process.kill()  # SIGKILL: no shut-down code runs
        server.process.wait(10)
    finally:
        server.stop()
    assert _state(settings, s["id"]).state == "capturing"  # stranded

    # The next instance starts after the capture's limit has passed.
    later = datetime.now(UTC) + timedelta(seconds=settings.capture_timeout_s + STALE_GRACE_S + 1)
    app = create_app(settings, verifier=FakeVerifier(), clock=lambda: later, periodic_tasks=False)
    with TestClient(app) as client:
        row = _state(settings, s["id"])
        assert row.state == "awaiting_capture" and row.reasons == "CAPTURE_INTERRUPTED"
        assert row.attempts == 1
        token = client.post(
            "/api/v1/auth/token", data={"username": "clerk_a", "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        view = client.get(f"/api/v1/sessions/{s['id']}", headers=auth).json()
        assert view["reasons"] == ["CAPTURE_INTERRUPTED"] and view["attempts_left"] == 2
        ctx = app.state.ctx
        with ctx.database.transaction() as session:
            actions = [e.action for e in ctx.audit.entries(session)]
        assert actions.count("capture.interrupted") == 1
        assert_invariants(ctx)
