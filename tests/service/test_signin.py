"""Sign-in against a hostile client (issue 9): throttles, account locks, the sign-in pool apart
from verification, and user administration that a single request wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from realname.errors import AccountLockedError, LastAdminError, UserInactiveError
from realname.records.audit import Actor
from realname.service import security
from realname.service.store.models import User
from realname.service.usecases import people
from tests.service.conftest import PASSWORD, Service

WRONG = "wrong password!"


class CountingHasher(PasswordHasher):
    """The cheap test hasher, counting password checks; ``gate`` (when set) holds each check
    until the test opens it."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checks = 0
        self.waiting = threading.Semaphore(0)
        self.gate: threading.Event | None = None

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.checks += 1
        if self.gate is not None:
            self.waiting.release()
            assert self.gate.wait(30), "the test never opened the gate"
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(security, "_hasher", counting)
    return counting


def sign_in(service: Service, username: str, password: str = WRONG) -> Any:
    return service.client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


def audit_actions(service: Service) -> list[tuple[str, str]]:
    with service.ctx.database.transaction() as session:
        return [(e.action, e.outcome) for e in service.ctx.audit.entries(session)]


def refused(service: Service, reason: str) -> float:
    value = service.ctx.metrics.registry.get_sample_value(
        "realname_signin_refused_total", {"reason": reason}
    )
    return value or 0.0


def failed_logins(service: Service, username: str) -> tuple[int, object]:
    with service.ctx.database.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return user.failed_logins, user.locked_until


# --- throttles ---------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"login_rate_account": "3/minute"}])
def test_when_one_account_is_tried_too_often_then_it_is_throttled_before_any_check(
    service: Service, hasher: CountingHasher
) -> None:
    for _ in range(2):  # the fixture signed clerk_b in once: the third attempt
        assert sign_in(service, "clerk_b").status_code == 401
    checks, rows = hasher.checks, len(audit_actions(service))
    # A look-alike form (full width, upper case) is the same account and the same budget.
    for name in ("clerk_b", "ＣＬＥＲＫ_Ｂ", " Clerk_B "):
        r = sign_in(service, name, PASSWORD)
        assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED", r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert hasher.checks == checks  # refused before any argon2 work
    assert len(audit_actions(service)) == rows  # and without an audit row
    assert refused(service, "account") == 3
    assert sign_in(service, "clerk_a").status_code == 401  # another account is not held up


@pytest.mark.parametrize("settings_overrides", [{"login_rate_address": "10/minute"}])
def test_when_one_address_tries_many_names_then_it_is_throttled(
    service: Service, hasher: CountingHasher
) -> None:
    # The fixture signed six users in from this address: four attempts are left.
    for name in ("nobody1", "nobody2", "nobody3", "nobody4"):
        assert sign_in(service, name).status_code == 401
    checks = hasher.checks
    r = sign_in(service, "nobody5")
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
    assert "Retry-After" in r.headers and hasher.checks == checks
    assert refused(service, "address") == 1


# --- account locks ----------------------------------------------------------------------

LOCK = {"login_lock_failures": 3, "login_lock_s": 900}


def course(service: Service, username: str) -> list[tuple[int, str, str | None]]:
    """Three wrong passwords, then the right one (while locked): status, code, Retry-After."""
    answers = [sign_in(service, username) for _ in range(3)]
    answers.append(sign_in(service, username, PASSWORD))
    return [(r.status_code, r.json()["code"], r.headers.get("Retry-After")) for r in answers]


@pytest.mark.parametrize("settings_overrides", [LOCK])
def test_when_failures_reach_the_limit_then_the_account_locks_once_for_a_while(
    service: Service, hasher: CountingHasher
) -> None:
    before = len(audit_actions(service))
    checks = hasher.checks
    answers = course(service, "clerk_a")
    assert answers == [
        (401, "AUTH_INVALID", None),
        (401, "AUTH_INVALID", None),
        (429, "ACCOUNT_LOCKED", "900"),
        (429, "ACCOUNT_LOCKED", "900"),
    ]
    assert hasher.checks == checks + 3  # the right password, while locked, is not checked
    service.clock.advance(300)
    r = sign_in(service, "clerk_a", PASSWORD)
    assert r.status_code == 429 and r.headers["Retry-After"] == "600"
    actions = audit_actions(service)[before:]
    assert actions.count(("auth.lock", "ok")) == 1  # the lock audited once, not every attempt
    assert actions.count(("auth.login", "failed")) == 3 and len(actions) == 4
    assert refused(service, "locked") == 3
    service.clock.advance(601)
    assert sign_in(service, "clerk_a", PASSWORD).status_code == 200
    assert failed_logins(service, "clerk_a") == (0, None)


