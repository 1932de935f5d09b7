"""The HTTP surface against a hostile client: slow bodies, wrong methods, headers, strict
booleans, the docs page and the OpenAPI document.

The slow-body tests run a real uvicorn server on 127.0.0.1 (in a thread) and trickle bytes over
raw sockets: the server must answer 408 and close each connection within the body's bound.
"""

from __future__ import annotations

import re
import selectors
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from realname.service.api.problems import BODY_DEADLINE_PIECES
from realname.service.api.schemas import ID_NUMBER_PATTERN, MSISDN_PATTERN
from realname.service.app import create_app
from realname.service.server import header_timeout_protocol
from tests.service.conftest import PASSWORD, Service, make_settings, populate
from tests.service.fakes import FakeVerifier
from tests.service.server_process import serve_in_thread

BODY_TIMEOUT_S = 0.5
WHOLE_BODY_S = BODY_TIMEOUT_S * BODY_DEADLINE_PIECES  # 6 s


# --- A real server and raw sockets -------------------------------------------------------------


@dataclass
class LiveServer:
    port: int
    clerk_token: str


def _app(tmp_path: Path) -> Any:
    return create_app(
        make_settings(f"sqlite:///{tmp_path / 'realname.db'}", body_timeout_s=BODY_TIMEOUT_S),
        verifier=FakeVerifier(),
        periodic_tasks=False,
    )


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    app = _app(tmp_path)
    with serve_in_thread(app) as port:
        populate(app.state.ctx)
        body = f"username=clerk_a&password={PASSWORD.replace(' ', '+')}".encode()
        status, answer = _exchange(
            port,
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body,
        )
        assert status == 200, answer
        token = re.search(rb'"access_token":"([^"]+)"', answer)
        assert token is not None
        yield LiveServer(port, token.group(1).decode())


