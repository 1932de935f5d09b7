"""The audit signing key rolled over while the service runs (issue 16): the service writes under
K1, hands over to K2 (a signed entry), an instance restarted with K2 goes on; the stored chain
verifies with K2, its export verifies offline with either K1 or K2, the registration invariants
hold, and an instance started with a key nobody handed over to is caught. Through the CLI too.
On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from realname.cli.main import app as cli
from realname.errors import ConflictError, SetupError
from realname.records.audit import HANDOVER, Actor, read_export, verify_chain
from realname.service.app import build_context, create_app
from realname.service.usecases.invariants import check_invariants
from tests.service.conftest import PASSWORD, Clock, Service, make_settings
from tests.service.fakes import FakeVerifier


def _raw(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(
        key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    ).decode()


def _settings(service: Service, signing: str) -> Any:
    s = service.ctx.settings
    return make_settings(
        s.database_url.get_secret_value(),
        data_keys=s.data_keys.get_secret_value(),  # type: ignore[union-attr]
        index_key=s.index_key.get_secret_value(),  # type: ignore[union-attr]
        audit_signing_key=signing,
    )


def _instance(service: Service, signing: str) -> TestClient:
    settings = _settings(service, signing)
    return TestClient(create_app(settings, verifier=FakeVerifier(), clock=Clock()))


def _work(client: TestClient) -> None:
    """A sign-in and a session opened: audited entries."""
    token = client.post(
        "/api/v1/auth/token", data={"username": "clerk_a", "password": PASSWORD}
    ).json()["access_token"]
    r = client.post(
        "/api/v1/sessions",
        json={"biometric_consent": True, "consent_text_version": "v1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text


def test_the_chain_verifies_across_the_hand_over_and_the_invariants_hold(
    service: Service, tmp_path: Path
) -> None:
    assert service.bind(service.passed_session(), "13812345678").status_code == 201
    old = service.ctx.keys.signing_key
    assert service.ctx.audit.sign() is not None
    new = Ed25519PrivateKey.generate()
    entry = service.ctx.audit.hand_over(Actor("admin"), new.public_key())
    assert entry.action == HANDOVER
    with pytest.raises(ConflictError):  # handing over to the key in use
        service.ctx.audit.hand_over(Actor("admin"), old.public_key())

    with _instance(service, _raw(new)) as client:
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        _work(client)
        assert ctx.audit.sign() is not None
        assert ctx.audit.verify().ok, ctx.audit.verify().reason
        assert check_invariants(ctx).ok
        ctx.audit.export(tmp_path / "audit.jsonl")
    entries, heads = read_export(tmp_path / "audit.jsonl")
    assert {h.key_id for h in heads} == {
        heads[0].key_id,
        entry.objects["new_key_id"],
    }
    for key in (old, new):
        result = verify_chain(entries, heads, key.public_key())
        assert result.ok, result.reason
    # the old instance, still up during the roll, may sign too; the chain stays valid
    _work(service.client)
    assert service.ctx.audit.sign() is not None
    assert service.ctx.audit.verify().ok


def test_an_instance_with_a_key_nobody_handed_over_to_is_refused_at_start(
    service: Service,
) -> None:
    assert service.ctx.audit.sign() is not None  # the chain has a head under K1
    stranger = Ed25519PrivateKey.generate()
    with (
        pytest.raises(SetupError, match="not one of this audit chain's keys"),
        _instance(service, _raw(stranger)),
    ):
        pass
    # nor can it hand over (its first hand-over would make it the chain's first key)
    ctx = build_context(_settings(service, _raw(stranger)))
    with pytest.raises(ConflictError):
        ctx.audit.hand_over(Actor("admin"), Ed25519PrivateKey.generate().public_key())
    ctx.database.dispose()
    # and a head it signed anyway (written past the check) fails the service's verification
    from realname.records.audit import sign_head
    from realname.service.store.models import AuditHeadRow

    with ctx.database.transaction() as session:
        last = ctx.audit.entries(session)[-1]
        head = sign_head(last, stranger)
        session.add(
            AuditHeadRow(
                seq=head.seq,
                hash=head.hash,
                signed_at=head.signed_at,
                key_id=head.key_id,
                signature=head.signature,
            )
        )
    result = service.ctx.audit.verify()
    assert not result.ok and "no hand-over introduced" in result.reason
    ctx.database.dispose()


def test_the_cli_generates_a_key_hands_over_and_the_export_verifies_with_the_old_key(
    service: Service, tmp_path: Path, monkeypatch: Any
) -> None:
    s = service.ctx.settings
    env = {
        "REALNAME_DATABASE_URL": s.database_url.get_secret_value(),
        "REALNAME_DATA_KEYS": s.data_keys.get_secret_value(),  # type: ignore[union-attr]
        "REALNAME_INDEX_KEY": s.index_key.get_secret_value(),  # type: ignore[union-attr]
        "REALNAME_AUDIT_SIGNING_KEY": s.audit_signing_key.get_secret_value(),  # type: ignore[union-attr]
        "REALNAME_CARD_READER": "none",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run = CliRunner()
    old_pem = tmp_path / "old.pem"
    assert (
        run.invoke(
            cli,
            [
                "audit",
                "export",
                "--out",
                str(tmp_path / "before.jsonl"),
                "--public-key",
                str(old_pem),
            ],
        ).exit_code
        == 0
    )
    made = run.invoke(
        cli,
        [
            "keys",
            "new-signing-key",
            "--out",
            str(tmp_path / "new.key"),
            "--public-out",
            str(tmp_path / "new.pem"),
        ],
    )
    assert made.exit_code == 0, made.output
    assert (tmp_path / "new.key").stat().st_mode & 0o777 == 0o600
    again = run.invoke(
        cli,
        [
            "keys",
            "new-signing-key",
            "--out",
            str(tmp_path / "new.key"),
            "--public-out",
            str(tmp_path / "other.pem"),
        ],
    )
    assert again.exit_code == 2 and "exists" in again.output  # never overwrites a key
    handed = run.invoke(cli, ["keys", "hand-over", "--new-public-key", str(tmp_path / "new.pem")])
    assert handed.exit_code == 0, handed.output
    assert "handed over" in handed.output
    bad = run.invoke(cli, ["keys", "hand-over", "--new-public-key", str(tmp_path / "new.key")])
    assert bad.exit_code == 2 and "not a PEM public key" in bad.output

    monkeypatch.setenv("REALNAME_AUDIT_SIGNING_KEY", (tmp_path / "new.key").read_text().strip())
    with _instance(service, (tmp_path / "new.key").read_text().strip()) as client:
        _work(client)
        client.app.state.ctx.audit.sign()  # type: ignore[attr-defined]
    out = tmp_path / "after.jsonl"
    assert run.invoke(cli, ["audit", "export", "--out", str(out)]).exit_code == 0
    verified = run.invoke(cli, ["audit", "verify", str(out), "--public-key", str(old_pem)])
    assert verified.exit_code == 0 and "OK" in verified.output, verified.output
