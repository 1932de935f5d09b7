"""The reference deployment's nginx (deploy/nginx.conf) run as it ships, for tests and faults.

The file is loaded unchanged but for the upstream ports, the listening port and the TLS
certificate (a self-signed one made here for ``localhost``), inside a minimal main context with
its pid, logs and temporary files in a folder of its own. Used by
``tests/service/test_deploy_proxy.py`` and ``benchmarks/faults.py kill9-proxy``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CONF = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pkcs8 = serialization.PrivateFormat.PKCS8
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
    )
    return cert_path, key_path


def config(folder: Path, upstreams: list[int], port: int, cert: Path, key: Path) -> Path:
    """deploy/nginx.conf with these ports and certificate, in a minimal main context."""
    text = CONF.read_text(encoding="utf-8")
    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+ max_fails=0;\n", text, flags=re.M)
    if len(servers) != 2:
        raise ValueError("deploy/nginx.conf's upstream no longer lists two instances")
    mine = "".join(f"    server 127.0.0.1:{p} max_fails=0;\n" for p in upstreams)
    text = text.replace("".join(servers), mine)
    text = text.replace("listen 443 ssl", f"listen 127.0.0.1:{port} ssl")
    text = text.replace("/etc/realname/tls/fullchain.pem", str(cert))
    text = text.replace("/etc/realname/tls/privkey.pem", str(key))
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "".join(f"{kind}_temp_path {folder / kind};\n" for kind in kinds)
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = (
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\naccess_log off;\n{temp}{text}\n}}\n"
    )
    path = folder / "nginx.conf"
    path.write_text(main, encoding="utf-8")
    return path


class Proxy:
    """nginx in front of ``upstreams`` (ports), serving ``https://localhost:PORT``."""

    def __init__(self, folder: Path, upstreams: list[int]) -> None:
        if NGINX is None:
            raise RuntimeError("nginx is not installed (apt install nginx-light)")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.cert, key = certificate(folder)
        self.port = free_port()
        self.conf = config(folder, upstreams, self.port, self.cert, key)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cert)

    def check(self) -> subprocess.CompletedProcess[str]:
        """``nginx -t`` on the configuration: whether it loads as it ships."""
        assert NGINX is not None
        command = [NGINX, "-t", "-q", "-p", str(self.folder), "-c", str(self.conf)]
        return subprocess.run(command, capture_output=True, text=True)

    def start(self, timeout_s: float = 15.0) -> None:
        assert NGINX is not None
        with (self.folder / "nginx.out").open("wb") as log:
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.folder), "-c", str(self.conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise TimeoutError((self.folder / "error.log").read_text(errors="replace"))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
