"""Ending a number: only at the outlet that bound it (a regional supervisor anywhere), and the
answer for another outlet's number is the answer for a number not registered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from realname.service.store.models import Subscription
from tests.service.conftest import Service
from tests.service.invariant import assert_invariants


def _end(service: Service, msisdn: str, who: str) -> Any:
    return service.client.delete(
        f"/api/v1/subscriptions/{msisdn}?reason=moved", headers=service.headers[who]
    )


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("request_id", "instance")}


def test_another_outlet_cannot_end_a_number_nor_learn_that_it_exists(service: Service) -> None:
    assert service.bind(service.passed_session(), "13700000001").status_code == 201
    never = _end(service, "13700000002", "clerk_b")
    assert never.status_code == 404
    for who in ("clerk_b", "supervisor_b"):
        r = _end(service, "13700000001", who)
        assert r.status_code == 404, r.text
        assert _comparable(r.json()) == _comparable(never.json())
    with service.ctx.database.transaction() as session:
        sub = session.scalars(select(Subscription)).one()
        assert sub.ended_at is None
    r = _end(service, "13700000001", "supervisor_a")
    assert r.status_code == 200 and r.json()["msisdn_masked"] == "137****0001"
    assert_invariants(service.ctx)


def test_auditors_and_admins_never_end_numbers(service: Service) -> None:
    assert service.bind(service.passed_session(), "13700000001").status_code == 201
    for who in ("auditor", "admin"):
        assert _end(service, "13700000001", who).status_code == 403
