"""``realname admin``, ``audit export``, ``purge`` against the service database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from realname.cli.main import app
from tests.service.conftest import key_settings

runner = CliRunner()


@pytest.fixture
def service_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REALNAME_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    for name, value in key_settings().items():
        monkeypatch.setenv(f"REALNAME_{name.upper()}", value)
    return tmp_path


def test_admin_commands_create_audited_outlets_and_users(service_env: Path) -> None:
    r = runner.invoke(app, ["admin", "create-outlet", "Outlet A"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        ["admin", "create-user", "alice", "--role", "clerk", "--outlet", "Outlet A"],
        input="a long password\na long password\n",
    )
    assert r.exit_code == 0, r.output
    assert "alice (clerk, outlet Outlet A)" in r.output
    r = runner.invoke(
        app, ["admin", "create-user", "bob", "--role", "clerk", "--password", "0123456789"]
    )
    assert r.exit_code == 2 and "INPUT_INVALID" in r.output  # a clerk needs an outlet
    out = service_env / "audit.jsonl"
    pem = service_env / "audit.pem"
    r = runner.invoke(app, ["audit", "export", "--out", str(out), "--public-key", str(pem)])
    assert r.exit_code == 0, r.output
    assert "2 entries, 1 signed heads" in r.output
    r = runner.invoke(app, ["audit", "verify", str(out), "--public-key", str(pem)])
    assert r.exit_code == 0 and "OK" in r.output
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # delete an entry
    assert runner.invoke(app, ["audit", "verify", str(out)]).exit_code == 1
    r = runner.invoke(app, ["purge"])
    assert r.exit_code == 0 and "purged:" in r.output


def test_service_commands_refuse_to_run_without_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REALNAME_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    r = runner.invoke(app, ["admin", "create-outlet", "X"])
    assert r.exit_code == 3 and "SETUP_INVALID" in r.output
