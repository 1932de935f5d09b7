"""``realname demo`` and ``make demo``: the host and port, HTTPS passed to uvicorn, the fixed
challenge and how to open the camera page from another machine (the server never starts:
``uvicorn.run`` is replaced)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from realname.cli.main import app
from tests.conftest import REPO

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``uvicorn.run`` was called with (it returns at once instead of serving)."""
    import uvicorn

    calls: dict[str, Any] = {}

    def run(application: Any, **kwargs: Any) -> None:
        calls.update(kwargs, application=application)

    monkeypatch.setattr(uvicorn, "run", run)
    return calls


def self_signed(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A fresh key and a self-signed certificate for ``name`` (PEM files in ``folder``)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / f"{name}-key.pem", folder / f"{name}-cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


def test_demo_serves_https_on_the_host_and_port_given_and_prints_the_fixed_challenge(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    served: dict[str, Any],
    tls_files: tuple[Path, Path],
) -> None:
    from realname.liveness.challenge import Challenge, fixed_schedule, parse_challenge
    from realname.policy import load_policy

    monkeypatch.setenv("REALNAME_DEV_FIXED_CHALLENGE", "blink,turn_left,turn_right")
    key, cert = tls_files
    args = ["demo", "--database", str(tmp_path / "demo.db"), "--host", "0.0.0.0"]
    args += ["--port", "9443", "--ssl-keyfile", str(key), "--ssl-certfile", str(cert)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert served["host"] == "0.0.0.0" and served["port"] == 9443
    assert served["ssl_keyfile"] == str(key) and served["ssl_certfile"] == str(cert)
    assert served["access_log"] is False  # still the hardened server of `realname serve`
    assert "https://127.0.0.1:9443  (API docs: https://127.0.0.1:9443/docs)" in result.output
    steps = parse_challenge("blink,turn_left,turn_right").steps
    prompts = load_policy().liveness.prompts  # type: ignore[union-attr]
    fixed = str(Challenge(steps, fixed_schedule(len(steps), prompts)))
    assert fixed.startswith("blink@1.00-")
    lines = result.output.splitlines()
    assert (
        f"  fixed challenge (REALNAME_DEV_FIXED_CHALLENGE): {fixed} (every capture asks for it)"
        in lines
    )
    advice = next(line for line in lines if "camera from another machine" in line)
    assert "open https://<this machine's name>:9443/" in advice
    assert "--host 0.0.0.0" not in advice  # it already listens on every address


def test_demo_over_http_says_the_camera_needs_https_from_another_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REALNAME_DEV_FIXED_CHALLENGE", raising=False)
    result = runner.invoke(app, ["demo", "--no-serve", "--database", str(tmp_path / "demo.db")])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000" in result.output
    assert "fixed challenge" not in result.output  # none is set
    lines = result.output.splitlines()
    advice = lines.index(
        "  camera from another machine: browsers allow it only over HTTPS (plain http only on "
        "this machine, at http://127.0.0.1:8000/)"
    )
    how = lines[advice + 1]
    assert "make demo HOST=0.0.0.0 SSL_KEYFILE=key.pem SSL_CERTFILE=cert.pem" in how
    assert "realname demo --host 0.0.0.0 --ssl-keyfile key.pem --ssl-certfile cert.pem" in how
    assert "reverse proxy" in how


def test_serve_passes_the_tls_files_to_uvicorn(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    served: dict[str, Any],
    tls_files: tuple[Path, Path],
) -> None:
    monkeypatch.setenv("REALNAME_DEV_MODE", "1")
    monkeypatch.setenv("REALNAME_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    key, cert = tls_files
    args = ["serve", "--host", "0.0.0.0", "--port", "9001"]
    result = runner.invoke(app, [*args, "--ssl-keyfile", str(key), "--ssl-certfile", str(cert)])
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("0.0.0.0", 9001)
    assert served["ssl_keyfile"] == str(key) and served["ssl_certfile"] == str(cert)
    plain = runner.invoke(app, ["serve"])
    assert plain.exit_code == 0, plain.output
    assert served["ssl_keyfile"] is None and served["ssl_certfile"] is None


def _make_demo(*variables: str, env: dict[str, str] | None = None) -> str:
    """The command `make -n demo` would run (after any install steps it would run first)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(
        [make, "-n", "demo", *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return next(line for line in dry.stdout.splitlines() if "realname demo" in line)


def test_make_demo_passes_host_and_port() -> None:
    import os

    assert _make_demo().endswith("realname demo --host 127.0.0.1 --port 8000")
    line = _make_demo("PORT=9001", "HOST=0.0.0.0")
    assert line.endswith("realname demo --host 0.0.0.0 --port 9001")
    # a HOST exported by the shell is not a listening address
    assert _make_demo(env={**os.environ, "HOST": "build-box"}).endswith(
        "--host 127.0.0.1 --port 8000"
    )


def test_make_demo_passes_the_tls_files() -> None:
    line = _make_demo("SSL_KEYFILE=key.pem", "SSL_CERTFILE=cert.pem")
    assert line.endswith(
        "realname demo --host 127.0.0.1 --port 8000 --ssl-keyfile key.pem --ssl-certfile cert.pem"
    )


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_certificate_that_does_not_fit_its_key_is_one_line_before_anything_starts(
    tmp_path: Path, command: str, served: dict[str, Any]
) -> None:
    key, _ = self_signed(tmp_path, "one")
    _, other_cert = self_signed(tmp_path, "other")
    args = [command, "--ssl-keyfile", str(key), "--ssl-certfile", str(other_cert)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error INPUT_INVALID: ")
    assert "not a PEM certificate and its unencrypted private key" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    text = tmp_path / "text.pem"
    text.write_text("not a certificate\n")
    result = runner.invoke(app, [command, "--ssl-keyfile", str(text), "--ssl-certfile", str(text)])
    assert result.exit_code == 2 and "not a PEM certificate" in result.output, result.output
    assert served == {}  # nothing was served
