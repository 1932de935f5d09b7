"""The citizen's own look-up (一证通查) over HTTP: the face check, the numbers it shows, the
answers that must not depend on what the ID holds, the rate limits, and the disputes it opens."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from realname.records.reports import entry_outlet
from realname.service.store.models import CitizenLookup, Dispute, Outlet
from realname.service.usecases.purge import purge
from tests.service.conftest import Service, make_id, portrait_png

LOOKUPS = "/api/v1/citizen/lookups"
HOLDER = make_id()  # binds numbers in the tests that need them
NOBODY = make_id(sequence="459")  # never registered
RANDOM = {"id", "token", "session_id", "nonce", "steps", "request_id"}  # differ between any two


def start(
    client: TestClient, id_number: str = HOLDER, consent: str = "true", portrait: bytes = b""
) -> Response:
    return client.post(
        LOOKUPS,
        data={"id_number": id_number, "biometric_consent": consent},
        files={"portrait": ("portrait.png", portrait or portrait_png(), "image/png")},
    )


def challenge(client: TestClient, lookup: dict[str, Any]) -> Response:
    return client.post(
        f"{LOOKUPS}/{lookup['id']}/challenge", headers={"X-Lookup-Token": lookup["token"]}
    )


def capture(
    client: TestClient, lookup: dict[str, Any], nonce: str, clip: bytes = b"PASS"
) -> Response:
    return client.post(
        f"{LOOKUPS}/{lookup['id']}/capture",
        data={"nonce": nonce},
        files={"clip": ("clip.webm", clip, "video/webm")},
        headers={"X-Lookup-Token": lookup["token"]},
    )


def dispute(
    client: TestClient, lookup: dict[str, Any], ref: str, note: str = "not mine"
) -> Response:
    return client.post(
        f"{LOOKUPS}/{lookup['id']}/disputes",
        json={"ref": ref, "note": note},
        headers={"X-Lookup-Token": lookup["token"]},
    )


def started(client: TestClient, id_number: str = HOLDER) -> dict[str, Any]:
    r = start(client, id_number)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def looked_up(client: TestClient, id_number: str = HOLDER) -> tuple[dict[str, Any], Response]:
    """A look-up that passed its face check, and the capture's answer."""
    lookup = started(client, id_number)
    r = capture(client, lookup, challenge(client, lookup).json()["nonce"])
    assert r.status_code == 200 and r.json()["verdict"] == "passed", r.text
    return lookup, r


def bind_numbers(service: Service) -> None:
    """Two numbers for HOLDER: one at Outlet A, one at Outlet B."""
    assert service.bind(service.passed_session(HOLDER), "13812345678").status_code == 201
    sid = service.passed_session(HOLDER, who="clerk_b")
    assert service.bind(sid, "13987654321", who="clerk_b").status_code == 201


def without_ids(body: Any) -> Any:
    """The answer with every value that differs between two look-ups replaced by its type."""
    if isinstance(body, dict):
        return {
            k: type(v).__name__ if k in RANDOM else without_ids(v) for k, v in sorted(body.items())
        }
    if isinstance(body, list):
        return [without_ids(v) for v in body]
    return body


def audit(service: Service, prefix: str) -> list[Any]:
    with service.ctx.database.transaction() as session:
        return [e for e in service.ctx.audit.entries(session) if e.action.startswith(prefix)]


