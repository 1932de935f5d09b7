"""Binding numbers: the cap per ID, one ID per active number, a session used once, and both
under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from realname.service.store.models import Identity, Subscription
from tests.service.conftest import Service, make_id
from tests.service.invariant import assert_invariants


def _active(service: Service) -> int:
    with service.ctx.database.transaction() as session:
        query = select(func.count()).select_from(Subscription)
        return int(session.scalar(query.where(Subscription.ended_at.is_(None))) or 0)


def test_an_id_holds_at_most_five_active_numbers(service: Service) -> None:
    for i in range(5):
        r = service.bind(service.passed_session(), f"1381234567{i}")
        assert r.status_code == 201 and r.json()["active_numbers"] == i + 1
    sid = service.passed_session()
    r = service.bind(sid, "13912345678")
    assert r.status_code == 409 and r.json()["code"] == "NUMBER_CAP_REACHED"
    listed = service.client.get(
        f"/api/v1/subscriptions?session_id={sid}", headers=service.headers["clerk_a"]
    ).json()
    assert listed["active_numbers"] == 5 and listed["max_numbers"] == 5
    assert [n["msisdn_masked"] for n in listed["numbers"]] == [f"138****567{i}" for i in range(5)]
    # Deregistering one frees a place; the refused session is still usable.
    r = service.client.delete(
        "/api/v1/subscriptions/13812345670?reason=customer%20request",
        headers=service.headers["clerk_a"],
    )
    assert r.status_code == 200 and r.json() == {"msisdn_masked": "138****5670", "ended": True}
    assert service.bind(sid, "+86 139-1234-5678").status_code == 201


def test_a_number_belongs_to_one_id_and_a_session_binds_once(service: Service) -> None:
    first = service.passed_session()
    assert service.bind(first, "13812345678").status_code == 201
    again = service.bind(first, "13812345679")
    assert again.status_code == 409 and again.json()["code"] == "SESSION_USED"
    other = service.passed_session(make_id(birth="19851111", sequence="222"))
    r = service.bind(other, "13812345678")
    assert r.status_code == 409 and r.json()["code"] == "NUMBER_TAKEN"
    assert service.bind(other, "12345").json()["code"] == "MSISDN_INVALID"


def test_only_a_passed_or_approved_session_binds(service: Service) -> None:
    s = service.start()
    r = service.bind(s["id"], "13812345678")
    assert r.status_code == 409 and r.json()["code"] == "SESSION_NOT_PASSED"
    manual = service.start(consent=False)
    assert service.bind(manual["id"], "13812345678").json()["code"] == "CONSENT_REFUSED"
    assert service.bind(service.passed_session(), "13812345678", who="clerk_b").status_code == 404


def test_deregistration_keeps_the_identity_for_the_retention_period(service: Service) -> None:
    sid = service.passed_session()
    service.bind(sid, "13812345678")
    r = service.client.delete(
        "/api/v1/subscriptions/13812345678?reason=moved", headers=service.headers["clerk_a"]
    )
    assert r.status_code == 200
    again = service.client.delete(
        "/api/v1/subscriptions/13812345678?reason=moved", headers=service.headers["clerk_a"]
    )
    assert again.status_code == 404
    from realname.service.usecases.purge import purge

    service.clock.advance(729 * 86400)
    assert purge(service.ctx).identities == 0
    service.clock.advance(2 * 86400)
    assert purge(service.ctx).identities == 1
    with service.ctx.database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Identity)) == 0
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_fifty_parallel_binds_for_one_id_leave_exactly_five(service: Service) -> None:
    sessions = [service.passed_session() for _ in range(50)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(
            pool.map(lambda p: service.bind(p[1], f"1371234{p[0]:04d}"), enumerate(sessions))
        )
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 5 and codes.count(409) == 45, codes
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"NUMBER_CAP_REACHED"}
    assert _active(service) == 5
    assert_invariants(service.ctx)


def test_parallel_binds_of_one_number_to_two_ids_leave_one(service: Service) -> None:
    ids = [make_id(sequence=f"{100 + 2 * i + 1:03d}") for i in range(8)]
    sessions = [service.passed_session(n) for n in ids]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda sid: service.bind(sid, "13800001111"), sessions))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"NUMBER_TAKEN"}
    assert _active(service) == 1
    assert_invariants(service.ctx)
