"""Privacy at rest: after a whole registration, the database file and the logs hold no plain
ID number, name, mobile number or portrait."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from realname.records.audit import Actor
from realname.service.app import create_app
from tests.service.conftest import Clock, Service, make_id, make_settings, populate, portrait_png
from tests.service.fakes import FakeVerifier


def test_no_personal_data_in_the_database_file_or_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_file = tmp_path / "privacy.db"
    app = create_app(
        make_settings(f"sqlite:///{db_file}"),
        verifier=FakeVerifier(),
        clock=Clock(),
        periodic_tasks=False,
    )
    portrait = portrait_png(seed=42)
    number, name, address, msisdn = make_id(), "张三", "北京市东城区某街1号", "13812345678"
    with caplog.at_level(logging.DEBUG), TestClient(app) as client:
        svc = Service(client, app.state.ctx, Clock(), FakeVerifier())
        populate(svc.ctx)
        svc.headers = {n: svc.login(n) for n in ("clerk_a", "supervisor_a")}
        sid = svc.passed_session()
        assert svc.bind(sid, msisdn).status_code == 201
        review = svc.start()
        svc.card(review["id"], portrait=portrait)
        assert svc.capture(review["id"], svc.nonce(review["id"]), clip=b"REVIEW").json()[
            "verdict"
        ] == ("review")
        svc.ctx.audit.record(Actor("test"), "test.flush", "ok")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("privacy.db*"))
    assert b"138****5678" in raw and b"number.bind" in raw  # the real database was read
    for secret in (number, number[6:14] + number[14:], name, address, msisdn):
        assert secret.encode() not in raw, secret
    assert portrait not in raw and portrait[200:264] not in raw
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (number, name, address, msisdn):
        assert secret not in logged
