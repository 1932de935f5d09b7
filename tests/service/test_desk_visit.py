"""The desk as a visit (issue 13): the portrait enrolled at the card, a session clock for the
whole visit, resuming after a reload from the server's state, birth date and sex from the
number, and the supervisor seeing the verdict's own reasons."""

from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np

from realname.records.audit import Actor
from realname.service.usecases.people import create_user
from tests.service.conftest import PASSWORD, Service, card_form, make_id, portrait_png


def _blank_png() -> bytes:
    ok, buf = cv2.imencode(".png", np.full((126, 102, 3), 128, np.uint8))
    assert ok
    return buf.tobytes()


def _pair_png() -> bytes:
    rng = np.random.default_rng(3)
    ok, buf = cv2.imencode(".png", rng.integers(0, 255, (126, 252, 3), dtype=np.uint8))
    assert ok
    return buf.tobytes()


def _audit_outcomes(service: Service, action: str) -> list[str]:
    with service.ctx.database.transaction() as session:
        return [e.outcome for e in service.ctx.audit.entries(session) if e.action == action]


def test_a_portrait_without_a_face_is_refused_at_the_card_and_the_session_waits(
    service: Service,
) -> None:
    s = service.start()
    r = service.card(s["id"], portrait=_blank_png())
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "NO_FACE" and body["context"]["role"] == "reference"
    row = service.row(s["id"])
    assert row.state == "awaiting_card" and row.attempts == 0 and row.portrait_enc is None
    assert row.challenges_issued == 0
    assert _audit_outcomes(service, "id_card.refused") == ["NO_FACE"]
    # the clerk submits a better portrait to the same session
    again = service.card(s["id"], portrait=portrait_png())
    assert again.status_code == 200, again.text
    assert again.json()["state"] == "awaiting_capture" and again.json()["attempts_left"] == 3


def test_a_portrait_with_two_faces_is_refused_at_the_card(service: Service) -> None:
    s = service.start()
    r = service.card(s["id"], portrait=_pair_png())
    assert r.status_code == 422 and r.json()["code"] == "MULTIPLE_FACES", r.text
    assert r.json()["context"]["role"] == "reference"
    assert service.row(s["id"]).state == "awaiting_card"
    assert service.challenge(s["id"]).json()["code"] == "CARD_REQUIRED"


def test_a_card_breaking_a_rule_is_refused_before_its_portrait_is_enrolled(
    service: Service,
) -> None:
    s = service.start()
    r = service.card(s["id"], portrait=_blank_png(), valid_until="2021-01-01")
    assert r.status_code == 422 and r.json()["code"] == "CARD_REFUSED"
    assert service.verifier.enrolled == []


def test_a_card_while_the_pool_is_full_answers_busy_and_the_session_waits(
    service: Service,
) -> None:
    pool = service.ctx.pool
    s = service.start()
    held = [pool.reserve() for _ in range(pool.capacity)]
    r = service.card(s["id"])
    assert r.status_code == 503 and r.json()["code"] == "BUSY"
    assert service.row(s["id"]).state == "awaiting_card"
    for slot in held:
        slot.release_unused()
    assert service.card(s["id"]).status_code == 200


def test_the_session_lasts_the_whole_visit_and_the_challenge_keeps_its_short_clock(
    service: Service,
) -> None:
    settings = service.ctx.settings
    assert settings.session_ttl_s == 900 and settings.challenge_ttl_s == 20
    s = service.start()
    service.clock.advance(200)  # typing a card by hand: past the old 3-minute session
    r = service.card(s["id"])
    assert r.status_code == 200, r.text
    assert service.row(s["id"]).state == "awaiting_capture"
    s2 = service.start()
    service.card(s2["id"])
    expired = service.challenge(s2["id"]).json()
    answer_window = (
        settings.challenge_ttl_s + service.ctx.prompts.capture_s + 30  # UPLOAD_SLACK_S
    )
    service.clock.advance(answer_window + 1)
    r = service.client.post(
        f"/api/v1/sessions/{s2['id']}/capture",
        data={"nonce": expired["nonce"]},
        files={"clip": ("clip.webm", b"PASS", "video/webm")},
        headers=service.headers["clerk_a"],
    )
    assert r.status_code == 409 and r.json()["code"] == "CHALLENGE_EXPIRED"
    assert service.row(s2["id"]).expires_at > service.clock.now  # the session outlived it


