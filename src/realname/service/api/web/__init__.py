"""The outlet's web pages: sign-in, the registration desk and the review queue.

Plain HTML, CSS and JavaScript in ``static/`` (no build step), served by the app itself under
``/web/`` (``/`` redirects there). Nothing loads from elsewhere, and the Content-Security-Policy
on every page says so to the browser too: scripts, styles, images and requests come from this
origin only; images may also be ``blob:`` URLs (the review evidence, fetched with the bearer
token) and the camera preview a ``mediastream``.

    /web/               sign-in (clerks and supervisors)
    /web/desk.html      the registration desk (clerks)
    /web/reviews.html   the review queue (supervisors)
    /web/i18n/*.json    the zh-CN and en dictionaries
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["PAGES", "STATIC_DIR", "WEB_PREFIX", "mount_pages"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
WEB_PREFIX = "/web"
PAGES = ("index.html", "desk.html", "reviews.html", "lookup.html", "reports.html")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# Set explicitly: the platform's MIME table differs between machines (``.js`` was
# ``application/javascript`` in older Pythons).
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


class PageFiles(StaticFiles):
    """Static files with the pages' security headers and explicit content types. Pages and
    scripts are revalidated on every load (``no-cache``), so an upgrade takes effect at once."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = MEDIA_TYPES.get(Path(str(full_path)).suffix.lower())
        if media_type is not None:
            response.headers["content-type"] = media_type
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_pages(app: FastAPI) -> None:
    """Serve the pages under ``/web/`` and send ``/`` there."""

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{WEB_PREFIX}/", status_code=307)

    app.mount(WEB_PREFIX, PageFiles(directory=STATIC_DIR, html=True), name="web")