def test_a_passed_look_up_lists_the_numbers_masked_with_outlet_and_date(
    service: Service,
) -> None:
    bind_numbers(service)
    service.clock.advance(60)
    lookup = started(service.client)
    assert lookup["attempts_left"] == service.ctx.settings.max_capture_attempts
    assert set(lookup) == {"id", "token", "expires_at", "attempts_left"}
    ch = challenge(service.client, lookup)
    assert ch.status_code == 200, ch.text
    assert ch.json()["session_id"] == lookup["id"] and ch.json()["steps"]
    r = capture(service.client, lookup, ch.json()["nonce"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "passed" and body["reasons"] == []
    numbers = body["numbers"]
    assert [n["msisdn"] for n in numbers] == ["*******5678", "*******4321"]
    assert [n["outlet"] for n in numbers] == ["Outlet A", "Outlet B"]
    assert all(not n["disputed"] and len(n["ref"]) == 32 for n in numbers)
    for n in numbers:
        assert n["bound_at"][:10] == service.clock.now.date().isoformat()
    assert "13812345678" not in r.text and "138****" not in r.text
    assert HOLDER not in r.text
    # the portrait is gone once the look-up passed
    with service.ctx.database.transaction() as session:
        row = session.get(CitizenLookup, lookup["id"])
        assert row is not None and row.state == "passed" and row.portrait_enc is None
        assert row.id_number_masked != HOLDER and HOLDER[-4:] in row.id_number_masked
    verdicts = [(e.action, e.outcome) for e in audit(service, "citizen.")]
    assert verdicts == [
        ("citizen.lookup_start", "ok"),
        ("citizen.challenge", "ok"),
        ("citizen.lookup", "passed"),
    ]
    assert all(HOLDER not in str(e.objects) for e in audit(service, "citizen."))


def test_an_id_without_numbers_passes_with_an_empty_list(service: Service) -> None:
    _, r = looked_up(service.client, NOBODY)
    assert r.json()["numbers"] == []


@pytest.mark.parametrize("clip", [b"MISMATCH", b"FAIL", b"REVIEW"])
def test_a_refused_check_answers_the_same_whatever_the_id_holds(
    service: Service, clip: bytes
) -> None:
    bind_numbers(service)
    answers = []
    for id_number in (HOLDER, NOBODY):
        r = start(service.client, id_number)
        lookup = r.json()
        ch = challenge(service.client, lookup)
        refused = capture(service.client, lookup, ch.json()["nonce"], clip=clip)
        answers.append(
            [
                (x.status_code, x.headers["content-type"], without_ids(x.json()))
                for x in (r, ch, refused)
            ]
        )
    assert answers[0] == answers[1]
    refused_body = answers[0][2][2]
    assert refused_body["verdict"] == "refused" and refused_body["numbers"] == []
    assert refused_body["reasons"]  # the face and liveness reasons only
    assert set(refused_body) == {"verdict", "attempts_left", "numbers", "reasons"}


def test_the_start_and_the_challenge_do_not_depend_on_what_the_id_holds(
    service: Service,
) -> None:
    bind_numbers(service)
    holder, nobody = started(service.client, HOLDER), started(service.client, NOBODY)
    assert without_ids(holder) == without_ids(nobody)
    a, b = challenge(service.client, holder), challenge(service.client, nobody)
    assert a.status_code == b.status_code == 200
    assert without_ids(a.json()) == without_ids(b.json())
    assert len(a.json()["steps"]) == len(b.json()["steps"])
    assert a.headers.keys() == b.headers.keys()


def test_three_refused_checks_close_the_look_up_and_forget_the_portrait(
    service: Service,
) -> None:
    lookup = started(service.client)
    lefts = []
    for _ in range(3):
        r = capture(
            service.client, lookup, challenge(service.client, lookup).json()["nonce"], b"FAIL"
        )
        assert r.json()["verdict"] == "refused"
        lefts.append(r.json()["attempts_left"])
    assert lefts == [2, 1, 0]
    r = challenge(service.client, lookup)
    assert r.status_code == 409 and r.json()["code"] == "LOOKUP_CLOSED"
    with service.ctx.database.transaction() as session:
        row = session.get(CitizenLookup, lookup["id"])
        assert row is not None and row.state == "failed" and row.portrait_enc is None


def test_a_nonce_works_once_and_a_wrong_token_is_not_found(service: Service) -> None:
    lookup = started(service.client)
    nonce = challenge(service.client, lookup).json()["nonce"]
    r = capture(service.client, lookup, "not-the-nonce")
    assert r.status_code == 409 and r.json()["code"] == "NONCE_INVALID"
    first = capture(service.client, lookup, nonce, b"FAIL")
    assert first.status_code == 200 and first.json()["verdict"] == "refused"
    again = capture(service.client, lookup, nonce)
    assert again.status_code == 409 and again.json()["code"] == "NONCE_INVALID"
    stolen = {**lookup, "token": "guessed"}
    for r in (challenge(service.client, stolen), capture(service.client, stolen, nonce)):
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    unknown = {**lookup, "id": "00000000-0000-0000-0000-000000000000"}
    assert challenge(service.client, unknown).status_code == 404
    retry = capture(service.client, lookup, challenge(service.client, lookup).json()["nonce"])
    assert retry.json()["verdict"] == "passed" and retry.json()["attempts_left"] == 1


def test_a_new_challenge_spends_the_previous_nonce(service: Service) -> None:
    lookup = started(service.client)
    old = challenge(service.client, lookup).json()["nonce"]
    new = challenge(service.client, lookup).json()["nonce"]
    r = capture(service.client, lookup, old)
    assert r.status_code == 409 and r.json()["code"] == "NONCE_INVALID"
    assert capture(service.client, lookup, new).json()["verdict"] == "passed"


def test_consent_is_required_and_nothing_is_stored_without_it(service: Service) -> None:
    r = start(service.client, consent="false")
    assert r.status_code == 422 and r.json()["code"] == "LOOKUP_CONSENT_REQUIRED"
    r = service.client.post(
        LOOKUPS,
        data={"id_number": HOLDER},
        files={"portrait": ("portrait.png", portrait_png(), "image/png")},
    )
    assert r.status_code == 422 and r.json()["code"] == "LOOKUP_CONSENT_REQUIRED"
    with service.ctx.database.transaction() as session:
        assert session.query(CitizenLookup).count() == 0


def test_a_bad_id_number_or_portrait_is_refused(service: Service) -> None:
    wrong = HOLDER[:17] + ("0" if HOLDER[17] != "0" else "1")
    r = start(service.client, wrong)
    assert r.status_code == 422 and r.json()["code"] == "ID_NUMBER_INVALID"
    r = start(service.client, portrait=b"\xff\xd8\xff\xe0 not a jpeg")
    assert r.status_code == 400 and r.json()["code"] == "IMAGE_CORRUPT"
    ok, blank = cv2.imencode(".png", np.full((126, 102, 3), 128, np.uint8))
    assert ok
    r = start(service.client, portrait=blank.tobytes())
    assert r.status_code == 422 and r.json()["code"] == "NO_FACE"
    assert [e.outcome for e in audit(service, "citizen.lookup_start")] == ["NO_FACE"]


def test_an_expired_look_up_is_closed(service: Service) -> None:
    lookup = started(service.client)
    nonce = challenge(service.client, lookup).json()["nonce"]
    service.clock.advance(service.ctx.settings.lookup_ttl_s + 1)
    r = capture(service.client, lookup, nonce)
    assert r.status_code == 409 and r.json()["code"] == "LOOKUP_CLOSED"
    r = challenge(service.client, lookup)
    assert r.status_code == 409 and r.json()["code"] == "LOOKUP_CLOSED"
    started(service.client, NOBODY)  # a new look-up forgets the expired ones (no dispute)
    with service.ctx.database.transaction() as session:
        assert session.get(CitizenLookup, lookup["id"]) is None


def test_a_passed_look_up_that_expired_opens_no_dispute(service: Service) -> None:
    bind_numbers(service)
    lookup, r = looked_up(service.client)
    service.clock.advance(service.ctx.settings.lookup_ttl_s + 1)
    r = dispute(service.client, lookup, r.json()["numbers"][0]["ref"])
    assert r.status_code == 409 and r.json()["code"] == "LOOKUP_CLOSED"


def test_a_look_up_that_has_not_passed_opens_no_dispute(service: Service) -> None:
    bind_numbers(service)
    _, passed = looked_up(service.client)
    lookup = started(service.client)
    r = dispute(service.client, lookup, passed.json()["numbers"][0]["ref"])
    assert r.status_code == 409 and r.json()["code"] == "LOOKUP_NOT_PASSED"


@pytest.mark.parametrize(
    "settings_overrides",
    [{"lookup_rate_per_id": "2/hour", "lookup_rate_per_address": "100/hour"}],
)
def test_look_ups_per_id_are_limited_whatever_the_id_holds(service: Service) -> None:
    bind_numbers(service)
    answers = []
    for id_number in (HOLDER, NOBODY):
        for _ in range(2):
            started(service.client, id_number)
        r = start(service.client, id_number)
        assert r.status_code == 429 and r.json()["code"] == "LOOKUP_RATE_LIMITED", r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 3600
        # the wait may be one second apart: the windows began a few milliseconds apart
        body = without_ids(r.json())
        body["context"].pop("retry_after_s")
        answers.append((r.headers["content-type"], re.sub(r"\d+ s", "N s", json.dumps(body))))
    assert answers[0] == answers[1]
    other = make_id(sequence="461")
    assert start(service.client, other).status_code == 201  # another ID is not limited


@pytest.mark.parametrize(
    "settings_overrides",
    [{"lookup_rate_per_id": "100/hour", "lookup_rate_per_address": "3/hour"}],
)
def test_look_ups_per_client_address_are_limited(service: Service) -> None:
    for sequence in ("461", "463", "465"):
        started(service.client, make_id(sequence=sequence))
    r = start(service.client, make_id(sequence="467"))
    assert r.status_code == 429 and r.json()["code"] == "LOOKUP_RATE_LIMITED"
    assert int(r.headers["Retry-After"]) >= 1
    elsewhere = TestClient(service.client.app, client=("203.0.113.9", 40000))
    assert start(elsewhere, make_id(sequence="467")).status_code == 201


def test_a_refused_start_spends_no_budget(service: Service) -> None:
    for _ in range(3):
        assert start(service.client, consent="false").status_code == 422
    # the default allows 5 a day per ID: an unconsented try is not counted
    for _ in range(5):
        started(service.client)
    assert start(service.client).status_code == 429


def outlet_id(service: Service, name: str) -> int:
    with service.ctx.database.transaction() as session:
        found = session.query(Outlet).filter_by(name=name).one()
        return int(found.id)


def test_a_dispute_goes_to_the_outlets_supervisor_who_answers_once(service: Service) -> None:
    bind_numbers(service)
    lookup, r = looked_up(service.client)
    number_a = r.json()["numbers"][0]
    opened = dispute(service.client, lookup, number_a["ref"], note="我没有办过这个号")
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["state"] == "open" and body["msisdn"] == "*******5678"
    assert body["outlet"] == "Outlet A"
    again = dispute(service.client, lookup, number_a["ref"])
    assert again.status_code == 409 and again.json()["code"] == "DISPUTE_OPEN"
    # a later look-up shows it disputed and cannot open a second one
    later, shown = looked_up(service.client)
    assert [n["disputed"] for n in shown.json()["numbers"]] == [True, False]
    r = dispute(service.client, later, shown.json()["numbers"][0]["ref"])
    assert r.status_code == 409 and r.json()["code"] == "DISPUTE_OPEN"
    unknown = dispute(service.client, later, "0" * 32)
    assert unknown.status_code == 404

    listed = service.client.get("/api/v1/disputes", headers=service.headers["supervisor_a"])
    assert listed.status_code == 200, listed.text
    (seen,) = listed.json()
    assert seen["id"] == body["id"] and seen["outlet"] == "Outlet A"
    assert seen["msisdn"] == "138****5678" and seen["clerk"] == "clerk_a"
    assert seen["note"] == "我没有办过这个号" and seen["state"] == "open"
    assert seen["outcome"] is None and seen["answered_by"] is None
    other = service.client.get("/api/v1/disputes", headers=service.headers["supervisor_b"])
    assert other.status_code == 200 and other.json() == []
    everything = service.client.get("/api/v1/disputes", headers=service.headers["auditor"])
    assert [d["id"] for d in everything.json()] == [body["id"]]
    clerk = service.client.get("/api/v1/disputes", headers=service.headers["clerk_a"])
    assert clerk.status_code == 403
    assert service.client.get("/api/v1/disputes").status_code == 401

    answer_url = f"/api/v1/disputes/{body['id']}/answer"
    answer = {"outcome": "dismissed", "answer": "合同签字与身份证一致"}
    r = service.client.post(answer_url, json=answer, headers=service.headers["supervisor_b"])
    assert r.status_code == 404  # another outlet's dispute
    r = service.client.post(answer_url, json=answer, headers=service.headers["auditor"])
    assert r.status_code == 403
    r = service.client.post(answer_url, json=answer, headers=service.headers["supervisor_a"])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "answered" and r.json()["outcome"] == "dismissed"
    assert r.json()["answered_by"] == "supervisor_a" and r.json()["answer"] == answer["answer"]
    second = {"outcome": "upheld", "answer": "on second thought"}
    r = service.client.post(answer_url, json=second, headers=service.headers["supervisor_a"])
    assert r.status_code == 409 and r.json()["code"] == "DISPUTE_ANSWERED"
    assert (
        service.client.get("/api/v1/disputes", headers=service.headers["supervisor_a"]).json() == []
    )
    answered = service.client.get(
        "/api/v1/disputes", params={"state": "answered"}, headers=service.headers["supervisor_a"]
    )
    assert [d["outcome"] for d in answered.json()] == ["dismissed"]

    outlet_a = str(outlet_id(service, "Outlet A"))
    (opened_entry,) = audit(service, "citizen.dispute")
    assert opened_entry.outcome == "opened" and opened_entry.actor == "citizen"
    # the anomaly flags (records/flags.py) count citizen.dispute entries by objects.outlet
    assert entry_outlet(opened_entry) == outlet_a
    assert opened_entry.objects["dispute"] == body["id"]
    assert opened_entry.objects["session"] == seen["session_id"]
    assert "13812345678" not in str(opened_entry.objects)
    assert "我没有" not in str(opened_entry.objects)  # the note stays in its (encrypted) row
    (answer_entry,) = audit(service, "dispute.answer")
    assert answer_entry.outcome == "dismissed" and answer_entry.actor == "supervisor_a"
    assert answer_entry.objects == {"outlet": outlet_a, "dispute": body["id"]}
    # the number is still active: a new dispute may be opened on it
    fresh, shown = looked_up(service.client)
    assert shown.json()["numbers"][0]["disputed"] is False
    assert dispute(service.client, fresh, shown.json()["numbers"][0]["ref"]).status_code == 201


def test_an_upheld_dispute_ends_the_number(service: Service) -> None:
    bind_numbers(service)
    lookup, r = looked_up(service.client)
    number_b = r.json()["numbers"][1]
    opened = dispute(service.client, lookup, number_b["ref"], note="")
    assert opened.status_code == 201 and opened.json()["outlet"] == "Outlet B"
    assert (
        service.client.get("/api/v1/disputes", headers=service.headers["supervisor_a"]).json() == []
    )
    (seen,) = service.client.get("/api/v1/disputes", headers=service.headers["supervisor_b"]).json()
    assert seen["note"] == "" and seen["clerk"] == "clerk_b"
    r = service.client.post(
        f"/api/v1/disputes/{seen['id']}/answer",
        json={"outcome": "upheld", "answer": "no contract on file"},
        headers=service.headers["supervisor_b"],
    )
    assert r.status_code == 200 and r.json()["outcome"] == "upheld", r.text
    _, after = looked_up(service.client)
    assert [n["msisdn"] for n in after.json()["numbers"]] == ["*******5678"]
    ends = audit(service, "number.deregister")
    assert len(ends) == 1 and ends[0].actor == "supervisor_b"


def test_a_dispute_answer_must_say_why(service: Service) -> None:
    bind_numbers(service)
    lookup, r = looked_up(service.client)
    opened = dispute(service.client, lookup, r.json()["numbers"][0]["ref"]).json()
    url = f"/api/v1/disputes/{opened['id']}/answer"
    for bad in ({"outcome": "dismissed", "answer": ""}, {"outcome": "maybe", "answer": "x"}):
        r = service.client.post(url, json=bad, headers=service.headers["supervisor_a"])
        assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID"


def test_the_purge_forgets_expired_look_ups_but_keeps_a_disputed_ones_row(
    service: Service,
) -> None:
    bind_numbers(service)
    lookup = started(service.client)
    challenge(service.client, lookup)
    disputed, shown = looked_up(service.client)
    r = dispute(service.client, disputed, shown.json()["numbers"][0]["ref"])
    assert r.status_code == 201, r.text
    service.clock.advance(service.ctx.settings.lookup_ttl_s)
    purge(service.ctx)
    with service.ctx.database.transaction() as session:
        assert session.get(CitizenLookup, lookup["id"]) is None
        row = session.get(CitizenLookup, disputed["id"])
        assert row is not None and row.portrait_enc is None and row.nonce_hash is None
        assert session.get(Dispute, r.json()["id"]) is not None


def test_of_parallel_disputes_and_answers_exactly_one_wins(service: Service) -> None:
    bind_numbers(service)
    lookups = [looked_up(service.client) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        opened = list(
            pool.map(
                lambda lr: dispute(service.client, lr[0], lr[1].json()["numbers"][0]["ref"]),
                lookups,
            )
        )
    assert sorted(r.status_code for r in opened) == [201, 409, 409, 409]
    assert {r.json()["code"] for r in opened if r.status_code == 409} == {"DISPUTE_OPEN"}
    (won,) = [r.json()["id"] for r in opened if r.status_code == 201]
    url = f"/api/v1/disputes/{won}/answer"
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda i: service.client.post(
                    url,
                    json={"outcome": "upheld" if i % 2 else "dismissed", "answer": f"answer {i}"},
                    headers=service.headers["supervisor_a"],
                ),
                range(4),
            )
        )
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409]
    assert len(audit(service, "dispute.answer")) == 1


def test_a_dispute_with_a_wrong_token_is_not_found_before_its_note_is_read(
    service: Service,
) -> None:
    lookup = started(service.client)
    r = dispute(service.client, {**lookup, "token": "guessed"}, "x", note="bad\x00note")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = dispute(service.client, lookup, "x", note="bad\x00note")
    assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID"


def test_past_its_challenges_a_look_up_gets_no_new_one(service: Service) -> None:
    lookup = started(service.client)
    for _ in range(service.ctx.settings.max_challenges):
        last = challenge(service.client, lookup)
        assert last.status_code == 200, last.text
    r = challenge(service.client, lookup)
    assert r.status_code == 409 and r.json()["code"] == "CHALLENGE_LIMIT"
    # the last challenge issued is still answered
    r = capture(service.client, lookup, last.json()["nonce"])
    assert r.json()["verdict"] == "passed"
