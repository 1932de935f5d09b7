"""The OpenAPI document: every problem+json answer a route can give, and the docs page.

Each route names the error statuses it can answer (``responses=problems(401, 403, ...)``);
they all share one ``Problem`` schema (RFC 9457, ``application/problem+json``). The schema is
checked against the running app by ``tests/service/test_schemathesis.py``: an answer with a
status or a body the document does not describe fails the suite.

``/docs`` is Swagger UI served from this origin: its script and style come from the installed
``swagger_ui_bundle`` package (Swagger UI 4.15.5, Apache-2.0), its start-up script is a file
too, and the page carries the web pages' Content-Security-Policy, so nothing loads from a CDN.
ReDoc is off (it would load from a CDN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, Response

from realname.service.api.schemas import Problem
from realname.service.api.web import CONTENT_SECURITY_POLICY

__all__ = ["DOCS_ASSETS", "install_docs", "problems"]

PROBLEM_REF = "#/components/schemas/Problem"
DOCS_URL = "/docs"
DOCS_ASSETS = {  # the only files of the bundle served, and their media types
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

_DESCRIPTIONS = {
    400: "The body cannot be read: IMAGE_CORRUPT, IMAGE_EMPTY, VIDEO_CORRUPT, VIDEO_EMPTY or "
    "INPUT_INVALID (a form that cannot be parsed)",
    401: "No token, or an invalid, expired or revoked one: AUTH_REQUIRED, AUTH_INVALID",
    403: "This role may not do it, or the resource is another outlet's: FORBIDDEN",
    404: "No such resource (or not visible to this user): NOT_FOUND",
    408: "The request body arrived too slowly: REQUEST_TIMEOUT (the connection is closed)",
    409: "The resource's state does not allow it: CONFLICT and its kinds (SESSION_EXPIRED, "
    "NONCE_INVALID, SESSION_USED, NUMBER_TAKEN, REVIEW_DECIDED, LAST_ADMIN, LOOKUP_CLOSED, "
    "DISPUTE_OPEN, DISPUTE_ANSWERED, ...)",
    413: "The upload is over the limit: PAYLOAD_TOO_LARGE, IMAGE_TOO_LARGE, VIDEO_TOO_LARGE",
    415: "The file is not an accepted type: IMAGE_TYPE, VIDEO_TYPE",
    422: "The request does not match the API (REQUEST_INVALID, with errors) or breaks a rule "
    "(CARD_REFUSED with reasons, ID_NUMBER_INVALID, MSISDN_INVALID, USERNAME_INVALID, "
    "IMAGE_DIMENSIONS, VIDEO_TOO_LONG, NO_FACE, CARD_NOT_FOUND, MULTIPLE_CARDS, "
    "CHIP_DATA_INVALID, LOOKUP_CONSENT_REQUIRED, ...)",
    429: "Too many attempts: RATE_LIMITED, ID_LOCKED, ACCOUNT_LOCKED, SESSION_RATE_LIMITED or "
    "LOOKUP_RATE_LIMITED; Retry-After says when",
    501: "This server does not read card photos (REALNAME_CARD_READER=none): CARD_READER_OFF",
    503: "All verification workers are busy: BUSY; Retry-After says when to try again",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    }
}

# The answers every authenticated route can give, and those of a route with a request body.
AUTHENTICATED = (401, 403, 422)
WITH_BODY = (400, 408, 422)
UPLOAD = (400, 408, 413, 415, 422)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status as a problem+json answer (one shared schema)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        answer: dict[str, Any] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}},
        }
        if status in (429, 503):
            answer["headers"] = _RETRY_AFTER
        responses[status] = answer
    return responses


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template=PROBLEM_REF)
        # FastAPI's own validation answer is replaced by the Problem one on every route.
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = document
    return app.openapi_schema


def _headers(media_type: str) -> dict[str, str]:
    return {
        "Content-Type": media_type,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="{docs}/assets/swagger-ui.css">
<link rel="icon" href="{docs}/assets/favicon-32x32.png">
<title>{title}</title>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{docs}/assets/swagger-ui-bundle.js"></script>
<script src="{docs}/init.js"></script>
</body>
</html>
"""

_INIT = """"use strict";
// Swagger UI on this origin: the document's URL comes from the page, nothing from elsewhere.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  persistAuthorization: false,
});
"""


def install_docs(app: FastAPI) -> None:
    """The OpenAPI document with the Problem schema, and Swagger UI at ``/docs`` (same
    origin). Build the app with ``docs_url=None, redoc_url=None``."""
    import html

    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    assets = Path(swagger_ui_path)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    page = _PAGE.format(
        docs=DOCS_URL,
        title=html.escape(f"{app.title} - API"),
        openapi=html.escape(app.openapi_url or "/openapi.json"),
    )

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=_headers("text/html; charset=utf-8"))

    @app.get(f"{DOCS_URL}/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(_INIT, headers=_headers("text/javascript; charset=utf-8"))

    @app.get(f"{DOCS_URL}/assets/{{name}}", include_in_schema=False)
    def docs_asset(name: str) -> FileResponse:
        media_type = DOCS_ASSETS.get(name)
        if media_type is None:
            raise HTTPException(status_code=404, detail="no such file")
        return FileResponse(assets / name, headers=_headers(media_type))
