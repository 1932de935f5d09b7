"""Index keys rotated without downtime (issue 16): an ID and a number registered under index
key A; the instances restarted with [A, B] find both (the same identity, the cap counted, the
number taken, the lock-out and the look-up budgets honoured); ``rotate_data_keys`` re-indexes
every row that holds its plaintext; then with B alone every look-up still works. A bind racing
the re-index of its identity loses or wins cleanly. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from realname.cli.main import app as cli
from realname.service.app import create_app
from realname.service.store.models import Identity, RegistrationSession, Subscription
from realname.service.usecases import keys as keys_usecase
from realname.service.usecases import numbers as numbers_usecase
from realname.service.usecases.keys import rotate_data_keys
from tests.service.conftest import Service, make_id, make_settings
from tests.service.fakes import FakeVerifier
from tests.service.invariant import assert_invariants
from tests.service.test_citizen_lookup import HOLDER, looked_up, start
from tests.service.test_key_rotation import _plaintexts

NUMBER, SECOND, THIRD = "13812345678", "13812345679", "13812345670"
FOURTH, FIFTH = "13812345671", "13812345672"
LOCKED = make_id(sequence="339")
OTHER = make_id(sequence="223")
USERS = ("clerk_a", "clerk_b", "supervisor_a", "supervisor_b", "auditor", "admin")


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@contextmanager
def _instance(service: Service, index_keys: str, **overrides: Any) -> Iterator[Service]:
    """Another instance on the same database and data keys, with ``index_keys``."""
    s = service.ctx.settings
    values: dict[str, Any] = {
        "data_keys": s.data_keys.get_secret_value(),  # type: ignore[union-attr]
        "index_key": None,
        "index_keys": index_keys,
        "audit_signing_key": s.audit_signing_key.get_secret_value(),  # type: ignore[union-attr]
    }
    settings = make_settings(s.database_url.get_secret_value(), **(values | overrides))
    verifier = FakeVerifier()
    app = create_app(
        settings,
        verifier=verifier,
        enroller=verifier.enrol,
        clock=service.clock,
        periodic_tasks=False,
    )
    with TestClient(app) as client:
        other = Service(client, app.state.ctx, service.clock, verifier)
        for name in USERS:
            other.headers[name] = other.login(name)
        yield other
        verifier.release.set()
    app.state.ctx.database.dispose()


def _lock_out(service: Service, id_number: str) -> None:
    for times in (3, 2):  # five failures within the window lock the ID
        s = service.start()["id"]
        assert service.card(s, id_number=id_number).status_code == 200
        for _ in range(times):
            r = service.capture(s, service.nonce(s), clip=b"FAIL")
            assert r.json()["verdict"] == "failed", r.text


def _identities(service: Service) -> list[str]:
    with service.ctx.database.transaction() as session:
        return list(session.scalars(select(Identity.id_index)))


def _active(service: Service, session_id: str) -> int:
    listed = service.client.get(
        f"/api/v1/subscriptions?session_id={session_id}", headers=service.headers["clerk_a"]
    )
    assert listed.status_code == 200, listed.text
    return int(listed.json()["active_numbers"])


def _registered_under_a_then_found_under_a_and_b(service: Service, both: Service) -> None:
    first = _identities(service)
    bound = both.bind(sid := both.passed_session(HOLDER), SECOND)
    assert bound.status_code == 201 and bound.json()["active_numbers"] == 2, bound.text
    assert _identities(both) == first and _active(both, sid) == 2  # the same identity
    taken = both.bind(both.passed_session(OTHER), NUMBER)
    assert taken.status_code == 409 and taken.json()["code"] == "NUMBER_TAKEN", taken.text
    s = both.start()["id"]
    refused = both.card(s, id_number=LOCKED)
    assert refused.status_code == 429 and refused.json()["code"] == "ID_LOCKED", refused.text
    _lookup, passed = looked_up(both.client)
    assert len(passed.json()["numbers"]) == 2


def test_an_index_key_rotates_while_every_look_up_keeps_working(service: Service) -> None:
    assert service.bind(service.passed_session(HOLDER), NUMBER).status_code == 201
    _lock_out(service, LOCKED)
    old = service.ctx.settings.index_key.get_secret_value()  # type: ignore[union-attr]
    new = _new_key()
    with _instance(service, f"{old},{new}") as both:
        _registered_under_a_then_found_under_a_and_b(service, both)
        waiting = both.start()["id"]  # a card read under [A, B], kept under B
        assert both.card(waiting, id_number=OTHER).status_code == 200
        before = _plaintexts(both.ctx)
        report = rotate_data_keys(both.ctx, batch=2)
        assert report.reindexed["identities"] == 1 and report.reindexed["subscriptions"] == 1
        assert not report.reindex_raced and not report.duplicates and not report.old_index
        assert report.expiring == {"id_failures": 5, "id_lockouts": 1}
        assert report.expiring_until is not None
        again = rotate_data_keys(both.ctx)
        assert again.total_reindexed == 0 and not again.old_index and again.total_moved == 0
        assert_invariants(both.ctx)
    with _instance(service, new) as only_new:
        cipher = only_new.ctx.keys.cipher
        assert _identities(only_new) == [cipher.index(HOLDER)]
        assert _plaintexts(only_new.ctx) == before  # every value reads back
        bound = only_new.bind(sid := only_new.passed_session(HOLDER), THIRD)
        assert bound.status_code == 201 and bound.json()["active_numbers"] == 3, bound.text
        assert _active(only_new, sid) == 3
        taken = only_new.bind(only_new.passed_session(OTHER), NUMBER)
        assert taken.status_code == 409 and taken.json()["code"] == "NUMBER_TAKEN"
        _lookup, passed = looked_up(only_new.client)
        assert len(passed.json()["numbers"]) == 3
        ended = only_new.client.delete(
            f"/api/v1/subscriptions/{NUMBER}",
            params={"reason": "moved abroad"},
            headers=only_new.headers["clerk_a"],
        )
        assert ended.status_code == 200, ended.text
        assert_invariants(only_new.ctx)


def test_look_up_budgets_spent_under_the_old_index_key_still_count(service: Service) -> None:
    old = service.ctx.settings.index_key.get_secret_value()  # type: ignore[union-attr]
    with _instance(service, old, lookup_rate_per_id="2/day") as only_old:
        for _ in range(2):
            assert start(only_old.client).status_code == 201
    with _instance(service, f"{old},{_new_key()}", lookup_rate_per_id="2/day") as both:
        refused = start(both.client)
        assert refused.status_code == 429 and refused.json()["code"] == "LOOKUP_RATE_LIMITED"


def _race_the_reindex(service: Service, both: Service, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Rotate while a bind for the same ID runs between the rotation's read of the identity and
    its conditional UPDATE; the bind's answer."""
    sid = both.passed_session(HOLDER)
    answers: list[Any] = []
    real = keys_usecase._identity_values
    bind = threading.Thread(target=lambda: answers.append(both.bind(sid, SECOND)))

    def racing(cipher: Any, row: Identity) -> Any:
        bind.start()
        if both.ctx.database.is_postgres:
            bind.join()  # the bind commits first: the rotation's UPDATE matches nothing
        return real(cipher, row)

    monkeypatch.setattr(keys_usecase, "_identity_values", racing)
    report = rotate_data_keys(both.ctx)
    monkeypatch.setattr(keys_usecase, "_identity_values", real)
    bind.join()  # on SQLite the bind waits for the rotation's transaction, then finds B
    return report, answers[0]


