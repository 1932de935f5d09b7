"""``realname inspect export`` against a service database with registrations made through the
HTTP API, then ``realname inspect verify`` offline: intact exits 0, tampered exits 1 and names
the file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from realname.cli.main import app
from realname.service.app import create_app
from tests.service.conftest import (
    Clock,
    Service,
    cheap_passwords,  # noqa: F401 - the fixture, autouse here too
    key_settings,
    make_id,
    make_settings,
    populate,
)
from tests.service.fakes import FakeVerifier

runner = CliRunner()
MSISDN = "13812345678"
DAYS = ("2026-11-02", "2026-11-03", "2026-11-04")  # local days (+08:00)


@pytest.fixture
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A service database with registrations on three local days (the middle one: two, one
    bound to a number), the audit head signed at the end of each, then the CLI's environment
    pointed at it with the same keys; the folder it is in."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    keys = key_settings()
    verifier = FakeVerifier()
    clock = Clock()
    clock.now = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 local
    service_app = create_app(
        make_settings(url, **keys),
        verifier=verifier,
        enroller=verifier.enrol,
        clock=clock,
        periodic_tasks=False,
    )
    with TestClient(service_app) as client:
        svc = Service(client, service_app.state.ctx, clock, verifier)
        populate(svc.ctx)
        for day in range(3):
            svc.headers["clerk_a"] = svc.login("clerk_a")
            bound = svc.passed_session(make_id(sequence=f"45{day}"))
            if day == 1:
                r = svc.bind(bound, MSISDN)
                assert r.status_code == 201, r.text
                svc.passed_session(make_id(sequence="458"))
            svc.ctx.audit.sign()
            clock.advance(24 * 3600)
        verifier.release.set()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REALNAME_DATABASE_URL", url)
    monkeypatch.setenv("REALNAME_CARD_READER", "none")
    for name, value in keys.items():
        monkeypatch.setenv(f"REALNAME_{name.upper()}", value)
    return tmp_path


def _export(registered: Path, days: str = DAYS[1]) -> tuple[Path, Path]:
    """``inspect export`` of ``days`` (``FROM`` or ``FROM..TO``)."""
    first, _, last = days.partition("..")
    out, pem = registered / f"package-{days}", registered / "audit.pem"
    args = ["--from", first, "--to", last or first, "--out", str(out), "--public-key", str(pem)]
    r = runner.invoke(app, ["inspect", "export", *args])
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output and "signed heads" in r.output
    return out, pem


def test_when_a_package_is_exported_then_it_verifies_offline(registered: Path) -> None:
    out, pem = _export(registered)
    r = runner.invoke(app, ["inspect", "verify", str(out), "--public-key", str(pem)])
    assert r.exit_code == 0, r.output
    assert "OK" in r.output and "cannot show" not in r.output
    report = json.loads((out / "report.json").read_text())
    assert report["totals"][0]["passed"] == 2 and report["totals"][0]["numbers_bound"] == 1
    # the slice reaches the signed heads of the days before and after
    records = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    days = {r["time"][:10] for r in records if r["type"] == "entry"}
    assert days == {"2026-11-02", "2026-11-03", "2026-11-04"}  # UTC dates: 10:00 local
    text = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    assert MSISDN not in text and make_id() not in text and "张三" not in text
    assert "138****5678" in text
    versions = json.loads((out / "versions.json").read_text())
    assert versions["policy"]["version"] and versions["engines"]["embedder"]["name"] == "sface"


def test_when_the_period_ends_at_the_logs_end_then_verify_says_what_it_cannot_show(
    registered: Path,
) -> None:
    out, pem = _export(registered, DAYS[2])
    r = runner.invoke(app, ["inspect", "verify", str(out), "--public-key", str(pem)])
    assert r.exit_code == 0, r.output
    assert "OK" in r.output and "no later entry is of the period" in r.output


def test_when_a_file_is_tampered_then_verify_exits_1_naming_it(
    registered: Path,
) -> None:
    out, pem = _export(registered)
    csv = out / "report.csv"
    csv.write_text(csv.read_text().replace(",2,", ",3,", 1))
    r = runner.invoke(app, ["inspect", "verify", str(out), "--public-key", str(pem)])
    assert r.exit_code == 1, r.output
    assert "TAMPERED" in r.output and "report.csv was altered" in r.output


def test_when_the_key_is_not_the_services_then_verify_exits_1(
    registered: Path, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    out, _ = _export(registered)
    other = tmp_path / "other.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    r = runner.invoke(app, ["inspect", "verify", str(out), "--public-key", str(other)])
    assert r.exit_code == 1 and "the public key given is" in r.output


def test_unusable_input_exits_2(registered: Path) -> None:
    out, pem = _export(registered)
    r = runner.invoke(app, ["inspect", "verify", str(out / "nope"), "--public-key", str(pem)])
    assert r.exit_code == 2 and "does not exist" in r.output
    day = DAYS[1]
    r = runner.invoke(app, ["inspect", "export", "--from", day, "--to", day, "--out", str(out)])
    assert r.exit_code == 2 and "not an empty folder" in r.output
    r = runner.invoke(app, ["inspect", "export", "--from", "11-2", "--to", day, "--out", "x"])
    assert r.exit_code == 2 and "is not a date" in r.output


def test_when_the_stored_chain_is_broken_then_nothing_is_exported(
    registered: Path,
) -> None:
    import sqlite3

    with sqlite3.connect(registered / "service.db") as db:
        db.execute("UPDATE audit_entries SET outcome = 'failed' WHERE action = 'capture.verdict'")
    out = registered / "package"
    day = DAYS[1]
    r = runner.invoke(app, ["inspect", "export", "--from", day, "--to", day, "--out", str(out)])
    assert r.exit_code == 3 and "CONFLICT" in r.output and "audit log is broken" in r.output
    assert not out.exists()


def test_when_days_were_pruned_then_their_kept_counters_are_in_the_package(
    registered: Path,
) -> None:
    from realname.cli.common import service_context, service_settings
    from realname.service.usecases.inspection import prune_audit

    ctx = service_context(service_settings(audit_retention_days=2))
    ctx.clock = lambda: datetime(2026, 11, 5, 2, 0, tzinfo=UTC)  # 10:00 local: before 11-03
    assert prune_audit(ctx) > 0
    ctx.database.dispose()
    out, pem = _export(registered, f"{DAYS[0]}..{DAYS[1]}")
    r = runner.invoke(app, ["inspect", "verify", str(out), "--public-key", str(pem)])
    assert r.exit_code == 0, r.output
    assert "the log before it was pruned" in r.output  # a note, not a fault
    kept = json.loads((out / "kept_days.json").read_text())
    assert [k["day"] for k in kept] == [DAYS[0]]
    report = json.loads((out / "report.json").read_text())
    assert report["purged"]["days"] == [DAYS[0]]
    assert report["totals"][0]["passed"] == 3  # one kept, two from the entries
