"""Data keys rotated without downtime (issue 16): every encrypted field the service stores is
written through the API under key K1; with K2 added, ``rotate_data_keys`` (``realname keys
rotate``) moves each one to K2 in batches; then with K1 removed every value still reads back the
same, through the library and through the API. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from realname.cli.main import app as cli
from realname.records.crypto import FieldCipher
from realname.service.app import build_context, create_app
from realname.service.store.models import Dispute, Review
from realname.service.usecases.keys import ENCRYPTED, rotate_data_keys
from tests.service.conftest import PASSWORD, Clock, Service, make_id, make_settings
from tests.service.fakes import FakeVerifier
from tests.service.test_citizen_lookup import HOLDER, dispute, looked_up, started


def _write_every_field(service: Service) -> None:
    """A row for every encrypted column: a session waiting for its capture (the portrait),
    a bound number (identity, subscription), a review (evidence), an open look-up (its
    portrait) and a dispute (its note)."""
    waiting = service.start()["id"]
    assert service.card(waiting, id_number=make_id(sequence="123")).status_code == 200
    assert service.bind(service.passed_session(HOLDER), "13812345678").status_code == 201
    review = service.start()["id"]
    assert service.card(review, id_number=make_id(sequence="135")).status_code == 200
    answer = service.capture(review, service.nonce(review), b"REVIEW")
    assert answer.json()["verdict"] == "review", answer.text
    _lookup, passed = looked_up(service.client)
    lookup = _lookup
    ref = passed.json()["numbers"][0]["ref"]
    assert dispute(service.client, lookup, ref, "这个号码不是我的").status_code == 201
    started(service.client, make_id(sequence="246"))  # a look-up holding its portrait


def _plaintexts(ctx: Any) -> dict[tuple[str, Any], bytes]:
    """Every stored encrypted value, decrypted with ``ctx``'s keys, by (field, row id)."""
    cipher = ctx.keys.cipher
    out: dict[tuple[str, Any], bytes] = {}
    with ctx.database.transaction() as session:
        for spec in ENCRYPTED:
            column = getattr(spec.model, spec.column)
            for row in session.scalars(select(spec.model).where(column.is_not(None))):
                value = getattr(row, spec.column)
                blob = base64.b64decode(value) if spec.text else bytes(value)
                out[(spec.name, row.id)] = cipher.decrypt(blob, spec.purpose(row))
    return out


def _settings(service: Service, data_keys: str) -> Any:
    s = service.ctx.settings
    return make_settings(
        s.database_url.get_secret_value(),
        data_keys=data_keys,
        index_key=s.index_key.get_secret_value(),  # type: ignore[union-attr]
        audit_signing_key=s.audit_signing_key.get_secret_value(),  # type: ignore[union-attr]
    )


def test_every_field_moves_to_the_new_key_and_reads_back_once_the_old_is_gone(
    service: Service,
) -> None:
    _write_every_field(service)
    before = _plaintexts(service.ctx)
    assert {name for name, _ in before} == {spec.name for spec in ENCRYPTED}, "a field unwritten"
    old = service.ctx.settings.data_keys.get_secret_value()  # type: ignore[union-attr]
    new = base64.b64encode(os.urandom(32)).decode()

    both = build_context(_settings(service, f"{old},{new}"))
    report = rotate_data_keys(both, batch=2)  # several batches per field
    assert report.total_moved == len(before) and not report.raced
    assert set(report.moved) == {spec.name for spec in ENCRYPTED}
    again = rotate_data_keys(both)
    assert again.total_moved == 0 and sum(again.current.values()) == len(before)
    both.database.dispose()

    only_new = build_context(_settings(service, new))
    assert _plaintexts(only_new) == before
    only_new.database.dispose()
    # and through the API of an instance that has the new key only
    app = create_app(_settings(service, new), verifier=FakeVerifier(), clock=Clock())
    with TestClient(app) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "supervisor_a", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        with service.ctx.database.transaction() as session:
            review_id = session.scalars(select(Review.id)).one()
        case = client.get(f"/api/v1/reviews/{review_id}", headers=headers)
        assert case.status_code == 200, case.text
        frame = client.get(f"/api/v1/reviews/{review_id}/evidence/frame", headers=headers)
        assert frame.status_code == 200 and frame.content
        disputes = client.get("/api/v1/disputes", headers=headers)
        assert disputes.status_code == 200 and "这个号码不是我的" in disputes.text


