"""Once-only steps under concurrency, on SQLite and PostgreSQL: every transition is one
conditional UPDATE that a single request wins; the losers get 409 (or 404 for a number that is
no longer registered). The invariant checker runs after every race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from realname.service.store.models import RegistrationSession, Review
from realname.service.usecases.purge import purge
from tests.service.conftest import Service, make_id
from tests.service.invariant import assert_invariants

ROUNDS = 4


def _parallel(n: int, call: Any) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _state(service: Service, session_id: str) -> str:
    with service.ctx.database.transaction() as session:
        row = session.get(RegistrationSession, session_id)
        assert row is not None
        return row.state


def _card_race(service: Service) -> None:
    s = service.start()
    numbers = [make_id(sequence=f"{101 + 2 * i:03d}") for i in range(6)]
    answers = _parallel(6, lambda i: service.card(s["id"], id_number=numbers[i]))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * 5, [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"CARD_ALREADY_READ"}
    (won,) = [numbers[i] for i, r in enumerate(answers) if r.status_code == 200]
    view = service.client.get(
        f"/api/v1/sessions/{s['id']}", headers=service.headers["clerk_a"]
    ).json()
    assert view["id_number_masked"] == won[:4] + "*" * 10 + won[-4:]


def test_parallel_id_cards_for_one_session_accept_exactly_one(service: Service) -> None:
    for _ in range(ROUNDS):
        _card_race(service)
    assert_invariants(service.ctx)


def _review(service: Service) -> tuple[str, str]:
    s = service.start()
    assert service.card(s["id"]).status_code == 200
    nonce = service.nonce(s["id"])
    assert service.capture(s["id"], nonce, clip=b"REVIEW").json()["verdict"] == "review"
    with service.ctx.database.transaction() as session:
        review = session.query(Review).filter(Review.session_id == s["id"]).one()
        return s["id"], review.id


def _decide(service: Service, review_id: str, approve: bool, reason: str) -> Any:
    return service.client.post(
        f"/api/v1/reviews/{review_id}/decision",
        json={"approve": approve, "reason": reason},
        headers=service.headers["supervisor_a"],
    )


def _decision_race(service: Service) -> None:
    sid, review_id = _review(service)
    answers = _parallel(3, lambda i: _decide(service, review_id, i % 2 == 0, f"decision {i}"))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409, 409], [r.text for r in answers]
    (won,) = [r.json() for r in answers if r.status_code == 200]
    assert _state(service, sid) == won["state"]
    with service.ctx.database.transaction() as session:
        review = session.get(Review, review_id)
        assert review is not None and review.state == won["state"]
        assert review.decision_reason == won["decision_reason"]


def test_parallel_review_decisions_decide_once_and_agree_with_the_session(
    service: Service,
) -> None:
    for _ in range(ROUNDS + 2):
        _decision_race(service)
    assert_invariants(service.ctx)


def _challenge_race(service: Service) -> None:
    s = service.start()
    assert service.card(s["id"]).status_code == 200
    url = f"/api/v1/sessions/{s['id']}/challenge"
    answers = _parallel(4, lambda _: service.client.post(url, headers=service.headers["clerk_a"]))
    assert all(r.status_code in (200, 409) for r in answers), [r.text for r in answers]
    nonces = [r.json()["nonce"] for r in answers if r.status_code == 200]
    captures = [service.capture(s["id"], n) for n in nonces]
    assert [r.status_code for r in captures].count(200) == 1, [r.text for r in captures]


def test_parallel_new_challenges_leave_exactly_one_nonce_that_works(service: Service) -> None:
    for _ in range(ROUNDS):
        _challenge_race(service)
    assert_invariants(service.ctx)


def _capture_race(service: Service) -> None:
    s = service.start()
    assert service.card(s["id"]).status_code == 200
    nonce = service.nonce(s["id"])
    answers = _parallel(4, lambda _: service.capture(s["id"], nonce))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409, 409, 409], [r.text for r in answers]


def test_parallel_captures_with_one_nonce_verify_once(service: Service) -> None:
    for _ in range(ROUNDS):
        _capture_race(service)
    assert_invariants(service.ctx)


def _deregistration_race(service: Service, msisdn: str) -> None:
    assert service.bind(service.passed_session(), msisdn).status_code == 201
    url = f"/api/v1/subscriptions/{msisdn}?reason=moved"
    answers = _parallel(4, lambda _: service.client.delete(url, headers=service.headers["clerk_a"]))
    assert sorted(r.status_code for r in answers) == [200, 404, 404, 404]


def test_parallel_deregistrations_end_a_number_once(service: Service) -> None:
    for i in range(ROUNDS):
        _deregistration_race(service, f"1370000000{i}")
    with service.ctx.database.transaction() as session:
        audited = [e for e in service.ctx.audit.entries(session) if e.action == "number.deregister"]
    assert len(audited) == ROUNDS
    assert_invariants(service.ctx)


def _purge_or_decide(service: Service, review_id: str, i: int) -> Any:
    return purge(service.ctx) if i == 0 else _decide(service, review_id, True, "late")


def test_a_purge_racing_a_decision_leaves_review_and_session_agreeing(
    service: Service,
) -> None:
    cases = [_review(service) for _ in range(ROUNDS)]
    service.clock.advance(31 * 86400)  # every review is past its retention
    service.headers["supervisor_a"] = service.login("supervisor_a")
    for _sid, review_id in cases:
        results = _parallel(2, lambda i, rid=review_id: _purge_or_decide(service, rid, i))
        assert results[1].status_code in (200, 409)
        assert_invariants(service.ctx)


def test_an_approved_session_never_bound_expires_with_its_evidence(service: Service) -> None:
    """The order the race above can take: the decision first, then the purge past retention.
    The session expires; the review keeps its decision, and the two still agree."""
    session_id, review_id = _review(service)
    service.headers["supervisor_a"] = service.login("supervisor_a")
    assert _decide(service, review_id, True, "approved, never bound").status_code == 200
    service.clock.advance(31 * 86400)
    purge(service.ctx)
    with service.ctx.database.transaction() as db:
        review = db.get(Review, review_id)
        record = db.get(RegistrationSession, session_id)
        assert review is not None and record is not None
        assert (review.state, record.state) == ("approved", "expired")
    assert_invariants(service.ctx)
