"""The invariant checker finds each broken rule on tampered records, and ``realname check
invariants`` exits 1 on them (0 on a sound database)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text, update
from typer.testing import CliRunner

from realname.cli.main import app
from realname.service.store.models import AuditRow, RegistrationSession, Review, Subscription
from realname.service.usecases.invariants import INVARIANTS, check_invariants
from tests.service.conftest import Service, make_id

runner = CliRunner()


def _rules(service: Service) -> set[str]:
    return {v.rule for v in check_invariants(service.ctx).violations}


def _bound(service: Service, msisdn: str, id_number: str | None = None) -> str:
    sid = service.passed_session(id_number)
    assert service.bind(sid, msisdn).status_code == 201
    return sid


def test_a_sound_database_breaks_no_rule(service: Service) -> None:
    _bound(service, "13700000001")
    report = check_invariants(service.ctx)
    assert report.ok and report.checked == INVARIANTS
    assert report.active_numbers == 1 and report.audit_entries > 0


def test_more_numbers_than_the_cap_are_found(service: Service) -> None:
    for i in range(5):
        _bound(service, f"1370000000{i}")
    sixth = _bound(service, "13700000009", make_id(sequence="223"))
    with service.ctx.database.transaction() as session:
        first = session.query(Subscription).filter(Subscription.session_id != sixth).first()
        assert first is not None
        session.execute(
            update(Subscription)
            .where(Subscription.session_id == sixth)
            .values(identity_id=first.identity_id)
        )
    assert _rules(service) == {"CAP_EXCEEDED"}


def test_a_number_active_twice_is_found(service: Service) -> None:
    _bound(service, "13700000001")
    other = _bound(service, "13700000002", make_id(sequence="223"))
    with service.ctx.database.transaction() as session:
        session.execute(text("DROP INDEX uq_subscriptions_active_msisdn"))
        first = session.query(Subscription).filter(Subscription.session_id != other).one()
        session.execute(
            update(Subscription)
            .where(Subscription.session_id == other)
            .values(msisdn_index=first.msisdn_index)
        )
    assert _rules(service) == {"NUMBER_ACTIVE_TWICE"}


def test_a_binding_from_an_unverified_session_is_found(service: Service) -> None:
    sid = _bound(service, "13700000001")
    with service.ctx.database.transaction() as session:
        session.execute(
            update(RegistrationSession)
            .where(RegistrationSession.id == sid)
            .values(verdict="failed")
        )
    assert _rules(service) == {"BINDING_UNVERIFIED"}


def test_a_bound_session_without_its_number_is_found(service: Service) -> None:
    sid = service.passed_session()
    with service.ctx.database.transaction() as session:
        session.execute(
            update(RegistrationSession).where(RegistrationSession.id == sid).values(state="bound")
        )
    assert _rules(service) == {"SESSION_USED_TWICE"}


def test_a_session_stuck_mid_capture_is_found(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    with service.ctx.database.transaction() as session:
        session.execute(
            update(RegistrationSession)
            .where(RegistrationSession.id == s["id"])
            .values(state="capturing", capture_started_at=service.clock())
        )
    assert _rules(service) == set()  # within its limit: a capture in progress
    service.clock.advance(service.ctx.settings.capture_timeout_s + 31)
    assert _rules(service) == {"SESSION_STUCK"}


def test_a_nonce_outside_an_outstanding_challenge_is_found(service: Service) -> None:
    sid = service.passed_session()
    assert _rules(service) == set()
    with service.ctx.database.transaction() as session:
        session.execute(
            update(RegistrationSession)
            .where(RegistrationSession.id == sid)
            .values(nonce_hash="0" * 64)
        )
    assert _rules(service) == {"CHALLENGE_STRAY"}


def test_a_review_disagreeing_with_its_session_is_found(service: Service) -> None:
    s = service.start()
    service.card(s["id"])
    nonce = service.nonce(s["id"])
    assert service.capture(s["id"], nonce, clip=b"REVIEW").json()["verdict"] == "review"
    with service.ctx.database.transaction() as session:
        session.execute(update(Review).values(state="approved"))
        session.execute(
            update(RegistrationSession)
            .where(RegistrationSession.id == s["id"])
            .values(state="rejected")
        )
    assert _rules(service) == {"REVIEW_STATE_MISMATCH"}


def test_an_edited_audit_entry_is_found(service: Service) -> None:
    _bound(service, "13700000001")
    with service.ctx.database.transaction() as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 3).values(outcome="edited"))
    assert _rules(service) == {"AUDIT_CHAIN_BROKEN"}


@pytest.mark.parametrize("broken", [False, True])
def test_the_cli_reports_and_exits_1_when_a_rule_is_broken(
    service: Service, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    sid = _bound(service, "13700000001")
    if broken:
        with service.ctx.database.transaction() as session:
            session.execute(
                update(RegistrationSession)
                .where(RegistrationSession.id == sid)
                .values(verdict="failed")
            )
    settings = service.ctx.settings
    env = {
        "REALNAME_DATABASE_URL": settings.database_url,
        "REALNAME_DATA_KEYS": settings.data_keys,
        "REALNAME_INDEX_KEY": settings.index_key,
        "REALNAME_AUDIT_SIGNING_KEY": settings.audit_signing_key,
    }
    for name, secret in env.items():
        assert secret is not None
        monkeypatch.setenv(name, secret.get_secret_value())
    result = runner.invoke(app, ["check", "invariants", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == (1 if broken else 0), result.output
    assert report["ok"] is not broken
    assert [v["rule"] for v in report["violations"]] == (["BINDING_UNVERIFIED"] if broken else [])
    table = runner.invoke(app, ["check", "invariants"])
    assert ("BROKEN:" in table.stdout) is broken and "CAP_EXCEEDED" in table.stdout
