"""Every error as RFC 9457 ``application/problem+json``, and a request id on every answer.

Library and service errors render through :meth:`RealnameError.to_problem`; FastAPI validation
errors become ``REQUEST_INVALID`` (field locations and messages, never the values sent);
Starlette's HTTP errors map onto the tree; anything unexpected becomes a generic 500
``INTERNAL`` with the request id, and the server logs the exception type and stack (no message,
no locals: they may hold personal data).
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from realname.errors import (
    AuthError,
    ForbiddenError,
    InputError,
    InternalError,
    NotFoundError,
    PayloadTooLargeError,
    RealnameError,
    RequestInvalidError,
)
from realname.service.metrics import Metrics

__all__ = ["ObservabilityMiddleware", "install_error_handlers", "problem_response"]

log = logging.getLogger("realname.service")
access = logging.getLogger("realname.service.access")
PROBLEM_JSON = "application/problem+json"


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
        413: PayloadTooLargeError,
    }
    if exc.status_code in mapped:
        return mapped[exc.status_code](detail)
    if exc.status_code == 405:
        return RequestInvalidError(f"method not allowed: {detail}")
    if exc.status_code < 500:
        return InputError(detail)
    return InternalError("internal error")


def install_error_handlers(app: FastAPI) -> None:
    async def realname_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RealnameError)
        if exc.status >= 500:
            log.warning(
                "%s answered %s (%s)", request.url.path, exc.code, _request_id(request.scope)
            )
        return problem_response(exc, request.scope)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors: list[dict[str, Any]] = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        error = RequestInvalidError("the request does not match the API", errors=errors)
        return problem_response(error, request.scope)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        response = problem_response(_from_http(exc), request.scope)
        if exc.status_code == 405:
            response.status_code = 405
        return response

    app.add_exception_handler(RealnameError, realname_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class ObservabilityMiddleware:
    """Request id, metrics, and the last line of defence: an unexpected exception becomes a
    generic problem+json 500 (no traceback reaches the client)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        start = time.perf_counter()
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
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