def test_a_bind_racing_the_reindex_of_its_identity_is_counted_and_finished_next_run(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service.bind(service.passed_session(HOLDER), NUMBER).status_code == 201
    old = service.ctx.settings.index_key.get_secret_value()  # type: ignore[union-attr]
    new = _new_key()
    with _instance(service, f"{old},{new}") as both:
        report, bound = _race_the_reindex(service, both, monkeypatch)
        assert bound.status_code == 201 and bound.json()["active_numbers"] == 2, bound.text
        cipher = both.ctx.keys.cipher
        if both.ctx.database.is_postgres:  # the bind rewrote the identity: the rotation lost
            assert report.reindex_raced == {"identities": 1} and "identities" in report.old_index
            assert _identities(both) == [cipher.indexes(HOLDER)[1]]
        else:  # the rotation won; the bind found the identity under the new index
            assert report.reindexed["identities"] == 1 and not report.reindex_raced
        second = rotate_data_keys(both.ctx)
        assert not second.old_index and not second.duplicates
        assert _identities(both) == [cipher.index(HOLDER)]  # one identity, newest index
        with both.ctx.database.transaction() as session:
            holders = session.scalar(select(func.count(func.distinct(Subscription.identity_id))))
            cards = session.scalars(
                select(RegistrationSession.id_index).where(
                    RegistrationSession.id_number_enc.is_not(None)
                )
            ).all()
        assert holders == 1 and all(index == cipher.index(HOLDER) for index in cards)
        assert_invariants(both.ctx)
    with _instance(service, new) as only_new:
        assert _plaintexts(only_new.ctx)  # the raced row, re-indexed on the second run, reads
        _lookup, passed = looked_up(only_new.client)
        assert len(passed.json()["numbers"]) == 2


def test_realname_keys_rotate_says_when_the_old_index_key_can_go(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service.bind(service.passed_session(HOLDER), NUMBER).status_code == 201
    _lock_out(service, LOCKED)
    s = service.ctx.settings
    env = {
        "REALNAME_DATABASE_URL": s.database_url.get_secret_value(),
        "REALNAME_DATA_KEYS": s.data_keys.get_secret_value(),  # type: ignore[union-attr]
        "REALNAME_INDEX_KEYS": f"{s.index_key.get_secret_value()},{_new_key()}",  # type: ignore[union-attr]
        "REALNAME_AUDIT_SIGNING_KEY": s.audit_signing_key.get_secret_value(),  # type: ignore[union-attr]
        "REALNAME_CARD_READER": "none",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    first = CliRunner().invoke(cli, ["keys", "rotate"], terminal_width=200)
    assert first.exit_code == 0, first.output
    # the identity, the number, the two failed sessions that still hold their card
    assert "4 rows moved to the newest index key" in first.output, first.output
    assert "left to expire under an old index key: id_failures 5, id_lockouts 1" in first.output
    assert "an old index key can be removed after 20" in first.output
    as_json = CliRunner().invoke(cli, ["keys", "rotate", "--json"])
    assert as_json.exit_code == 0 and '"reindexed": {}' in as_json.output, as_json.output


def _race_two_binds(
    one: Service, other: Service, binds: tuple[tuple[str, str], tuple[str, str]], monkeypatch
) -> list[Any]:
    """Two binds at once, one on each instance (session, number), each held after it takes its
    locks until the other gets as far or 2 s pass; the two answers."""
    real = numbers_usecase._locked_identity
    met = threading.Barrier(2, timeout=2.0)
    held: set[int] = set()

    def meeting(session: Any, id_indexes: tuple[str, ...]) -> Any:
        if threading.get_ident() not in held:
            held.add(threading.get_ident())
            # broken: the other bind waits for this one's locks, and nothing comes to meet
            with contextlib.suppress(threading.BrokenBarrierError):
                met.wait()
        return real(session, id_indexes)

    monkeypatch.setattr(numbers_usecase, "_locked_identity", meeting)
    answers: list[Any] = [None, None]
    threads = [
        threading.Thread(target=lambda i=i, s=s: answers.__setitem__(i, s.bind(*binds[i])))
        for i, s in enumerate((one, other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(numbers_usecase, "_locked_identity", real)
    return answers


def test_keys_announced_first_then_written_are_read_everywhere_and_make_one_identity(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two rolling restarts of a rotation (docs/deployment.md): first every instance learns
    the new data and index keys as announced ones (read and matched, never written with), then
    each in turn starts writing with them. Between the two, a session started on an instance
    that writes with the new keys is bound on one that only reads them, and the instances not
    yet restarted read what the announcing ones wrote. First binds at once on the two kinds, a
    new ID (two numbers) and a new number (two IDs), are serialised on the indexes the key lists
    share: one identity, its numbers counted against one cap, the number bound once."""
    s = service.ctx.settings
    old = s.index_key.get_secret_value()  # type: ignore[union-attr]
    data = s.data_keys.get_secret_value()  # type: ignore[union-attr]
    new, new_data = _new_key(), _new_key()
    fresh = make_id(sequence="451")
    announcing = _instance(service, old, index_keys_next=new, data_keys_next=new_data)
    writing = _instance(service, f"{old},{new}", data_keys=f"{data},{new_data}")
    with announcing as reads, writing as writes:
        bound = reads.bind(writes.passed_session(HOLDER), NUMBER)
        assert bound.status_code == 201, bound.text
        second = service.bind(service.passed_session(HOLDER), SECOND)
        assert second.status_code == 201 and second.json()["active_numbers"] == 2, second.text
        assert len(_identities(service)) == 1
        binds = ((reads.passed_session(fresh), THIRD), (writes.passed_session(fresh), FOURTH))
        answers = _race_two_binds(reads, writes, binds, monkeypatch)
        assert sorted(a.status_code for a in answers) == [201, 201], [a.text for a in answers]
        assert sorted(a.json()["active_numbers"] for a in answers) == [1, 2]
        assert len(_identities(service)) == 2  # HOLDER's and the fresh ID's
        binds = ((reads.passed_session(OTHER), FIFTH), (writes.passed_session(LOCKED), FIFTH))
        answers = _race_two_binds(reads, writes, binds, monkeypatch)
        codes = sorted((a.status_code, a.json().get("code", "")) for a in answers)
        assert codes == [(201, ""), (409, "NUMBER_TAKEN")], [a.text for a in answers]
        assert_invariants(writes.ctx)