def test_an_instance_without_the_old_key_cannot_read_unrotated_data(service: Service) -> None:
    """The reason for the order of the steps: remove the old key only after the rotation."""
    _write_every_field(service)
    new = base64.b64encode(os.urandom(32)).decode()
    only_new = build_context(_settings(service, new))
    try:
        _plaintexts(only_new)
    except Exception as error:  # SetupError: the key that encrypted this field is not configured
        assert "not configured" in str(error)
    else:
        raise AssertionError("unrotated data was read without its key")
    finally:
        only_new.database.dispose()


def test_realname_keys_rotate_reports_what_it_moved(service: Service, monkeypatch: Any) -> None:
    _write_every_field(service)
    old = service.ctx.settings.data_keys.get_secret_value()  # type: ignore[union-attr]
    new = base64.b64encode(os.urandom(32)).decode()
    s = service.ctx.settings
    env = {
        "REALNAME_DATABASE_URL": s.database_url.get_secret_value(),
        "REALNAME_DATA_KEYS": f"{old},{new}",
        "REALNAME_INDEX_KEY": s.index_key.get_secret_value(),  # type: ignore[union-attr]
        "REALNAME_AUDIT_SIGNING_KEY": s.audit_signing_key.get_secret_value(),  # type: ignore[union-attr]
        "REALNAME_CARD_READER": "none",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    first = CliRunner().invoke(cli, ["keys", "rotate", "--batch", "3", "--json"])
    assert first.exit_code == 0, first.output
    assert '"moved"' in first.output and "sessions.name_enc" in first.output
    second = CliRunner().invoke(cli, ["keys", "rotate"])
    assert second.exit_code == 0, second.output
    assert "0 values moved to the newest data key" in second.output


def test_a_field_written_while_the_rotation_moves_it_keeps_the_writers_value(
    service: Service, monkeypatch: Any
) -> None:
    """A request rewrites a dispute's note (under the newest key, as every instance then
    writes) between the rotation's read of that row and its conditional UPDATE. On PostgreSQL
    the UPDATE matches nothing: counted as raced, the request's value kept. On SQLite the
    rotation's transaction holds the write lock (BEGIN IMMEDIATE), so the request waits and
    writes after it. Either way the value read back is the request's, under the new key only,
    and a second run moves nothing."""
    _write_every_field(service)
    old = service.ctx.settings.data_keys.get_secret_value()  # type: ignore[union-attr]
    new = base64.b64encode(os.urandom(32)).decode()
    both = build_context(_settings(service, f"{old},{new}"))
    writer = build_context(_settings(service, f"{old},{new}"))  # another instance
    (spec,) = [s for s in ENCRYPTED if s.name == "disputes.note_enc"]
    with both.database.transaction() as session:
        dispute_id = session.scalars(select(Dispute.id)).one()
    written = "不是我的号码，我从未在该营业厅办理"
    threads: list[threading.Thread] = []
    real = FieldCipher.decrypt_text

    def write_meanwhile() -> None:
        with writer.database.transaction() as session:
            row = session.get(Dispute, dispute_id)
            assert row is not None
            row.note_enc = writer.keys.cipher.encrypt_text(written, spec.purpose(row))

    def decrypt_then_race(self: FieldCipher, token: str, purpose: str) -> str:
        if purpose == f"note:dispute:{dispute_id}" and not threads:
            threads.append(threading.Thread(target=write_meanwhile))
            threads[0].start()
            threads[0].join(timeout=2)  # PostgreSQL: committed; SQLite: waiting for the lock
        return real(self, token, purpose)

    monkeypatch.setattr(FieldCipher, "decrypt_text", decrypt_then_race)
    report = rotate_data_keys(both, batch=1)
    threads[0].join(timeout=30)
    assert not threads[0].is_alive()
    monkeypatch.setattr(FieldCipher, "decrypt_text", real)
    if both.database.is_postgres:
        assert report.raced == {"disputes.note_enc": 1}, report.to_dict()
    else:
        assert not report.raced and report.moved["disputes.note_enc"] == 1
    again = rotate_data_keys(both)
    assert again.total_moved == 0 and not again.raced
    both.database.dispose()
    writer.database.dispose()
    only_new = build_context(_settings(service, new))
    values = _plaintexts(only_new)  # every value under the new key, the note the writer's
    assert values[("disputes.note_enc", dispute_id)] == written.encode()
    only_new.database.dispose()
