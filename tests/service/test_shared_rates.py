"""Throttle budgets kept in the database (issue 16): every instance on one database spends the
same budgets, a budget is spent by exactly as many concurrent requests as it allows, two budgets
are spent together or not at all, the keys are not stored in the clear, and the purge forgets
them. On SQLite and, with ``REALNAME_TEST_POSTGRES_URL``, on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from realname.service.app import create_app
from realname.service.store.db import Database
from realname.service.store.migrate import upgrade
from realname.service.store.models import RateHit, RateKey
from realname.service.store.rates import SqlRates, rate_key
from realname.service.usecases.purge import forget_spent_rates
from tests.service.conftest import PASSWORD, Clock, make_settings, populate
from tests.service.fakes import FakeVerifier


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


def test_a_budget_is_spent_by_exactly_as_many_concurrent_requests_as_it_allows(
    database: Database,
) -> None:
    rates = SqlRates(database)
    start = threading.Barrier(16)
    answers: list[tuple[int, int] | None] = []
    lock = threading.Lock()

    def spend() -> None:
        start.wait()
        answer = SqlRates(database).spend([("test", "k", 5, 60.0)], time.time())
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=spend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 16
    assert answers.count(None) == 5
    refused = [a for a in answers if a is not None]
    assert all(index == 0 and 1 <= wait <= 60 for index, wait in refused)
    with database.transaction() as session:
        hits = session.scalar(select(func.count()).select_from(RateHit))
    assert hits == 5
    assert rates.spend([("test", "k", 5, 60.0)], time.time()) is not None


def test_two_budgets_are_spent_together_or_not_at_all(database: Database) -> None:
    rates = SqlRates(database)
    now = time.time()
    assert rates.spend([("a", "1", 10, 60.0), ("b", "1", 1, 60.0)], now) is None
    # b is full: a's spend is rolled back with it
    assert rates.spend([("a", "1", 10, 60.0), ("b", "1", 1, 60.0)], now) == (1, 60)
    with database.transaction() as session:
        spent_a = session.scalar(select(func.count()).where(RateHit.key_hash == rate_key("a", "1")))
    assert spent_a == 1
    # the window moves: once the first spend is older than it, b has room again
    assert rates.spend([("b", "1", 1, 60.0)], now + 59.5) == (0, 1)
    assert rates.spend([("b", "1", 1, 60.0)], now + 60.5) is None


def test_the_keys_are_stored_hashed(database: Database) -> None:
    SqlRates(database).spend([("signin-address", "203.0.113.7", 3, 60.0)], time.time())
    with database.transaction() as session:
        stored = [k.key_hash for k in session.scalars(select(RateKey))]
    assert stored == [rate_key("signin-address", "203.0.113.7")]
    assert all("203.0.113.7" not in k for k in stored)


def _instance(database_url: str, **overrides: Any) -> TestClient:
    app = create_app(
        make_settings(database_url, **overrides),
        verifier=FakeVerifier(),
        clock=Clock(),
        periodic_tasks=False,
    )
    return TestClient(app)


def test_two_instances_on_one_database_spend_the_same_budgets(database_url: str) -> None:
    limits = {"login_rate_address": "3/minute", "session_rate_per_clerk": "2/hour"}
    with _instance(database_url, **limits) as one, _instance(database_url, **limits) as two:
        populate(one.app.state.ctx)  # type: ignore[attr-defined]
        form = {"username": "clerk_a", "password": PASSWORD}
        assert one.post("/api/v1/auth/token", data=form).status_code == 200
        token = two.post("/api/v1/auth/token", data=form)
        assert token.status_code == 200
        assert one.post("/api/v1/auth/token", data=form).status_code == 200
        refused = two.post("/api/v1/auth/token", data=form)  # the 4th, on the other instance
        assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
        assert refused.json()["context"]["by"] == "address" and refused.headers["Retry-After"]

        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = {"biometric_consent": True, "consent_text_version": "v1"}
        assert one.post("/api/v1/sessions", json=body, headers=headers).status_code == 201
        assert two.post("/api/v1/sessions", json=body, headers=headers).status_code == 201
        third = one.post("/api/v1/sessions", json=body, headers=headers)
        assert third.status_code == 429 and third.json()["code"] == "SESSION_RATE_LIMITED"


def test_the_purge_forgets_budgets_older_than_the_longest_window(database_url: str) -> None:
    with _instance(database_url) as client:
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        rates = SqlRates(ctx.database)
        longest = 24 * 3600.0  # the look-up's per-ID budget is counted per day
        rates.spend([("old", "1", 5, 60.0)], time.time() - longest - 10)
        rates.spend([("new", "1", 5, 60.0)], time.time())
        assert forget_spent_rates(ctx) == 1
        with ctx.database.transaction() as session:
            kept = [k.key_hash for k in session.scalars(select(RateKey))]
            hits = session.scalar(select(func.count()).select_from(RateHit))
        assert kept == [rate_key("new", "1")] and hits == 1
