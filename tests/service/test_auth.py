"""Sign-in, tokens, roles and user administration."""

from __future__ import annotations

from sqlalchemy import select

from realname.service.store.models import Token
from tests.service.conftest import PASSWORD, Service


def test_sign_in_gives_an_opaque_token_stored_only_as_its_hash(service: Service) -> None:
    r = service.client.post(
        "/api/v1/auth/token", data={"username": "clerk_a", "password": PASSWORD}
    )
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 8 * 3600
    with service.ctx.database.transaction() as session:
        stored = [t.token_hash for t in session.scalars(select(Token))]
    assert body["access_token"] not in stored and len(stored[0]) == 64


def test_a_failed_sign_in_is_refused_and_audited(service: Service) -> None:
    for username in ("clerk_a", "nobody"):
        r = service.client.post(
            "/api/v1/auth/token", data={"username": username, "password": "wrong password"}
        )
        assert r.status_code == 401 and r.json()["code"] == "AUTH_INVALID"
    with service.ctx.database.transaction() as session:
        failed = [e for e in service.ctx.audit.entries(session) if e.outcome == "failed"]
    assert [e.actor for e in failed] == ["clerk_a", "unknown"]
    assert "nobody" not in str(failed[1])


def test_a_revoked_or_expired_token_stops_working(service: Service) -> None:
    headers = service.login("clerk_a")
    assert service.client.get("/api/v1/sessions", headers=headers).status_code == 200
    assert service.client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    r = service.client.get("/api/v1/sessions", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "AUTH_INVALID"
    other = service.login("clerk_a")
    service.clock.advance(8 * 3600 + 1)
    assert service.client.get("/api/v1/sessions", headers=other).status_code == 401
    r = service.client.get("/api/v1/sessions", headers={"Authorization": "Bearer made-up"})
    assert r.json()["code"] == "AUTH_INVALID"


def test_an_admin_manages_users_and_a_deactivated_user_is_locked_out(service: Service) -> None:
    admin = service.headers["admin"]
    r = service.client.post("/api/v1/outlets", json={"name": "Outlet C"}, headers=admin)
    assert r.status_code == 201
    r = service.client.post(
        "/api/v1/users",
        json={"username": "clerk_c", "password": PASSWORD, "role": "clerk", "outlet": "Outlet C"},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["outlet"] == "Outlet C"
    dup = service.client.post("/api/v1/outlets", json={"name": "Outlet C"}, headers=admin)
    assert dup.status_code == 409 and dup.json()["code"] == "CONFLICT"
    clerk_c = service.login("clerk_c")
    users = service.client.get("/api/v1/users", headers=admin).json()
    assert "password" not in str(users) and {"clerk_c", "admin"} <= {u["username"] for u in users}
    assert service.client.delete("/api/v1/users/clerk_c", headers=admin).status_code == 204
    assert service.client.get("/api/v1/sessions", headers=clerk_c).status_code == 401
    r = service.client.post(
        "/api/v1/auth/token", data={"username": "clerk_c", "password": PASSWORD}
    )
    assert r.status_code == 401
    r = service.client.post(
        "/api/v1/users",
        json={"username": "x", "password": PASSWORD, "role": "admin"},
        headers=service.headers["supervisor_a"],
    )
    assert r.status_code == 403


def test_a_clerk_cannot_decide_and_a_supervisor_cannot_start_sessions(service: Service) -> None:
    r = service.client.post(
        "/api/v1/reviews/x/decision",
        json={"approve": True, "reason": "r"},
        headers=service.headers["clerk_a"],
    )
    assert r.status_code == 403
    r = service.client.post(
        "/api/v1/sessions",
        json={"biometric_consent": True, "consent_text_version": "v1"},
        headers=service.headers["supervisor_a"],
    )
    assert r.status_code == 403


def test_me_names_the_signed_in_user_role_and_outlet(service: Service) -> None:
    r = service.client.get("/api/v1/auth/me", headers=service.headers["clerk_a"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["username"], body["role"], body["outlet"]) == ("clerk_a", "clerk", "Outlet A")
    admin = service.client.get("/api/v1/auth/me", headers=service.headers["admin"]).json()
    assert (admin["role"], admin["outlet"]) == ("admin", None)
    assert service.client.get("/api/v1/auth/me").json()["code"] == "AUTH_REQUIRED"