@pytest.mark.parametrize("settings_overrides", [LOCK])
def test_a_name_that_is_no_account_answers_like_an_account(
    service: Service, hasher: CountingHasher
) -> None:
    checks = hasher.checks
    real = course(service, "clerk_b")
    real_checks, checks = hasher.checks - checks, hasher.checks
    unknown = course(service, "nobody")
    assert unknown == real  # same codes, statuses and Retry-After
    assert hasher.checks - checks == real_checks == 3  # same argon2 work: same timing class
    service.clock.advance(901)
    assert sign_in(service, "nobody").status_code == 401


@pytest.mark.parametrize("settings_overrides", [LOCK])
def test_a_success_resets_the_count_of_failures(service: Service) -> None:
    for _ in range(2):
        assert sign_in(service, "clerk_a").status_code == 401
    assert failed_logins(service, "clerk_a")[0] == 2
    assert sign_in(service, "clerk_a", PASSWORD).status_code == 200
    assert failed_logins(service, "clerk_a") == (0, None)
    for _ in range(2):
        assert sign_in(service, "clerk_a").status_code == 401


def race(workers: int, job: Callable[[int], None]) -> list[BaseException | None]:
    """Run ``job(i)`` in ``workers`` threads released together; what each raised (or None)."""
    barrier = threading.Barrier(workers)
    outcomes: list[BaseException | None] = [None] * workers

    def run(i: int) -> None:
        barrier.wait()
        try:
            job(i)
        except BaseException as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


@pytest.mark.parametrize("settings_overrides", [LOCK])
def test_concurrent_failures_at_the_limit_lock_the_account_once(service: Service) -> None:
    ctx = service.ctx
    for _ in range(2):
        assert sign_in(service, "clerk_a").status_code == 401
    before = len(audit_actions(service))

    def attempt(_i: int) -> None:
        people.login(ctx.database, ctx.audit, "clerk_a", WRONG, ctx.now(), 60, ctx.signin.locks)

    outcomes = race(4, attempt)
    assert all(isinstance(o, AccountLockedError) for o in outcomes), outcomes
    assert audit_actions(service)[before:].count(("auth.lock", "ok")) == 1


# --- the sign-in pool, apart from verification ------------------------------------------

FLOOD = {"login_rate_account": "1000/minute", "login_rate_address": "1000/minute"}


@pytest.mark.parametrize("settings_overrides", [FLOOD])
def test_a_flood_of_sign_ins_is_refused_busy_and_cannot_starve_a_capture(
    service: Service, hasher: CountingHasher
) -> None:
    s = service.start()
    assert service.card(s["id"]).status_code == 200
    nonce = service.nonce(s["id"])
    hasher.gate = threading.Event()
    flood = 45  # more than the event loop's default thread pool (40)
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(sign_in(service, "clerk_b").status_code))
        for _ in range(flood)
    ]
    try:
        for t in threads:
            t.start()
        assert hasher.waiting.acquire(timeout=30)  # one password check holds the one worker
        capture: list[int] = []
        worker = threading.Thread(
            target=lambda: capture.append(service.capture(s["id"], nonce).status_code)
        )
        worker.start()
        worker.join(20)
        assert capture == [200], "a capture waited behind blocked sign-ins"
    finally:
        hasher.gate.set()
        for t in threads:
            t.join(60)
    capacity = service.ctx.signin.pool.capacity
    assert answers.count(503) == flood - capacity and answers.count(401) == capacity
    assert refused(service, "busy") == flood - capacity


# --- user administration: one conditional UPDATE, one winner ----------------------------


