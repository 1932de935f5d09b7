"""The service in a process of its own, for tests that need its real memory, threads and signals.

``python -m tests.service.server_process CONFIG.json`` builds ``create_app(settings)`` from the
settings in the file and serves it with the CLI's ``_run_uvicorn`` on 127.0.0.1. ``verifier`` in
the file picks ``real`` (the real engines and :class:`EngineVerifier`) or ``block`` (a verifier
that never returns, as a worker stuck in a hostile file would). :class:`ServerProcess` starts it
on a free port with a database migrated and populated (users as in ``conftest.populate``) by the
test process, waits for ``/readyz``, and stops it with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn

from realname.service.verification import Assessment, CaptureJob

ROOT = Path(__file__).resolve().parents[2]


def block_forever(job: CaptureJob) -> Assessment:
    """A verifier whose job never ends."""
    threading.Event().wait()
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


class ServerProcess:
    """A served app: ``url``, ``pid``; ``stop()`` sends SIGTERM and returns the seconds to exit."""

    def __init__(self, folder: Path, settings: dict[str, Any], verifier: str) -> None:
        from realname.service.app import build_context
        from realname.service.settings import ServiceSettings
        from realname.service.store.migrate import upgrade
        from tests.service.conftest import populate

        ctx = build_context(ServiceSettings(_env_file=None, **settings))
        upgrade(ctx.database)
        populate(ctx)
        ctx.database.dispose()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "server.json"
        config.write_text(
            json.dumps({"settings": settings, "verifier": verifier, "port": self.port})
        )
        self.log = (folder / "server.log").open("wb")
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.service.server_process", str(config)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx2.get(f"{self.url}/readyz", timeout=2.0).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the server was not ready in time")

    def stop(self, timeout_s: float = 30.0) -> float:
        """SIGTERM, then the seconds until the process exited (killed after ``timeout_s``)."""
        start = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return time.monotonic() - start


class Api:
    """A clerk's calls to a served app (the forms of ``conftest.Service``)."""

    def __init__(self, url: str, timeout_s: float = 60.0) -> None:
        from tests.service.conftest import PASSWORD

        self.client = httpx2.Client(base_url=url, timeout=timeout_s)
        r = self.client.post(
            "/api/v1/auth/token", data={"username": "clerk_a", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        self.client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def close(self) -> None:
        self.client.close()

    def start(self) -> dict[str, Any]:
        r = self.client.post(
            "/api/v1/sessions", json={"biometric_consent": True, "consent_text_version": "v1"}
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def card(
        self,
        session_id: str,
        portrait: bytes,
        name: str = "portrait.png",
        kind: str = "image/png",
        id_number: str | None = None,
    ) -> httpx2.Response:
        from tests.service.conftest import card_form

        form = card_form(**({} if id_number is None else {"id_number": id_number}))
        return self.client.put(
            f"/api/v1/sessions/{session_id}/id-card",
            data=form,
            files={"portrait": (name, portrait, kind)},
        )

    def nonce(self, session_id: str) -> str:
        """A new challenge's nonce (``POST .../challenge``, after the card)."""
        r = self.client.post(f"/api/v1/sessions/{session_id}/challenge")
        assert r.status_code == 200, r.text
        return str(r.json()["nonce"])

    def framing(
        self, session_id: str, frame: bytes, name: str = "frame.png", kind: str = "image/png"
    ) -> httpx2.Response:
        return self.client.post(
            f"/api/v1/sessions/{session_id}/framing", files={"frame": (name, frame, kind)}
        )

    def capture(
        self,
        session_id: str,
        nonce: str,
        clip: bytes,
        name: str = "clip.webm",
        kind: str = "video/webm",
    ) -> httpx2.Response:
        return self.client.post(
            f"/api/v1/sessions/{session_id}/capture",
            data={"nonce": nonce},
            files={"clip": (name, clip, kind)},
        )


@contextmanager
def serve_in_thread(app: Any, **options: Any) -> Iterator[int]:
    """uvicorn serving ``app`` on 127.0.0.1 in a thread; its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def main(config_path: str) -> None:
    from realname.cli.main import _run_uvicorn
    from realname.service.app import create_app
    from realname.service.settings import ServiceSettings

    config = json.loads(Path(config_path).read_text())
    settings = ServiceSettings(_env_file=None, **config["settings"])
    verifier = block_forever if config["verifier"] == "block" else None
    app = create_app(settings, verifier=verifier, periodic_tasks=False)
    _run_uvicorn(app, "127.0.0.1", int(config["port"]), settings)


if __name__ == "__main__":
    main(sys.argv[1])
