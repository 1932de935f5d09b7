"""Schemathesis against the running service: the OpenAPI document is the contract.

The app runs on uvicorn on 127.0.0.1 (as in production: real sockets, the body time limits,
``Connection: close``), built like ``tests/service/conftest.py`` builds it, with the deterministic
``FakeVerifier``. Schemathesis' engine (the one its CLI runs) explores every operation in every
phase (examples, coverage, fuzzing, stateful) with every check on, once with a clerk's token
and once with an admin's, bounded in examples per operation and in time. Any failure fails the
test: a 5xx, an answer that breaks the documented schema, an undocumented status, an accepted
invalid request, a missing ``Allow`` header...

SQLite only: schemathesis makes hundreds of requests, and the SQL both backends run is checked
by every other service test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.engine import Status, events

from realname.service.app import create_app
from tests.service.conftest import PASSWORD, make_settings, populate
from tests.service.fakes import FakeVerifier
from tests.service.server_process import serve_in_thread

MAX_EXAMPLES = 8  # per operation and phase
MAX_TIME_S = 50  # per role: the module stays under 3 minutes on 2 cores
TOKEN_PATH = "/api/v1/auth/token"


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'realname.db'}",
        # Sign-in throttling is tested in test_auth.py; here the tokens must keep coming.
        login_rate_account="100000/minute",
        login_rate_address="100000/minute",
        login_lock_failures=100000,
    )
    app = create_app(settings, verifier=FakeVerifier(), periodic_tasks=False)
    with serve_in_thread(app) as port:
        populate(app.state.ctx)
        yield f"http://127.0.0.1:{port}"


def _login(base_url: str, username: str) -> str:
    r = requests.post(
        base_url + TOKEN_PATH, data={"username": username, "password": PASSWORD}, timeout=10
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@dataclass
class Run:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _run(base_url: str, username: str) -> Run:
    config = schemathesis.Config.from_dict(
        {
            "seed": 20261201,
            "max-time": MAX_TIME_S,
            "suppress-health-check": ["all"],
            "checks": {"enabled": True},  # every check
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all"},
            "phases": {"stateful": {"max-steps": 20}},
            "workers": 1,
            # The citizen's look-up needs no sign-in: a schema-valid start is refused when the
            # ID number's check character is wrong (ID_NUMBER_INVALID) or the portrait does not
            # decode or shows no face, which no OpenAPI schema can say.
            "operations": [
                {
                    "include-path": "/api/v1/citizen/lookups",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "404", "409", "413", "422", "429"]
                        }
                    },
                }
            ],
        }
    )
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", config=config)

    class FreshToken:
        """The user's bearer token; a new one after an operation that revokes it (sign-out),
        so that the operations after it are still explored as that user."""

        token: str | None = None

        def get(self, case: Any, ctx: Any) -> str:
            if FreshToken.token is None:
                FreshToken.token = _login(base_url, username)
            return FreshToken.token

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
            if case.method.upper() == "DELETE" and case.path == TOKEN_PATH:
                FreshToken.token = None  # this request revokes it

    schema.auth(FreshToken, refresh_interval=None)
    run = Run()
    start = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            run.requests += len(event.recorder.interactions)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        run.failures.append(
                            f"{event.recorder.label}: {check.name}: {failure.title}\n"
                            f"{failure.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    run.seconds = time.monotonic() - start
    return run


@pytest.mark.parametrize("username", ["clerk_a", "admin"])
def test_the_api_keeps_its_openapi_contract(base_url: str, username: str) -> None:
    run = _run(base_url, username)
    print(f"schemathesis as {username}: {run.requests} requests in {run.seconds:.0f} s")  # noqa: T201
    assert run.requests > 100, run
    assert run.errors == [], "\n\n".join(run.errors)
    assert run.failures == [], "\n\n".join(run.failures)
