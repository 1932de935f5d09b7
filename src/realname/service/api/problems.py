"""Every error as RFC 9457 ``application/problem+json``, and a request id on every answer.

Library and service errors render through :meth:`RealnameError.to_problem`; FastAPI validation
errors become ``REQUEST_INVALID`` (field locations and messages, never the values sent);
Starlette's HTTP errors map onto the tree (405 ``METHOD_NOT_ALLOWED`` with an ``Allow`` header
naming every method of the path); anything unexpected becomes a generic 500 ``INTERNAL`` with
the request id, and the server logs the exception type and stack (no message, no locals: they
may hold personal data).

:class:`ObservabilityMiddleware` also guards the request body against a slow client: each
piece is awaited at most ``body_timeout_s`` and the whole body at most ``BODY_DEADLINE_PIECES``
times that; past either, the answer is 408 ``REQUEST_TIMEOUT``. A body the app did not read (it
answered first: 401, 404, 405, 413) is read and dropped for one more piece's wait (at most
``DRAIN_BYTES``); if it still has not all arrived, the answer carries ``Connection: close`` and
the server drops the connection instead of waiting for the rest. Every answer says
``X-Content-Type-Options: nosniff``, and every ``/api`` answer ``Cache-Control: no-store``
(tokens, masked numbers: nothing for a cache to keep).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import traceback
import uuid
from http import HTTPStatus
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from realname.errors import (
    AuthError,
    ForbiddenError,
    InputError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    RealnameError,
    RequestInvalidError,
    RequestTimeoutError,
    SetupError,
)
from realname.service.metrics import Metrics

__all__ = [
    "BODY_DEADLINE_PIECES",
    "ObservabilityMiddleware",
    "install_error_handlers",
    "problem_response",
]

log = logging.getLogger("realname.service")
access = logging.getLogger("realname.service.access")
PROBLEM_JSON = "application/problem+json"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DRAIN_BYTES = 64 * 1024  # an unread body up to this size is read before answering
BODY_DEADLINE_PIECES = 12  # the whole body: 120 s at the default 10 s (a 20 MiB clip at 175 kB/s)


def _request_id(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex
    return str(state["request_id"])


def problem_response(error: RealnameError, scope: Scope) -> JSONResponse:
    problem = error.to_problem(instance=scope.get("path"))
    problem["request_id"] = _request_id(scope)
    headers: dict[str, str] = {}
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    if isinstance(error, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(problem, status_code=error.status, headers=headers, media_type=PROBLEM_JSON)


def _from_http(exc: StarletteHTTPException) -> RealnameError:
    detail = str(exc.detail)
    mapped: dict[int, type[RealnameError]] = {
        401: AuthError,
        403: ForbiddenError,
        404: NotFoundError,
        405: MethodNotAllowedError,
        408: RequestTimeoutError,
        413: PayloadTooLargeError,
    }
    if exc.status_code in mapped:
        return mapped[exc.status_code](detail)
    if exc.status_code < HTTPStatus.INTERNAL_SERVER_ERROR:
        return InputError(detail)
    return InternalError("internal error")


def install_error_handlers(app: FastAPI) -> None:
    async def realname_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RealnameError):  # registered for RealnameError only
            raise exc
        if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            log.warning(
                "%s answered %s (%s)", request.url.path, exc.code, _request_id(request.scope)
            )
        return problem_response(exc, request.scope)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):
            raise exc
        errors: list[dict[str, Any]] = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        error = RequestInvalidError("the request does not match the API", errors=errors)
        return problem_response(error, request.scope)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, StarletteHTTPException):
            raise exc
        response = problem_response(_from_http(exc), request.scope)
        if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
            response.headers["Allow"] = _allowed_methods(request)
        return response

    app.add_exception_handler(RealnameError, realname_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _allowed_methods(request: Request) -> str:
    """Every method some route accepts on this path (Starlette names only the first route's):
    each method is tried against the router's own matching."""
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


class BodyTimeoutError(StarletteHTTPException):
    """The body stopped arriving. An HTTP exception so that FastAPI's body parsing passes it on
    unchanged (it turns any other exception into a 400); rendered as ``REQUEST_TIMEOUT``."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=408, detail=detail)


def _expects_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class _TimedBody:
    """The request's ``receive``: while the body is arriving, each message is awaited at most
    ``piece_s`` and all of them together at most ``whole_s``; afterwards it passes through (a
    streaming answer listens on it for the client's disconnect)."""

    def __init__(self, scope: Scope, receive: Receive, piece_s: float, whole_s: float) -> None:
        self.receive = receive
        self.piece_s = piece_s
        self.whole_s = whole_s
        self.deadline = time.monotonic() + whole_s
        self.complete = not _expects_body(scope)
        self.timed_out = False

    async def __call__(self) -> Message:
        if self.complete:
            return await self.receive()
        if self.timed_out:
            raise BodyTimeoutError("the request body arrived too slowly")
        wait = min(self.piece_s, self.deadline - time.monotonic())
        message: Message | None = None
        with anyio.move_on_after(max(wait, 0.0)):
            message = await self.receive()
        if message is None:
            self.timed_out = True
            whole = self.deadline - time.monotonic() <= 0
            limit = f"{self.whole_s:g} s" if whole else f"{self.piece_s:g} s per piece"
            raise BodyTimeoutError(f"the request body did not arrive within {limit}")
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.complete = True
        return message

    async def drain(self, max_bytes: int) -> None:
        """Read and drop what is left of a body the app did not read (it answered first), for
        at most one piece's wait and ``max_bytes``: closing a connection with unread bytes makes
        the kernel reset it, and the client may lose the answer."""
        limit = time.monotonic() + self.piece_s
        self.deadline = min(self.deadline, limit)
        dropped = 0
        with contextlib.suppress(BodyTimeoutError):
            while not self.complete and dropped <= max_bytes:
                dropped += len((await self()).get("body", b""))


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class ObservabilityMiddleware:
    """Request id, metrics, security headers, the body's time limits, and the last line of
    defence: an unexpected exception becomes a generic problem+json 500 (no traceback reaches
    the client)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, body_timeout_s: float = 10.0) -> None:
        if not (body_timeout_s > 0 and math.isfinite(body_timeout_s)):
            raise SetupError("body_timeout_s must be a positive number of seconds")
        self.app = app
        self.metrics = metrics
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        start = time.perf_counter()
        status = 500
        started = False
        body = _TimedBody(
            scope, receive, self.body_timeout_s, self.body_timeout_s * BODY_DEADLINE_PIECES
        )
        api = str(scope.get("path", "")).startswith("/api/")

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                if not body.complete and not body.timed_out:
                    await body.drain(DRAIN_BYTES)
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if api and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if not body.complete and b"connection" not in names:
                    # The rest of the body may never come: do not wait for it on this connection.
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, body, send_wrapper)
        except Exception as exc:
            stack = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
            log.error(
                "unhandled %s in %s %s (request %s)\n%s",
                type(exc).__name__,
                scope.get("method"),
                _route_template(scope),
                request_id,
                stack,
            )
            if started:
                raise
            response = problem_response(
                InternalError(f"internal error; quote request id {request_id}"), scope
            )
            await response(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            elapsed = time.perf_counter() - start
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            # The route template, never the raw path or query (they may hold a mobile number).
            access.info("%s %s %s %.0f ms (%s)", method, route, status, elapsed * 1000, request_id)
