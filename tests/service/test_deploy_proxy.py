"""The reference deployment's nginx (deploy/nginx.conf) run as it ships, in front of stand-in
instances (issue 16).

nginx loads the file unchanged but for the upstream ports, the listening port and the TLS
certificate (a self-signed one made here), inside a minimal ``http`` block. The stand-ins are
sockets that answer like an instance, refuse connections like one that is down, or read the
request and drop the connection like one killed with SIGKILL mid-request. What a client sees
through the proxy is checked: an instance down is skipped, and an instance killed mid-request
gives the catalogue's 503 ``INSTANCE_UNAVAILABLE`` problem+json with ``Retry-After``, never
nginx's own 502 page or a hang. The same with real instances under load is
``benchmarks/faults.py kill9-proxy``.

Skipped when nginx is not installed (``.ci/run`` installs Debian's ``nginx-light``).
"""

from __future__ import annotations

import importlib.util
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from realname.errors import InstanceUnavailableError

_spec = importlib.util.spec_from_file_location(
    "proxy", Path(__file__).resolve().parents[2] / "benchmarks" / "proxy.py"
)
assert _spec is not None and _spec.loader is not None
PROXY = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(PROXY)
pytestmark = pytest.mark.skipif(
    PROXY.NGINX is None, reason="nginx is not installed (apt nginx-light)"
)
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class StandIn:
    """An instance stand-in on a port: ``answer`` (200 JSON) or ``drop`` (reads the request,
    then closes the connection without a byte: a process killed mid-request)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.requests = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while True:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, data = data.partition(b"\r\n\r\n")
                    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
                    need = int(length.group(1)) if length else 0
                    while len(data) < need:
                        data += conn.recv(65536)
                    data = data[need:]
                    self.requests += 1
                    if self.behaviour == "drop":
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                        return  # closed with a reset, as the kernel does for a killed process
                    conn.sendall(OK)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Callable[[list[int]], str]]:
    """Start nginx in front of the given upstream ports; its https URL."""
    started: list[Any] = []

    def start(upstreams: list[int]) -> str:
        front = PROXY.Proxy(tmp_path / f"nginx{len(started)}", upstreams)
        check = front.check()
        assert check.returncode == 0, check.stderr  # deploy/nginx.conf loads as it ships
        front.start()
        started.append(front)
        return str(front.url)

    yield start
    for front in started:
        front.stop()


def _client(tmp_path: Path) -> httpx.Client:
    cafile = next(tmp_path.glob("nginx*/cert.pem"))
    return httpx.Client(verify=ssl.create_default_context(cafile=cafile), timeout=30)


def _is_instance_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "5"
    body = r.json()
    expected = InstanceUnavailableError(body["detail"]).to_problem()
    assert body == expected and body["detail"]


def test_an_instance_that_is_down_is_skipped_even_for_a_capture(
    proxy: Callable[[list[int]], str], tmp_path: Path
) -> None:
    alive = StandIn("answer")
    try:
        url = proxy([PROXY.free_port(), alive.port])  # the first port: nothing listens there
        with _client(tmp_path) as http:
            for _ in range(6):  # least_conn tries either first
                assert http.get(f"{url}/readyz").status_code == 200
                r = http.post(f"{url}/api/v1/sessions/x/capture", content=b"x" * 100_000)
                assert r.status_code == 200, r.text  # refused before it was sent: passed on
        assert alive.requests == 12
    finally:
        alive.close()


def test_an_instance_killed_mid_request_gives_a_retryable_problem_never_a_502_page(
    proxy: Callable[[list[int]], str], tmp_path: Path
) -> None:
    dying = [StandIn("drop"), StandIn("drop")]
    try:
        url = proxy([s.port for s in dying])
        with _client(tmp_path) as http:
            started = time.monotonic()
            capture = http.post(f"{url}/api/v1/sessions/x/capture", content=b"x" * 100_000)
            _is_instance_unavailable(capture)
            _is_instance_unavailable(http.get(f"{url}/api/v1/sessions"))
            assert time.monotonic() - started < 10  # an answer, not a hang
        # the POST went to one instance only (its nonce may be spent: never sent twice)
        assert sum(s.requests for s in dying) == 1 + 2  # the GET was tried on both
    finally:
        for s in dying:
            s.close()


def test_when_no_instance_listens_the_answer_is_the_same_problem(
    proxy: Callable[[list[int]], str], tmp_path: Path
) -> None:
    url = proxy([PROXY.free_port(), PROXY.free_port()])
    with _client(tmp_path) as http:
        _is_instance_unavailable(http.post(f"{url}/api/v1/auth/token", data={"username": "a"}))
