"""The audit chain in the database: every change recorded, ids only, tampering detected."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import delete, select, update

from realname.records.audit import Actor, read_export, verify_chain
from realname.service.store.models import AuditRow
from tests.service.conftest import Service


def _verify(service: Service) -> dict[str, object]:
    r = service.client.get("/api/v1/audit/verify", headers=service.headers["auditor"])
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    return body


def _registration(service: Service) -> None:
    service.bind(service.passed_session(), "13812345678")
    service.client.post(
        "/api/v1/auth/token", data={"username": "clerk_a", "password": "wrong password"}
    )


def test_every_state_change_is_audited_with_ids_only(service: Service) -> None:
    _registration(service)
    with service.ctx.database.transaction() as session:
        entries = service.ctx.audit.entries(session)
    actions = [(e.action, e.outcome) for e in entries]
    for expected in [
        ("outlet.create", "ok"),
        ("user.create", "ok"),
        ("auth.login", "ok"),
        ("session.create", "ok"),
        ("id_card.accepted", "ok"),
        ("capture.verdict", "passed"),
        ("number.bind", "ok"),
        ("auth.login", "failed"),
    ]:
        assert expected in actions
    text = json.dumps([e.objects for e in entries], ensure_ascii=False)
    assert "张三" not in text and "13812345678" not in text and "19900307" not in text
    assert "138****5678" in text
    assert _verify(service)["ok"] is True


def test_editing_deleting_or_reordering_entries_is_detected(service: Service) -> None:
    _registration(service)
    db = service.ctx.database
    with db.transaction() as session:
        rows = list(session.scalars(select(AuditRow).order_by(AuditRow.id)))
        target = rows[5]
    original = target.outcome
    with db.transaction() as session:
        session.execute(update(AuditRow).where(AuditRow.id == target.id).values(outcome="forged"))
    result = _verify(service)
    assert (
        result["ok"] is False
        and result["first_bad_seq"] == 5
        and "altered" in str(result["reason"])
    )
    with db.transaction() as session:
        session.execute(update(AuditRow).where(AuditRow.id == target.id).values(outcome=original))
    assert _verify(service)["ok"] is True
    # Reorder: swap the contents of rows 3 and 4.
    a, b = rows[3], rows[4]
    fields = ("seq", "time", "actor", "outlet", "action", "objects", "outcome", "prev_hash", "hash")
    with db.transaction() as session:
        session.execute(update(AuditRow).where(AuditRow.id == a.id).values(seq=-1))
        session.execute(
            update(AuditRow).where(AuditRow.id == b.id).values({f: getattr(a, f) for f in fields})
        )
        session.execute(
            update(AuditRow).where(AuditRow.id == a.id).values({f: getattr(b, f) for f in fields})
        )
    result = _verify(service)
    assert result["ok"] is False and result["first_bad_seq"] == 3
    with db.transaction() as session:
        session.execute(update(AuditRow).where(AuditRow.id == b.id).values(seq=-1))
        session.execute(
            update(AuditRow).where(AuditRow.id == a.id).values({f: getattr(a, f) for f in fields})
        )
        session.execute(
            update(AuditRow).where(AuditRow.id == b.id).values({f: getattr(b, f) for f in fields})
        )
    assert _verify(service)["ok"] is True
    # Delete one in the middle.
    with db.transaction() as session:
        session.execute(delete(AuditRow).where(AuditRow.id == rows[2].id))
    result = _verify(service)
    assert result["ok"] is False and result["first_bad_seq"] == 2


def test_cutting_entries_after_a_signed_head_is_detected(service: Service) -> None:
    _registration(service)
    head = service.ctx.audit.sign()
    assert head is not None and service.ctx.audit.sign() is None  # nothing new to sign
    with service.ctx.database.transaction() as session:
        session.execute(delete(AuditRow).where(AuditRow.seq == head.seq))
    result = _verify(service)
    assert result["ok"] is False and "cut off" in str(result["reason"])


def test_concurrent_appends_keep_the_chain_linear(service: Service) -> None:
    def append(i: int) -> None:
        service.ctx.audit.record(Actor("test"), "test.append", "ok", {"i": i})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append, range(40)))
    with service.ctx.database.transaction() as session:
        entries = service.ctx.audit.entries(session)
    assert [e.seq for e in entries] == list(range(len(entries)))
    assert verify_chain(entries).ok


def test_an_export_verifies_offline_with_the_library(service: Service, tmp_path: Path) -> None:
    _registration(service)
    service.ctx.audit.sign()
    out = tmp_path / "audit.jsonl"
    entries, heads = service.ctx.audit.export(out)
    assert entries > 10 and heads == 1
    loaded, signed = read_export(out)
    result = verify_chain(loaded, signed, service.ctx.keys.signing_key.public_key())
    assert result.ok, result.reason
