"""Service fixtures: an app on SQLite (tmp_path) and, when ``REALNAME_TEST_POSTGRES_URL`` is set,
the same tests on PostgreSQL in a fresh schema per test (a server that cannot be reached is a
failure, not a skip). Passwords use cheap argon2 parameters; the clock can travel."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import cv2
import numpy as np
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import create_engine, text

from realname.identity.idcard import check_character
from realname.records.audit import Actor
from realname.service import security
from realname.service.app import create_app
from realname.service.context import ServiceContext
from realname.service.settings import ServiceSettings
from realname.service.store.models import RegistrationSession
from realname.service.usecases.people import create_outlet, create_user
from tests.service.fakes import FakeVerifier

PASSWORD = "correct horse battery"
POSTGRES_ENV = "REALNAME_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]


def make_id(birth: str = "19900307", sequence: str = "457", region: str = "110101") -> str:
    first = region + birth + sequence
    return first + check_character(first)


def card_form(**fields: str) -> dict[str, str]:
    """The chip's fields of a valid card (the default ``make_id()`` holder), as form fields."""
    form = {
        "name": "张三",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1990-03-07",
        "address": "北京市东城区某街1号",
        "id_number": make_id(),
        "issuing_authority": "北京市公安局东城分局",
        "valid_from": "2020-01-01",
        "valid_until": "",
        "guardian_consent": "false",
    }
    form.update(fields)
    return form


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def key_settings() -> dict[str, Any]:
    signing = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return {
        "data_keys": b64(os.urandom(32)),
        "index_key": b64(os.urandom(32)),
        "audit_signing_key": b64(signing),
    }


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'realname.db'}"
        return
    base = os.environ[POSTGRES_ENV]
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base)  # unreachable server: an error here fails the test
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def portrait_png(seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".png", rng.integers(0, 255, (126, 102, 3), dtype=np.uint8))
    assert ok
    return buf.tobytes()


@dataclass
class Service:
    client: TestClient
    ctx: ServiceContext
    clock: Clock
    verifier: FakeVerifier
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def row(self, session_id: str) -> RegistrationSession:
        """The session's database row, detached (read after the request that changed it)."""
        with self.ctx.database.transaction() as session:
            row = session.get(RegistrationSession, session_id)
            assert row is not None
            session.expunge(row)
            return row

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        r = self.client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def start(self, who: str = "clerk_a", consent: bool = True) -> dict[str, Any]:
        r = self.client.post(
            "/api/v1/sessions",
            json={"biometric_consent": consent, "consent_text_version": "v1"},
            headers=self.headers[who],
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def card(
        self,
        session_id: str,
        who: str = "clerk_a",
        *,
        portrait: bytes | None = None,
        **fields: str,
    ) -> Response:
        return self.card_fields(session_id, fields, who, portrait=portrait)

    def card_fields(
        self,
        session_id: str,
        fields: Mapping[str, str],
        who: str = "clerk_a",
        *,
        portrait: bytes | None = None,
    ) -> Response:
        """:meth:`card` with the card's fields as one mapping."""
        form = card_form(**fields)
        return self.client.put(
            f"/api/v1/sessions/{session_id}/id-card",
            data=form,
            files={"portrait": ("portrait.png", portrait or portrait_png(), "image/png")},
            headers=self.headers[who],
        )

    def challenge(self, session_id: str, who: str = "clerk_a") -> Response:
        """``POST .../challenge``: the page asks for a challenge when the customer is ready."""
        return self.client.post(
            f"/api/v1/sessions/{session_id}/challenge", headers=self.headers[who]
        )

    def nonce(self, session_id: str, who: str = "clerk_a") -> str:
        """A new challenge's nonce (the challenge must be granted)."""
        r = self.challenge(session_id, who)
        assert r.status_code == 200, r.text
        return str(r.json()["nonce"])

    def capture(
        self, session_id: str, nonce: str, clip: bytes = b"PASS", who: str = "clerk_a"
    ) -> Response:
        return self.client.post(
            f"/api/v1/sessions/{session_id}/capture",
            data={"nonce": nonce},
            files={"clip": ("clip.webm", clip, "video/webm")},
            headers=self.headers[who],
        )

    def passed_session(self, id_number: str | None = None, who: str = "clerk_a") -> str:
        s = self.start(who)
        birth = None if id_number is None else id_number[6:14]
        fields = {} if id_number is None else {"id_number": id_number}
        if birth:
            fields["birth_date"] = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
            fields["sex"] = "男" if int(id_number[16]) % 2 else "女"  # type: ignore[index]
        r = self.card_fields(s["id"], fields, who)
        assert r.status_code == 200, r.text
        r = self.capture(s["id"], self.nonce(s["id"], who), who=who)
        assert r.status_code == 200 and r.json()["verdict"] == "passed", r.text
        return str(s["id"])

    def bind(self, session_id: str, msisdn: str, who: str = "clerk_a") -> Response:
        return self.client.post(
            "/api/v1/subscriptions",
            json={"session_id": session_id, "msisdn": msisdn},
            headers=self.headers[who],
        )


def make_settings(database_url: str, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "queue_limit": 60,
        # The session rate limits are tested on their own (test_session_limits.py).
        "session_rate_per_clerk": "100000/hour",
        "session_rate_per_outlet": "100000/hour",
        # The card reader's models take seconds to load: tests that read card photos inject a
        # reader (or ask for the real one); the rest run without one.
        "card_reader": "none",
        **key_settings(),
        **overrides,
    }
    return ServiceSettings(_env_file=None, **values)


def populate(ctx: ServiceContext) -> None:
    actor = Actor("test")
    now = ctx.now()
    create_outlet(ctx.database, ctx.audit, actor, "Outlet A", now)
    create_outlet(ctx.database, ctx.audit, actor, "Outlet B", now)
    for username, role, outlet in (
        ("clerk_a", "clerk", "Outlet A"),
        ("clerk_b", "clerk", "Outlet B"),
        ("supervisor_a", "supervisor", "Outlet A"),
        ("supervisor_b", "supervisor", "Outlet B"),
        ("auditor", "auditor", None),
        ("admin", "admin", None),
    ):
        create_user(
            ctx.database,
            ctx.audit,
            actor,
            username=username,
            password=PASSWORD,
            role=role,
            outlet=outlet,
            now=now,
        )


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def service(database_url: str, settings_overrides: dict[str, Any]) -> Iterator[Service]:
    clock = Clock()
    verifier = FakeVerifier()
    app = create_app(
        make_settings(database_url, **settings_overrides),
        verifier=verifier,
        enroller=verifier.enrol,
        clock=clock,
        periodic_tasks=False,
    )
    with TestClient(app) as client:
        svc = Service(client, app.state.ctx, clock, verifier)
        populate(svc.ctx)
        for name in ("clerk_a", "clerk_b", "supervisor_a", "supervisor_b", "auditor", "admin"):
            svc.headers[name] = svc.login(name)
        yield svc
        verifier.release.set()