def test_the_session_shows_both_clocks(service: Service) -> None:
    s = service.start()
    created = datetime.fromisoformat(s["created_at"])
    expires = datetime.fromisoformat(s["expires_at"])
    assert (expires - created).total_seconds() == 900
    assert s["challenge_expires_at"] is None and s["challenge_answer_by"] is None
    service.card(s["id"])
    challenge = service.challenge(s["id"]).json()
    view = service.client.get(f"/api/v1/sessions/{s['id']}", headers=service.headers["clerk_a"])
    body = view.json()
    assert body["challenge_expires_at"] == challenge["expires_at"]
    assert body["challenge_answer_by"] == challenge["answer_by"]
    assert body["challenges_left"] == service.ctx.settings.max_challenges - 1


def test_a_reloaded_desk_finds_its_open_sessions_masked_newest_first(service: Service) -> None:
    ctx = service.ctx
    create_user(
        ctx.database,
        ctx.audit,
        Actor("test"),
        username="clerk_a2",
        password=PASSWORD,
        role="clerk",
        outlet="Outlet A",
        now=ctx.now(),
    )
    service.headers["clerk_a2"] = service.login("clerk_a2")
    headers = service.headers["clerk_a"]
    first = service.start()
    service.card(first["id"])
    service.clock.advance(1)
    second = service.start()
    service.clock.advance(1)
    finished = service.passed_session()
    service.clock.advance(1)
    bound = service.passed_session()
    assert service.bind(bound, "13800138000").status_code in (200, 201)
    refused = service.start(consent=False)
    service.clock.advance(1)
    old = service.start()
    other_clerk = service.start("clerk_a2")  # the same outlet, another clerk's desk
    r = service.client.get("/api/v1/sessions?open=true", headers=headers)
    assert r.status_code == 200, r.text
    ids = [x["id"] for x in r.json()]
    assert ids == [old["id"], finished, second["id"], first["id"]]
    assert refused["id"] not in ids and bound not in ids and other_clerk["id"] not in ids
    by_id = {x["id"]: x for x in r.json()}
    carded = by_id[first["id"]]
    assert carded["card_accepted"] is True and carded["state"] == "awaiting_capture"
    assert carded["name_masked"] == "张*"
    assert carded["id_number_masked"] == make_id()[:4] + "*" * 10 + make_id()[-4:]
    assert carded["attempts_left"] == 3
    assert by_id[second["id"]]["card_accepted"] is False
    assert by_id[second["id"]]["name_masked"] is None
    text = r.text
    assert make_id() not in text and "张三" not in text and "北京市" not in text
    # after its deadline a session waiting for its card is not open any more
    service.clock.advance(service.ctx.settings.session_ttl_s + 1)
    later = service.client.get("/api/v1/sessions?open=true", headers=headers).json()
    assert [x["id"] for x in later] == [finished]  # passed: a number may still be bound
    # without open=true the list is as before: the whole outlet
    everything = service.client.get("/api/v1/sessions", headers=headers).json()
    assert other_clerk["id"] in [x["id"] for x in everything]


def test_birth_date_and_sex_may_be_left_to_the_id_number(service: Service) -> None:
    s = service.start()
    form = card_form()
    del form["birth_date"], form["sex"]
    r = service.client.put(
        f"/api/v1/sessions/{s['id']}/id-card",
        data=form,
        files={"portrait": ("portrait.png", portrait_png(), "image/png")},
        headers=service.headers["clerk_a"],
    )
    assert r.status_code == 200, r.text
    row = service.row(s["id"])
    assert row.card_enc is not None
    stored = service.ctx.keys.cipher.decrypt_text(row.card_enc, f"id_card:session:{s['id']}")
    assert '"birth_date": "1990-03-07"' in stored and '"sex": "男"' in stored
    empty = service.start()
    r = service.card(empty["id"], birth_date="", sex="")
    assert r.status_code == 200, r.text