def test_deactivating_twice_answers_409_and_audits_once(service: Service) -> None:
    admin = service.headers["admin"]
    assert service.client.delete("/api/v1/users/clerk_b", headers=admin).status_code == 204
    r = service.client.delete("/api/v1/users/clerk_b", headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "USER_INACTIVE"
    assert audit_actions(service).count(("user.deactivate", "ok")) == 1


def test_an_admin_cannot_deactivate_themselves_or_the_last_admin(service: Service) -> None:
    admin = service.headers["admin"]
    r = service.client.delete("/api/v1/users/admin", headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "SELF_DEACTIVATION"
    ctx = service.ctx
    with pytest.raises(LastAdminError):
        people.deactivate_user(ctx.database, ctx.audit, Actor("cli"), "ADMIN", ctx.now())
    assert service.client.get("/api/v1/users", headers=admin).status_code == 200


def test_of_concurrent_deactivations_a_single_request_wins(service: Service) -> None:
    ctx = service.ctx

    def deactivate(_i: int) -> None:
        people.deactivate_user(ctx.database, ctx.audit, Actor("admin"), "clerk_b", ctx.now())

    outcomes = race(4, deactivate)
    assert outcomes.count(None) == 1
    assert all(isinstance(o, UserInactiveError) for o in outcomes if o is not None), outcomes
    assert audit_actions(service).count(("user.deactivate", "ok")) == 1


def test_two_admins_deactivating_each_other_leave_one_admin(service: Service) -> None:
    ctx = service.ctx
    people.create_user(
        ctx.database,
        ctx.audit,
        Actor("test"),
        username="admin2",
        password=PASSWORD,
        role="admin",
        outlet=None,
        now=ctx.now(),
    )
    pairs = [("admin", "admin2"), ("admin2", "admin")]

    def deactivate(i: int) -> None:
        actor, target = pairs[i]
        people.deactivate_user(ctx.database, ctx.audit, Actor(actor), target, ctx.now())

    outcomes = race(2, deactivate)
    assert outcomes.count(None) == 1
    assert [type(o) for o in outcomes if o is not None] == [LastAdminError]
    with ctx.database.transaction() as session:
        admins = session.scalars(select(User).where(User.role == "admin", User.active)).all()
    assert len(admins) == 1


def test_look_alike_usernames_are_one_account(service: Service) -> None:
    assert sign_in(service, "ＣＬＥＲＫ_Ａ", PASSWORD).status_code == 200
    admin = service.headers["admin"]
    assert service.client.delete("/api/v1/users/Ｃｌｅｒｋ_Ｂ", headers=admin).status_code == 204
    assert sign_in(service, "clerk_b", PASSWORD).status_code == 401
    r = service.client.post(
        "/api/v1/users",
        json={"username": "ＡＤＭＩＮ", "password": PASSWORD, "role": "admin"},
        headers=service.headers["admin"],
    )
    assert r.status_code == 409 and r.json()["code"] == "CONFLICT"
    r = service.client.post(
        "/api/v1/users",
        json={"username": "bad name", "password": PASSWORD, "role": "auditor"},
        headers=service.headers["admin"],
    )
    assert r.status_code == 422 and r.json()["code"] == "USERNAME_INVALID"


# --- a regional supervisor is explicit --------------------------------------------------


def test_a_supervisor_of_no_outlet_must_be_asked_for_and_then_sees_every_outlet(
    service: Service,
) -> None:
    admin = service.headers["admin"]
    body: dict[str, Any] = {"username": "regional", "password": PASSWORD, "role": "supervisor"}
    r = service.client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 400 and "--all-outlets" in r.json()["detail"]
    for wrong in (
        {"all_outlets": True, "outlet": "Outlet A"},
        {"all_outlets": True, "role": "clerk"},
    ):
        r = service.client.post("/api/v1/users", json={**body, **wrong}, headers=admin)
        assert r.status_code == 400, r.text
    r = service.client.post("/api/v1/users", json={**body, "all_outlets": True}, headers=admin)
    assert r.status_code == 201 and r.json()["outlet"] is None, r.text
    a = service.start("clerk_a")["id"]
    b = service.start("clerk_b")["id"]
    seen = service.client.get("/api/v1/sessions", headers=service.login("regional")).json()
    assert {a, b} <= {s["id"] for s in seen}
