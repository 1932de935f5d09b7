"""A crash mid-capture strands nothing: a capture that outlives its time limit is released as
CAPTURE_INTERRUPTED (attempt counted, audited) at start-up and by the purge, and the purge
clears the personal data of a session in every state."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from realname.service.app import create_app
from realname.service.security import principal_for_token
from realname.service.store.models import RegistrationSession
from realname.service.usecases.lifecycle import SessionState
from realname.service.usecases.purge import SESSION_RETENTION, purge
from realname.service.usecases.registration import STALE_GRACE_S, begin_capture
from tests.service.conftest import Service
from tests.service.fakes import FakeVerifier
from tests.service.invariant import assert_invariants

PERSONAL = ("portrait_enc", "id_number_enc", "name_enc", "card_enc")


def _crash_mid_capture(service: Service) -> dict[str, Any]:
    """A session whose nonce was consumed by a process that then died (no verdict ever)."""
    s = service.start()
    assert service.card(s["id"]).status_code == 200
    token = service.headers["clerk_a"]["Authorization"].removeprefix("Bearer ")
    with service.ctx.database.transaction() as session:
        clerk = principal_for_token(session, token, service.clock())
    begin_capture(service.ctx, clerk, s["id"], service.nonce(s["id"]))
    assert service.row(s["id"]).state == "capturing"
    return s


def _past_the_limit(service: Service) -> None:
    service.clock.advance(service.ctx.settings.capture_timeout_s + STALE_GRACE_S + 1)


def test_a_capture_stranded_by_a_crash_is_released_at_start_up(
    service: Service, database_url: str
) -> None:
    s = _crash_mid_capture(service)
    r = service.client.post(
        f"/api/v1/sessions/{s['id']}/challenge", headers=service.headers["clerk_a"]
    )
    assert r.status_code == 409  # still "being verified" while within its limit
    _past_the_limit(service)
    # A new instance starts on the same database (the crashed one never comes back).
    restarted = create_app(
        service.ctx.settings, verifier=FakeVerifier(), clock=service.clock, periodic_tasks=False
    )
    with TestClient(restarted):
        pass
    row = service.row(s["id"])
    assert row.state == "awaiting_capture" and row.reasons == "CAPTURE_INTERRUPTED"
    assert row.attempts == 1 and row.capture_started_at is None and row.nonce_hash is None
    with service.ctx.database.transaction() as session:
        (entry,) = [
            e for e in service.ctx.audit.entries(session) if e.action == "capture.interrupted"
        ]
    assert entry.objects["session"] == s["id"] and entry.outcome == "awaiting_capture"
    view = service.client.get(
        f"/api/v1/sessions/{s['id']}", headers=service.headers["clerk_a"]
    ).json()
    assert view["attempts_left"] == 2 and view["reasons"] == ["CAPTURE_INTERRUPTED"]
    again = service.client.post(
        f"/api/v1/sessions/{s['id']}/challenge", headers=service.headers["clerk_a"]
    )
    assert again.status_code == 200, again.text
    assert service.capture(s["id"], again.json()["nonce"]).json()["verdict"] == "passed"
    assert_invariants(service.ctx)


def test_the_purge_releases_a_stranded_capture_and_then_cuts_its_data(service: Service) -> None:
    s = _crash_mid_capture(service)
    assert purge(service.ctx).sessions == 0  # within its limit: left alone
    assert service.row(s["id"]).state == "capturing"
    _past_the_limit(service)
    purge(service.ctx)
    assert service.row(s["id"]).state == "awaiting_capture"
    assert_invariants(service.ctx)
    service.clock.advance(service.ctx.settings.session_ttl_s)
    purge(service.ctx)
    row = service.row(s["id"])
    assert row.state == "expired" and all(getattr(row, c) is None for c in PERSONAL)


def test_the_last_attempt_stranded_fails_the_session(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    with service.ctx.database.transaction() as session:
        session.execute(
            update(RegistrationSession).where(RegistrationSession.id == s["id"]).values(attempts=2)
        )
    token = service.headers["clerk_a"]["Authorization"].removeprefix("Bearer ")
    with service.ctx.database.transaction() as session:
        clerk = principal_for_token(session, token, service.clock())
    begin_capture(service.ctx, clerk, s["id"], service.nonce(s["id"]))
    _past_the_limit(service)
    purge(service.ctx)
    row = service.row(s["id"])
    assert row.state == "failed" and row.verdict == "failed"
    assert all(getattr(row, c) is None for c in PERSONAL)


def test_a_verdict_after_the_release_answers_capture_interrupted(service: Service) -> None:
    s = service.start()
    assert service.card(s["id"]).status_code == 200
    nonce = service.nonce(s["id"])
    answer: dict[str, Any] = {}

    def upload() -> None:
        answer["r"] = service.capture(s["id"], nonce, clip=b"WAIT")

    worker = threading.Thread(target=upload)
    worker.start()
    assert service.verifier.started.acquire(timeout=10)
    _past_the_limit(service)
    purge(service.ctx)  # the runaway capture is released while its worker still runs
    service.verifier.release.set()
    worker.join(10)
    r = answer["r"]
    assert r.status_code == 409 and r.json()["code"] == "CAPTURE_INTERRUPTED", r.text
    row = service.row(s["id"])
    assert row.state == "awaiting_capture" and row.verdict == "failed"
    assert_invariants(service.ctx)


def test_every_session_state_has_a_retention_rule() -> None:
    assert set(SESSION_RETENTION) == set(SessionState)


@pytest.mark.parametrize("state", list(SessionState))
def test_the_purge_clears_personal_data_in_every_state(
    service: Service, state: SessionState
) -> None:
    s = service.start()
    if state == SessionState.REVIEW:
        service.card(s["id"])
        nonce = service.nonce(s["id"])
        assert service.capture(s["id"], nonce, clip=b"REVIEW").json()["verdict"] == "review"
        with service.ctx.database.transaction() as session:  # the card is still held in review
            assert session.get(RegistrationSession, s["id"]).id_number_enc is not None  # type: ignore[union-attr]
    else:
        assert service.card(s["id"]).status_code == 200
        with service.ctx.database.transaction() as session:
            session.execute(
                update(RegistrationSession)
                .where(RegistrationSession.id == s["id"])
                .values(state=str(state), capture_started_at=service.clock())
            )
    longest = timedelta(days=service.ctx.settings.evidence_retention_days, seconds=1)
    service.clock.advance(longest.total_seconds())
    purge(service.ctx)
    purge(service.ctx)  # a released capture is cut on the next round at the latest
    row = service.row(s["id"])
    assert all(getattr(row, c) is None for c in PERSONAL), (state, row.state)
    assert row.state not in ("awaiting_card", "awaiting_capture", "capturing")
