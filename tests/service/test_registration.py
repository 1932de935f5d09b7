"""The registration flow over HTTP, and every refusal along it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import Service, make_id


def test_a_passed_capture_answers_a_verdict_without_scores(service: Service) -> None:
    s = service.start()
    assert s["state"] == "awaiting_card" and "challenge" not in s and "nonce" not in s
    r = service.card(s["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "awaiting_capture" and "challenge" not in body
    assert body["id_number_masked"] == "1101**********" + make_id()[-4:]
    challenge = service.challenge(s["id"]).json()
    r = service.capture(s["id"], challenge["nonce"])
    assert r.status_code == 200
    assert r.json() == {"verdict": "passed", "reasons": [], "attempts_left": 2, "steps": []}
    assert "score" not in r.text and "threshold" not in r.text
    job = service.verifier.calls[-1]
    assert list(job.challenge.steps) == [x["action"] for x in challenge["steps"]]
    view = service.client.get(f"/api/v1/sessions/{s['id']}", headers=service.headers["clerk_a"])
    assert view.json()["state"] == "passed" and view.json()["verdict"] == "passed"


def test_refused_consent_creates_a_manual_session_without_challenge(service: Service) -> None:
    s = service.start(consent=False)
    assert s["state"] == "manual" and s["manual_alternative"] is True
    r = service.card(s["id"])
    assert r.status_code == 409 and r.json()["code"] == "CONSENT_REFUSED"
    r = service.challenge(s["id"])
    assert r.status_code == 409 and r.json()["code"] == "CONSENT_REFUSED"
    with service.ctx.database.transaction() as session:
        actions = [e.action for e in service.ctx.audit.entries(session)]
    assert "session.consent_refused" in actions


@pytest.mark.parametrize(
    ("fields", "reasons"),
    [
        ({"valid_from": "2000-01-01", "valid_until": "2010-01-01"}, ["CARD_EXPIRED"]),
        ({"birth_date": "1991-03-07"}, ["CARD_BIRTH_DATE_MISMATCH"]),
        ({"sex": "女"}, ["CARD_SEX_MISMATCH"]),
    ],
)
def test_a_card_breaking_a_rule_is_refused_with_its_reasons(
    service: Service, fields: dict[str, str], reasons: list[str]
) -> None:
    s = service.start()
    r = service.card_fields(s["id"], fields)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "CARD_REFUSED" and r.json()["reasons"] == reasons


def test_a_child_needs_guardian_consent(service: Service) -> None:
    child = make_id(birth="20200101", sequence="123")
    fields = {"id_number": child, "birth_date": "2020-01-01", "valid_from": "2021-01-01"}
    s = service.start()
    r = service.card_fields(s["id"], fields)
    assert r.json()["reasons"] == ["GUARDIAN_CONSENT_REQUIRED"]
    r = service.card_fields(s["id"], {**fields, "guardian_consent": "true"})
    assert r.status_code == 200, r.text


def test_a_wrong_check_character_and_a_bad_portrait_use_the_library_codes(
    service: Service,
) -> None:
    s = service.start()
    wrong = make_id()[:17] + ("0" if make_id()[17] != "0" else "1")
    r = service.card(s["id"], id_number=wrong)
    assert r.status_code == 422 and r.json()["code"] == "ID_NUMBER_INVALID"
    r = service.card(s["id"], portrait=b"\xff\xd8\xff\xe0 not a jpeg")
    assert r.status_code == 400 and r.json()["code"] == "IMAGE_CORRUPT"
    r = service.card(s["id"], birth_date="not a date")
    assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID"
    assert r.json()["errors"][0]["loc"] == ["birth_date"]
    assert "not a date" not in r.text  # values sent are never echoed


def test_capture_or_challenge_before_the_card_is_refused(service: Service) -> None:
    s = service.start()
    r = service.capture(s["id"], "no-nonce-yet")
    assert r.status_code == 409 and r.json()["code"] == "CARD_REQUIRED"
    r = service.challenge(s["id"])
    assert r.status_code == 409 and r.json()["code"] == "CARD_REQUIRED"


def test_a_nonce_works_once_and_a_wrong_one_never(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    nonce = service.nonce(s["id"])
    r = service.capture(s["id"], "not-the-nonce")
    assert r.status_code == 409 and r.json()["code"] == "NONCE_INVALID"
    first = service.capture(s["id"], nonce, clip=b"FAIL")
    assert first.json()["verdict"] == "failed"
    assert first.json()["reasons"] == ["CHALLENGE_INCOMPLETE", "MATCH_SKIPPED"]
    again = service.capture(s["id"], nonce)
    assert again.status_code == 409 and again.json()["code"] == "NONCE_INVALID"
    retry = service.capture(s["id"], service.nonce(s["id"]))
    assert retry.json()["verdict"] == "passed"


def test_an_expired_session_is_refused(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    nonce = service.nonce(s["id"])
    service.clock.advance(service.ctx.settings.session_ttl_s + 1)
    r = service.capture(s["id"], nonce)
    assert r.status_code == 409 and r.json()["code"] == "SESSION_EXPIRED"
    r = service.challenge(s["id"])
    assert r.status_code == 409 and r.json()["code"] == "SESSION_EXPIRED"


def test_a_capture_after_the_session_ended_is_refused(service: Service) -> None:
    sid = service.passed_session()
    r = service.capture(sid, "whatever")
    assert r.status_code == 409 and r.json()["code"] == "SESSION_CLOSED"


def test_three_failed_captures_close_the_session(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    lefts = []
    for _ in range(3):
        r = service.capture(s["id"], service.nonce(s["id"]), clip=b"MISMATCH")
        assert r.json()["verdict"] == "failed" and r.json()["reasons"] == ["FACE_MISMATCH"]
        lefts.append(r.json()["attempts_left"])
    assert lefts == [2, 1, 0]
    view = service.client.get(f"/api/v1/sessions/{s['id']}", headers=service.headers["clerk_a"])
    assert view.json()["state"] == "failed" and view.json()["challenges_issued"] == 3
    assert service.challenge(s["id"]).json()["code"] == "SESSION_CLOSED"
    r = service.capture(s["id"], "x")
    assert r.json()["code"] == "SESSION_CLOSED"


def _fail_session(service: Service, times: int) -> dict[str, Any]:
    s = service.start()
    assert service.card(s["id"]).status_code == 200
    for _ in range(times):
        r = service.capture(s["id"], service.nonce(s["id"]), clip=b"FAIL")
        assert r.json()["verdict"] == "failed", r.text
    return {"id": s["id"]}


def test_five_failures_for_one_id_lock_it_out(service: Service) -> None:
    _fail_session(service, 3)
    last = _fail_session(service, 2)  # the fifth failure within 180 s
    closed = service.challenge(last["id"])  # locked: no further attempt in this session either
    assert closed.status_code == 409 and closed.json()["code"] == "SESSION_CLOSED"
    s = service.start()
    r = service.card(s["id"])
    assert r.status_code == 429 and r.json()["code"] == "ID_LOCKED"
    assert 1790 <= int(r.headers["Retry-After"]) <= 1800
    other = service.card(s["id"], id_number=make_id(sequence="459"))
    assert other.status_code == 200, other.text  # another ID is not locked
    service.clock.advance(1801)
    fresh = service.start()
    assert service.card(fresh["id"]).status_code == 200


def test_failures_outside_the_window_do_not_lock(service: Service) -> None:
    _fail_session(service, 3)
    service.clock.advance(181)
    _fail_session(service, 2)
    s = service.start()
    assert service.card(s["id"]).status_code == 200


def test_an_unreadable_clip_spends_the_nonce_and_a_new_challenge_is_issued(
    service: Service,
) -> None:
    s = service.start()
    service.card(s["id"])
    nonce = service.nonce(s["id"])
    r = service.capture(s["id"], nonce, clip=b"CORRUPT")
    assert r.status_code == 400 and r.json()["code"] == "VIDEO_CORRUPT"
    assert service.capture(s["id"], nonce).json()["code"] == "NONCE_INVALID"
    reissued = service.challenge(s["id"])
    assert reissued.status_code == 200 and reissued.json()["attempts_left"] == 2
    r = service.capture(s["id"], reissued.json()["nonce"])
    assert r.json()["verdict"] == "passed" and r.json()["attempts_left"] == 1


def test_an_oversized_clip_is_refused_before_it_is_read(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    nonce = service.nonce(s["id"])
    limit = service.ctx.settings.max_video_bytes
    r = service.client.post(
        f"/api/v1/sessions/{s['id']}/capture",
        content=b"x" * 10,
        headers={
            **service.headers["clerk_a"],
            "Content-Type": "multipart/form-data; boundary=abc",
            "Content-Length": str(limit + 10**6),
        },
    )
    assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert service.verifier.calls == []
    # Without a Content-Length the bytes are counted as they arrive.
    sent = []

    def chunks() -> Any:
        for _ in range(limit // 2**20 + 3):
            sent.append(1)
            yield b"--abc\r\n" if len(sent) == 1 else b"\0" * 2**20

    r = service.client.post(
        f"/api/v1/sessions/{s['id']}/capture",
        content=chunks(),
        headers={**service.headers["clerk_a"], "Content-Type": "multipart/form-data; boundary=abc"},
    )
    assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"
    # The nonce was never spent.
    assert service.capture(s["id"], nonce).json()["verdict"] == "passed"


def test_a_clerk_sees_only_their_own_outlets_sessions(service: Service) -> None:
    s = service.start("clerk_a")
    r = service.client.get(f"/api/v1/sessions/{s['id']}", headers=service.headers["clerk_b"])
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    assert service.card(s["id"], who="clerk_b").status_code == 404
    listed = service.client.get("/api/v1/sessions", headers=service.headers["clerk_b"]).json()
    assert listed == []
    r = service.client.get(f"/api/v1/sessions/{s['id']}", headers=service.headers["auditor"])
    assert r.status_code == 200 and "nonce" not in r.json()
    service.card(s["id"])
    assert service.challenge(s["id"], who="clerk_b").status_code == 404
    assert service.challenge(s["id"], who="auditor").status_code == 403


def test_an_auditor_reads_but_every_write_is_forbidden(service: Service) -> None:
    auditor = service.headers["auditor"]
    r = service.client.post(
        "/api/v1/sessions",
        json={"biometric_consent": True, "consent_text_version": "v1"},
        headers=auditor,
    )
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    sid = service.passed_session()
    assert service.bind(sid, "13812345678", who="auditor").status_code == 403
    r = service.client.delete("/api/v1/subscriptions/13812345678?reason=x", headers=auditor)
    assert r.status_code == 403
    r = service.client.post("/api/v1/outlets", json={"name": "X"}, headers=auditor)
    assert r.status_code == 403
    assert service.client.get("/api/v1/sessions", headers=auditor).status_code == 200
    assert service.client.get("/api/v1/reviews", headers=auditor).status_code == 200
    assert service.client.get("/api/v1/audit/verify", headers=auditor).status_code == 200


def test_a_full_pool_answers_busy_with_retry_after(
    service: Service, settings_overrides: dict[str, Any]
) -> None:
    pool = service.ctx.pool
    s = service.start()
    service.card(s["id"])  # the card's portrait is enrolled in the pool too: before it fills
    held = [pool.reserve() for _ in range(pool.capacity)]
    nonce = service.nonce(s["id"])
    r = service.capture(s["id"], nonce)
    assert r.status_code == 503 and r.json()["code"] == "BUSY"
    assert r.headers["Retry-After"] == str(service.ctx.settings.busy_retry_after_s)
    for slot in held:
        slot.release_unused()
    assert service.capture(s["id"], nonce).json()["verdict"] == "passed"  # nonce kept
    metrics = service.client.get("/metrics").text
    assert "realname_verification_busy_total 1.0" in metrics