def _exchange(port: int, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


@dataclass
class SlowClient:
    """A connection that sends its request's head, then its body a byte at a time."""

    head: bytes
    body: bytes
    interval_s: float
    sock: socket.socket = field(init=False)
    sent: int = 0
    next_at: float = 0.0
    answer: bytes = b""
    closed_after_s: float | None = None

    def status(self) -> int | None:
        match = re.match(rb"HTTP/1\.1 (\d{3})", self.answer)
        return int(match.group(1)) if match else None


def _trickle(port: int, clients: list[SlowClient], give_up_s: float) -> float:
    """Run every client until the server closes each connection (or ``give_up_s`` passes);
    the seconds the last close took."""
    selector = selectors.DefaultSelector()
    start = time.monotonic()
    for client in clients:
        client.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sock.sendall(client.head)
        client.sock.setblocking(False)
        client.next_at = start
        selector.register(client.sock, selectors.EVENT_READ, client)
    open_clients = set(range(len(clients)))

    def close(client: SlowClient) -> None:
        client.closed_after_s = time.monotonic() - start
        selector.unregister(client.sock)
        client.sock.close()

    try:
        while open_clients and time.monotonic() - start < give_up_s:
            now = time.monotonic()
            for i in list(open_clients):
                client = clients[i]
                if client.sent < len(client.body) and now >= client.next_at:
                    try:
                        client.sock.send(client.body[client.sent : client.sent + 1])
                        client.sent += 1
                        client.next_at = now + client.interval_s
                    except OSError:  # the server closed it
                        close(client)
                        open_clients.discard(i)
            for key, _ in selector.select(timeout=0.02):
                client = key.data
                try:
                    chunk = client.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    client.answer += chunk
                    continue
                close(client)
                open_clients.discard(clients.index(client))
    finally:
        for i in open_clients:
            selector.unregister(clients[i].sock)
            clients[i].sock.close()
        selector.close()
    return max((c.closed_after_s or give_up_s) for c in clients)


def _head(
    path: str, content_type: str, length: int, token: str | None = None, method: str = "POST"
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_when_the_body_stalls_then_the_server_answers_408_and_closes(
    live_server: LiveServer,
) -> None:
    client = SlowClient(
        _head("/api/v1/sessions", "application/json", 200, live_server.clerk_token),
        b'{"biometric_consent": ',
        interval_s=0.0,  # all at once, then nothing more
    )
    took = _trickle(live_server.port, [client], give_up_s=10)
    assert client.closed_after_s is not None, "the connection was never closed"
    assert took < BODY_TIMEOUT_S + 2
    assert client.status() == 408, client.answer
    assert b'"code":"REQUEST_TIMEOUT"' in client.answer
    assert b"connection: close" in client.answer.lower()


def test_when_30_clients_trickle_bodies_then_every_connection_is_closed_within_the_bound(
    live_server: LiveServer,
) -> None:
    """Bytes every 0.2 s never trip the 0.5 s wait for a piece; the whole-body bound (6 s) ends
    them. Each route reads its body its own way: a form, JSON, a multipart upload (streamed),
    and a route that answers (401) before reading the body at all."""
    boundary = "xYz"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="portrait"; filename="p.png"\r\n'
        "Content-Type: image/png\r\n\r\n" + "x" * 500
    ).encode()
    kinds = [
        (_head("/api/v1/auth/token", "application/x-www-form-urlencoded", 900), b"username="),
        (
            _head("/api/v1/sessions", "application/json", 900, live_server.clerk_token),
            b'{"biometric_consent": true, "consent_text_version": "' + b"v" * 800,
        ),
        (
            _head(
                "/api/v1/sessions/whatever/id-card",
                f"multipart/form-data; boundary={boundary}",
                900,
                live_server.clerk_token,
                method="PUT",
            ),
            multipart,
        ),
        (_head("/api/v1/sessions/whatever/challenge", "application/json", 900), b"{" * 900),
    ]
    clients = [SlowClient(head, body, interval_s=0.2) for head, body in (kinds * 8)[:30]]
    took = _trickle(live_server.port, clients, give_up_s=WHOLE_BODY_S + 10)
    still_open = [i for i, c in enumerate(clients) if c.closed_after_s is None]
    assert still_open == [], f"{len(still_open)} connections still open"
    assert took < WHOLE_BODY_S + 3, took
    statuses = {c.status() for c in clients}
    assert statuses <= {408, 401}, statuses
    assert 408 in statuses


def test_an_answer_before_the_body_is_read_keeps_the_connection_usable(
    live_server: LiveServer,
) -> None:
    """A small body the app never read (405 here) is drained, not left to reset the connection:
    the next request on the same connection is answered."""
    body = b'{"approve": false, "reason": "0"}'
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as conn:
        conn.sendall(
            b"TRACE /api/v1/reviews/0/decision HTTP/1.1\r\nHost: t\r\n"
            + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
            + b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 405 "), answer
    assert b"\r\nallow: POST\r\n" in answer
    assert b"HTTP/1.1 200 " in answer and answer.endswith(b'{"status":"ok"}')


@pytest.mark.parametrize("head", [b"", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: "])
def test_with_the_header_timeout_protocol_a_slow_head_is_closed(
    tmp_path: Path, head: bytes
) -> None:
    """Plain uvicorn holds a connection that sends nothing, or trickles its head, for ever;
    with ``header_timeout_protocol`` it is closed once the head is late."""
    with serve_in_thread(_app(tmp_path), http=header_timeout_protocol(BODY_TIMEOUT_S)) as port:
        client = SlowClient(head, b"a" * 200, interval_s=0.1)
        took = _trickle(port, [client], give_up_s=10)
        assert client.closed_after_s is not None, "the connection was never closed"
        assert took < BODY_TIMEOUT_S + 1.5, took
        kept = SlowClient(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", b"", interval_s=0)
        _trickle(port, [kept], give_up_s=BODY_TIMEOUT_S * 3)  # answered, then kept alive
        assert kept.status() == 200 and kept.closed_after_s is not None


# --- In-process: methods, headers, booleans, docs, OpenAPI ----------------------------------


def test_a_wrong_method_answers_405_with_allow_listing_every_method(service: Service) -> None:
    r = service.client.put("/api/v1/auth/token", headers=service.headers["clerk_a"])
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 405 and body["code"] == "METHOD_NOT_ALLOWED"
    assert set(r.headers["allow"].split(", ")) == {"POST", "DELETE"}
    assert "allow" not in service.client.get("/healthz").headers
    r = service.client.patch("/api/v1/sessions")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "POST"}


def test_every_api_answer_says_nosniff_and_no_store(service: Service) -> None:
    r = service.client.post(
        "/api/v1/auth/token", data={"username": "clerk_a", "password": PASSWORD}
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    for answer in (
        service.client.get("/api/v1/sessions", headers=service.headers["clerk_a"]),
        service.client.get("/api/v1/sessions"),  # 401
        service.client.get("/api/v1/nothing-here"),  # 404
    ):
        assert answer.headers["cache-control"] == "no-store", answer.url
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url
    page = service.client.get("/web/desk.html")
    assert page.headers["cache-control"] == "no-cache"  # the pages keep their own
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("value", [0, 1, "true", "false", None])
def test_consent_must_be_a_json_boolean(service: Service, value: Any) -> None:
    r = service.client.post(
        "/api/v1/sessions",
        json={"biometric_consent": value, "consent_text_version": "v1"},
        headers=service.headers["clerk_a"],
    )
    assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID", r.text


def test_a_decision_must_be_a_json_boolean(service: Service) -> None:
    r = service.client.post(
        "/api/v1/reviews/any/decision",
        json={"approve": 1, "reason": "looks right"},
        headers=service.headers["supervisor_a"],
    )
    assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID", r.text


@pytest.mark.parametrize("value", ["1", "0", "yes", "on", "True", ""])
def test_guardian_consent_is_the_text_true_or_false(service: Service, value: str) -> None:
    session = service.start()
    r = service.card(session["id"], guardian_consent=value)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "REQUEST_INVALID"
    assert ["guardian_consent"] in [e["loc"] for e in r.json()["errors"]]
    assert service.card(session["id"], guardian_consent="false").status_code == 200


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        self._in_script = tag == "script" and not any(k == "src" for k, _ in attrs)

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_docs_load_swagger_ui_from_this_origin_only(service: Service) -> None:
    r = service.client.get("/docs")
    assert r.status_code == 200
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "//" not in r.text  # no scheme-relative or absolute URL: no other host
    links = _Links()
    links.feed(r.text)
    assert links.inline_scripts == 0  # the CSP forbids them
    assert len(links.urls) == 4
    for url in links.urls:
        assert url.startswith("/docs/"), url
        asset = service.client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert service.client.get("/docs/assets/index.html").status_code == 404
    assert service.client.get("/redoc").status_code == 404


def test_the_openapi_document_names_every_problem_answer(service: Service) -> None:
    document = service.client.get("/openapi.json").json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code", "request_id"} <= set(problem["required"])
    assert {"instance", "context", "errors", "reasons"} <= set(problem["properties"])
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for status, answer in responses.items():
                if status.startswith(("4", "5")) and path.startswith("/api/"):
                    assert list(answer["content"]) == ["application/problem+json"], (path, status)
            if operation.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
    paths = document["paths"]
    assert "429" in paths["/api/v1/auth/token"]["post"]["responses"]
    assert "404" in paths["/api/v1/sessions/{session_id}"]["get"]["responses"]
    assert "409" in paths["/api/v1/subscriptions"]["post"]["responses"]
    card = paths["/api/v1/sessions/{session_id}/id-card"]["put"]
    assert {"413", "415", "422", "429"} <= set(card["responses"])
    assert "503" in paths["/api/v1/sessions/{session_id}/capture"]["post"]["responses"]
    form = card["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["id_number"]["pattern"] == ID_NUMBER_PATTERN
    assert "NFKC" in form["properties"]["id_number"]["description"]
    bind = document["components"]["schemas"]["BindIn"]["properties"]["msisdn"]
    assert bind["pattern"] == MSISDN_PATTERN


def test_a_full_width_id_number_is_still_read_by_the_server(service: Service) -> None:
    """The pattern documents the canonical form; the server normalises before checking."""
    from tests.service.conftest import make_id

    full_width = make_id().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    session = service.start()
    assert service.card(session["id"], id_number=full_width).status_code == 200