def test_a_birth_date_or_sex_that_disagrees_with_the_number_is_refused(service: Service) -> None:
    s = service.start()
    r = service.card(s["id"], birth_date="1990-03-08", sex="女")
    assert r.status_code == 422 and r.json()["code"] == "CARD_REFUSED"
    assert set(r.json()["reasons"]) == {"CARD_BIRTH_DATE_MISMATCH", "CARD_SEX_MISMATCH"}
    assert service.row(s["id"]).state == "awaiting_card"


def test_the_supervisor_sees_the_verdicts_reasons_not_the_librarys(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    r = service.capture(s["id"], service.nonce(s["id"]), clip=b"REVIEW")
    assert r.json()["reasons"] == ["MATCH_BORDERLINE"]
    supervisor = service.headers["supervisor_a"]
    queue = service.client.get("/api/v1/reviews", headers=supervisor).json()
    assert [q["reasons"] for q in queue] == [["MATCH_BORDERLINE"]]
    detail = service.client.get(f"/api/v1/reviews/{queue[0]['id']}", headers=supervisor).json()
    assert detail["reasons"] == ["MATCH_BORDERLINE"]
    assert "FACE_MISMATCH" not in detail["reasons"]


def test_a_failed_capture_says_which_step_was_not_seen_and_why(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    challenge = service.challenge(s["id"]).json()
    r = service.capture(s["id"], challenge["nonce"], clip=b"FAIL")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "failed" and body["reasons"] == [
        "CHALLENGE_INCOMPLETE",
        "MATCH_SKIPPED",
    ]
    steps = body["steps"]
    assert [x["action"] for x in steps] == [x["action"] for x in challenge["steps"]]
    assert [x["prompt_s"] for x in steps] == [x["prompt_s"] for x in challenge["steps"]]
    assert all(x["seen"] and x["reason"] is None for x in steps[:-1])
    last = steps[-1]
    assert not last["seen"] and last["reason"] == "STEP_TOO_SMALL"
    assert last["measured"] < last["needed"] and last["unit"] in ("deg", "ratio", "mar")
    passed = service.capture(s["id"], service.nonce(s["id"])).json()
    assert passed["verdict"] == "passed" and passed["steps"] == []  # the fake judges no steps


def _review_id(service: Service, clip: bytes) -> str:
    s = service.start()
    service.card(s["id"])
    assert service.capture(s["id"], service.nonce(s["id"]), clip=clip).json()["verdict"] == (
        "review"
    )
    queue = service.client.get("/api/v1/reviews", headers=service.headers["supervisor_a"])
    return str(next(q["id"] for q in queue.json() if q["session_id"] == s["id"]))


def test_the_plot_is_sent_in_the_pages_language(service: Service) -> None:
    review = _review_id(service, b"REVIEW")
    url = f"/api/v1/reviews/{review}/evidence/plot"
    supervisor = service.headers["supervisor_a"]
    zh = service.client.get(url, params={"lang": "zh-CN"}, headers=supervisor)
    assert zh.status_code == 200 and zh.headers["content-type"] == "image/png"
    assert zh.headers["content-language"] == "zh-CN"
    assert "x-plot-language-fallback" not in zh.headers
    en = service.client.get(url, headers=supervisor)
    assert en.headers["content-language"] == "en" and en.content != zh.content
    assert service.client.get(url, params={"lang": "fr"}, headers=supervisor).status_code == 422
    frame = service.client.get(
        f"/api/v1/reviews/{review}/evidence/frame", params={"lang": "zh-CN"}, headers=supervisor
    )
    assert frame.status_code == 200 and "content-language" not in frame.headers


def test_without_a_cjk_font_the_chinese_plot_is_the_english_one_and_says_so(
    service: Service,
) -> None:
    review = _review_id(service, b"REVIEW_NO_CJK")
    url = f"/api/v1/reviews/{review}/evidence/plot"
    supervisor = service.headers["supervisor_a"]
    zh = service.client.get(url, params={"lang": "zh-CN"}, headers=supervisor)
    en = service.client.get(url, headers=supervisor)
    assert zh.status_code == 200 and zh.content == en.content
    assert zh.headers["content-language"] == "en"
    assert "no CJK font" in zh.headers["x-plot-language-fallback"]
    assert "x-plot-language-fallback" not in en.headers
