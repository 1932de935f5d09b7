"""Borderline cases: the review verdict, the supervisor's queue, evidence, decisions."""

from __future__ import annotations

from typing import Any

from tests.service.conftest import Service, portrait_png
from tests.service.fakes import EVIDENCE


def _review(service: Service) -> tuple[str, dict[str, Any]]:
    s = service.start()
    service.card(s["id"])
    r = service.capture(s["id"], service.nonce(s["id"]), clip=b"REVIEW")
    assert r.status_code == 200
    assert r.json()["verdict"] == "review" and r.json()["reasons"] == ["MATCH_BORDERLINE"]
    assert "score" not in r.text
    queue = service.client.get("/api/v1/reviews", headers=service.headers["supervisor_a"])
    (item,) = [x for x in queue.json() if x["session_id"] == s["id"]]
    return s["id"], item


def test_a_borderline_match_goes_to_review_with_encrypted_evidence(service: Service) -> None:
    sid, item = _review(service)
    assert item["state"] == "pending" and item["scores"] is None
    assert set(item["evidence"]) == {"portrait", "frame", "plot"}
    detail = service.client.get(
        f"/api/v1/reviews/{item['id']}", headers=service.headers["supervisor_a"]
    ).json()
    scores = detail["scores"]
    assert scores["review_threshold"] <= scores["score"] < scores["threshold"]
    assert scores["review_fmr"] == "1e-3"
    supervisor = service.headers["supervisor_a"]
    portrait = service.client.get(item["evidence"]["portrait"], headers=supervisor)
    assert portrait.content == portrait_png() and portrait.headers["content-type"] == "image/png"
    frame = service.client.get(item["evidence"]["frame"], headers=supervisor)
    assert frame.content == EVIDENCE.frame_jpeg and frame.headers["content-type"] == "image/jpeg"
    assert frame.headers["cache-control"] == "no-store"
    for who in ("clerk_a", "supervisor_b"):
        r = service.client.get(f"/api/v1/reviews/{item['id']}", headers=service.headers[who])
        assert r.status_code in (403, 404)
    # In review the session is not bindable yet.
    assert service.bind(sid, "13812345678").json()["code"] == "SESSION_NOT_PASSED"


def test_an_approval_makes_the_session_bindable_once(service: Service) -> None:
    sid, item = _review(service)
    url = f"/api/v1/reviews/{item['id']}/decision"
    r = service.client.post(
        url, json={"approve": True, "reason": " "}, headers=service.headers["supervisor_a"]
    )
    assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID"
    r = service.client.post(
        url, json={"approve": True, "reason": "ok"}, headers=service.headers["auditor"]
    )
    assert r.status_code == 403
    r = service.client.post(
        url,
        json={"approve": True, "reason": "same person, older photo"},
        headers=service.headers["supervisor_a"],
    )
    assert r.status_code == 200 and r.json()["state"] == "approved"
    r = service.client.post(
        url, json={"approve": False, "reason": "x"}, headers=service.headers["supervisor_a"]
    )
    assert r.status_code == 409 and r.json()["code"] == "REVIEW_DECIDED"
    assert service.bind(sid, "13812345678").status_code == 201


def test_a_rejection_closes_the_session(service: Service) -> None:
    sid, item = _review(service)
    r = service.client.post(
        f"/api/v1/reviews/{item['id']}/decision",
        json={"approve": False, "reason": "different person"},
        headers=service.headers["supervisor_a"],
    )
    assert r.json()["state"] == "rejected"
    assert service.bind(sid, "13812345678").json()["code"] == "SESSION_NOT_PASSED"


def test_evidence_is_deleted_after_its_retention(service: Service) -> None:
    from realname.service.usecases.purge import purge

    _sid, item = _review(service)
    service.clock.advance(29 * 86400)
    assert purge(service.ctx).evidence == 0
    service.clock.advance(2 * 86400)
    assert purge(service.ctx).evidence == 1
    stale = service.client.get("/api/v1/reviews", headers=service.headers["supervisor_a"])
    assert stale.status_code == 401 and stale.json()["code"] == "AUTH_INVALID"  # 8 h tokens
    supervisor = service.login("supervisor_a")
    detail = service.client.get(f"/api/v1/reviews/{item['id']}", headers=supervisor).json()
    assert detail["state"] == "expired" and detail["evidence"] == {} and detail["scores"] is None
    assert service.client.get(item["evidence"]["frame"], headers=supervisor).status_code == 404


def test_a_covered_face_in_the_review_band_is_failed_not_reviewed() -> None:
    from realname.service.verification import Assessment, decide

    def assessed(*reasons: str) -> Assessment:
        return Assessment(True, False, 0.40, 0.42, "sface", ("FACE_MISMATCH", *reasons))

    assert decide(assessed(), review_threshold=0.36) == ("review", ("MATCH_BORDERLINE",))
    for covered in ("REFERENCE_FACE_OCCLUDED", "PROBE_FACE_OCCLUDED"):
        verdict, reasons = decide(assessed(covered), review_threshold=0.36)
        assert verdict == "failed" and covered in reasons
