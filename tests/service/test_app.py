"""Start-up, health, metrics, and errors as problem+json (never a traceback)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from realname.errors import SetupError
from realname.service.app import create_app
from realname.service.keys import DOCUMENTED_KEYS
from realname.service.settings import ServiceSettings
from realname.service.store.db import Base
from tests.service.conftest import Service, make_settings
from tests.service.fakes import SECRET_IN_ERROR, FakeVerifier


def test_health_readiness_and_metrics(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    ready = service.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    service.passed_session()
    metrics = service.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'realname_capture_verdicts_total{verdict="passed"} 1.0' in text
    assert 'route="/api/v1/sessions/{session_id}/capture"' in text
    assert "realname_http_request_duration_seconds_bucket" in text
    assert "realname_verification_pool_in_use 0.0" in text


def test_the_openapi_document_describes_the_multipart_uploads(service: Service) -> None:
    spec = service.client.get("/openapi.json").json()
    capture = spec["paths"]["/api/v1/sessions/{session_id}/capture"]["post"]
    schema = capture["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(schema["properties"]) == {"clip", "nonce"} and schema["required"] == ["clip"]
    card = spec["paths"]["/api/v1/sessions/{session_id}/id-card"]["put"]
    fields = card["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"id_number", "valid_until", "guardian_consent", "portrait"} <= set(fields)
    assert "score" not in spec["components"]["schemas"]["CaptureOut"]["properties"]


def test_readiness_fails_without_the_database(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable = create_engine("sqlite:////nonexistent/folder/realname.db")
    with monkeypatch.context() as patch:  # undone before the app shuts down
        patch.setattr(service.ctx.database, "engine", unreachable)
        r = service.client.get("/readyz")
    assert r.status_code == 503 and r.json() == {
        "ready": False,
        "models_loaded": True,
        "database": False,
    }
    assert service.client.get("/healthz").status_code == 200


def test_the_schema_of_the_migrations_matches_the_models(service: Service) -> None:
    with service.ctx.database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_unknown_routes_and_bad_bodies_are_problem_json(service: Service) -> None:
    r = service.client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "NOT_FOUND" and r.json()["request_id"] == r.headers["x-request-id"]
    r = service.client.post(
        "/api/v1/sessions",
        json={"biometric_consent": "maybe", "consent_text_version": "v1", "name": "张三"},
        headers=service.headers["clerk_a"],
    )
    assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID"
    assert "张三" not in r.text and "maybe" not in r.text
    r = service.client.get("/api/v1/sessions")
    assert r.status_code == 401 and r.json()["code"] == "AUTH_REQUIRED"
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_traceback_never_reaches_a_client(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    s = service.start()
    service.card(s["id"])
    with caplog.at_level(logging.INFO):
        r = service.capture(s["id"], service.nonce(s["id"]), clip=b"BOOM")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "INTERNAL" and body["request_id"] in body["detail"]
    assert "Traceback" not in r.text and "RuntimeError" not in r.text
    assert SECRET_IN_ERROR not in r.text and "110101" not in r.text
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "RuntimeError" in logged and body["request_id"] in logged
    assert "110101" not in logged and "张三" not in logged
    # The attempt is spent, the session waits for a new challenge.
    view = service.client.get(f"/api/v1/sessions/{s['id']}", headers=service.headers["clerk_a"])
    assert view.json()["state"] == "awaiting_capture" and view.json()["attempts_left"] == 2


def test_outside_dev_mode_missing_or_documented_keys_refuse_to_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(SetupError, match="keys missing"):
        create_app(ServiceSettings(_env_file=None, database_url=url))
    documented = sorted(DOCUMENTED_KEYS)
    with pytest.raises(SetupError, match="documented"):
        create_app(make_settings(url, index_key=documented[0]))
    with pytest.raises(SetupError, match="DEV_MODE"):
        create_app(make_settings(url, dev_fixed_challenge="turn_left,turn_right"))


def test_dev_mode_generates_keys_beside_the_database_and_reuses_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    settings = ServiceSettings(
        _env_file=None,
        database_url=url,
        dev_mode=True,
        dev_fixed_challenge="turn_left,turn_right",
    )
    verifier = FakeVerifier()
    app = create_app(settings, verifier=verifier, periodic_tasks=False)
    key_file = tmp_path / "dev.db.keys.json"
    assert key_file.exists() and oct(key_file.stat().st_mode)[-3:] == "600"
    first = json.loads(key_file.read_text())
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        # Without a schedule of its own the fixed challenge gets the policy's fixed schedule.
        assert str(app.state.ctx.new_challenge()) == "turn_left@1.00-3.20,turn_right@3.50-5.70"
    again = create_app(settings, verifier=verifier, periodic_tasks=False)
    assert json.loads(key_file.read_text()) == first
    assert again.state.ctx.keys.cipher.index("x") == app.state.ctx.keys.cipher.index("x")


def test_a_review_fmr_that_is_not_looser_refuses_to_start(tmp_path: Path) -> None:
    app = create_app(
        make_settings(f"sqlite:///{tmp_path / 'x.db'}", review_fmr="1e-5"),
        verifier=FakeVerifier(),
        periodic_tasks=False,
    )
    with pytest.raises(Exception, match="not looser"), TestClient(app):
        pass


def test_the_review_band_follows_the_operating_point_setting(tmp_path: Path) -> None:
    # REALNAME_MATCH_FMR 1e-3 leaves no room below it for a review band at 1e-3 ...
    app = create_app(
        make_settings(f"sqlite:///{tmp_path / 'x.db'}", match_fmr="1e-3", review_fmr="1e-3"),
        verifier=FakeVerifier(),
        periodic_tasks=False,
    )
    with pytest.raises(Exception, match="not looser"), TestClient(app):
        pass
    # ... while a stricter operating point (1e-5) keeps one below it at 1e-4.
    app = create_app(
        make_settings(f"sqlite:///{tmp_path / 'y.db'}", match_fmr="1e-5", review_fmr="1e-4"),
        verifier=FakeVerifier(),
        periodic_tasks=False,
    )
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200


def test_a_dev_fixed_schedule_longer_than_the_recording_refuses_to_start(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'x.db'}",
        dev_mode=True,
        dev_fixed_challenge="blink@1.00-3.20,turn_left@9.00-11.20",
    )
    app = create_app(settings, verifier=FakeVerifier(), periodic_tasks=False)
    needs = re.escape("needs a 11.70 s recording; the page records 11.00 s")
    with pytest.raises(SetupError, match=needs), TestClient(app):
        pass
