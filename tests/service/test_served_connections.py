"""The server as ``realname serve`` runs it (``_run_uvicorn``): connections that never send a
request head, or trickle it, are closed once the head is late; each piece of a body is bounded
by the app. Both by ``REALNAME_BODY_TIMEOUT_S``."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.service.conftest import key_settings
from tests.service.server_process import ServerProcess

TIMEOUT_S = 1.0


def _closed(sock: socket.socket, within_s: float) -> bool:
    """True when the peer closes ``sock`` (EOF or reset) within ``within_s``."""
    sock.settimeout(within_s)
    try:
        while sock.recv(4096):
            pass  # an answer (408) may come first, then the close
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def test_idle_and_trickling_connections_are_closed_by_the_served_app(tmp_path: Path) -> None:
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'realname.db'}",
        "body_timeout_s": TIMEOUT_S,
        **key_settings(),
    }
    server = ServerProcess(tmp_path, settings, verifier="block")
    try:
        server.wait_ready()
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(15)]
        heads = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(15)]
        for sock in heads:
            sock.sendall(b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\n")  # never finished
        start = time.monotonic()
        for sock in heads[:5]:
            sock.sendall(b"X-Slow: 1\r\n")  # a trickle does not reset the head's clock
        closed = [_closed(sock, within_s=6 * TIMEOUT_S) for sock in idle + heads]
        elapsed = time.monotonic() - start
        for sock in idle + heads:
            sock.close()
        assert all(closed), closed
        assert elapsed < 6 * TIMEOUT_S
    finally:
        server.stop()
