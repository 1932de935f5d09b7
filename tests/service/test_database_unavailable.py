"""A database that does not answer (issue 16): the request gets 503 DATABASE_UNAVAILABLE with
Retry-After, as problem+json, and nothing of it is written; a SQL error that is a bug is not
disguised as a wait. The real restart of PostgreSQL under load is in benchmarks/faults.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from realname.errors import DatabaseUnavailableError
from realname.service.store.db import Database
from tests.service.conftest import Service
from tests.service.server_process import free_port as free_tcp_port


def test_a_server_that_does_not_answer_is_a_retryable_503(service: Service) -> None:
    ctx = service.ctx
    real = ctx.database.engine
    # the same database seen through a port where nothing listens: the server "restarting"
    port = free_tcp_port()
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{port}/none"
    ctx.database.engine = create_engine(dead, pool_pre_ping=True)
    ctx.database._sessions.configure(bind=ctx.database.engine)
    dialect = ctx.database.dialect
    ctx.database.dialect = "postgresql"
    try:
        r = service.client.post(
            "/api/v1/sessions",
            json={"biometric_consent": True, "consent_text_version": "v1"},
            headers=service.headers["clerk_a"],
        )
    finally:
        ctx.database.engine = real
        ctx.database._sessions.configure(bind=real)
        ctx.database.dialect = dialect
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "DATABASE_UNAVAILABLE" and int(r.headers["Retry-After"]) >= 1
    assert "Traceback" not in r.text and str(port) not in r.text
    # back: the same request succeeds, and the failed one left no session behind
    listed = service.client.get("/api/v1/sessions", headers=service.headers["clerk_a"])
    assert listed.status_code == 200 and listed.json() == []


def test_a_sql_error_that_is_a_bug_is_not_turned_into_a_wait(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(Exception) as raised, db.transaction() as session:
        session.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(raised.value, DatabaseUnavailableError)
    db.dispose()
