"""Browser fixtures: the app in a real uvicorn server on 127.0.0.1, Debian's chromium driven by
Playwright with a fake camera that plays a real clip (.y4m written at test time), screenshots
as artefacts, and a guard that no request leaves 127.0.0.1.

Chromium is the system one (``/usr/bin/chromium``, or ``REALNAME_CHROMIUM``); Playwright never
downloads a browser here. Without it (or without the playwright package) browser tests skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import cv2
import numpy as np
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from realname.service import security
from tests.conftest import REPO

CHROMIUM = os.environ.get("REALNAME_CHROMIUM", "/usr/bin/chromium")
HOST = "127.0.0.1"
FPS = 15
WIDTH, HEIGHT = 640, 480


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


# ------------------------------------------------------------------ the fake camera's clip


def letterbox(frame: np.ndarray) -> np.ndarray:
    """Scale to fit 640x480 without stretching; the margins repeat the edge pixels (black bars
    would draw two straight vertical edges beside the face, which the service rightly reads as
    a screen border)."""
    height, width = frame.shape[:2]
    scale = min(WIDTH / width, HEIGHT / height)
    w, h = round(width * scale), round(height * scale)
    resized = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
    top, left = (HEIGHT - h) // 2, (WIDTH - w) // 2
    return cv2.copyMakeBorder(
        resized, top, HEIGHT - h - top, left, WIDTH - w - left, cv2.BORDER_REPLICATE
    )


def write_y4m(frames: list[np.ndarray], fps: float, path: Path, start_s: float) -> float:
    """The clip from ``start_s`` on, letterboxed to 640x480 and resampled to 15 fps, as a .y4m
    (I420) for ``--use-file-for-fake-video-capture``. Returns its length in seconds (the
    period at which the fake camera loops it)."""
    times = np.arange(start_s, len(frames) / fps, 1 / FPS)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for t in times:
            frame = frames[min(round(t * fps), len(frames) - 1)]
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(letterbox(frame), cv2.COLOR_BGR2YUV_I420).tobytes())
    return len(times) / FPS


# ------------------------------------------------------------------ the server


@dataclass
class Tapped:
    """One request body the browser sent, as the server received it."""

    content_type: str
    body: bytes
    at: float


class BodyTap:
    """ASGI middleware that keeps the bodies of POSTs whose path ends with one of ``suffixes``
    (what MediaRecorder really uploaded: Chromium does not hand a blob body to Playwright)."""

    def __init__(self, app: ASGIApp, suffixes: tuple[str, ...] = ("/capture",)) -> None:
        self.app = app
        self.suffixes = suffixes
        self.bodies: list[Tapped] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not str(scope["path"]).endswith(self.suffixes)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        chunks: list[bytes] = []
        tapped = Tapped(headers.get(b"content-type", b"").decode(), b"", time.perf_counter())
        self.bodies.append(tapped)

        async def tee() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    tapped.body = b"".join(chunks)
            return message

        await self.app(scope, tee, send)


@dataclass
class LiveServer:
    app: FastAPI
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    tap: BodyTap
    sock: socket.socket

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def start_server(app: FastAPI) -> LiveServer:
    """``app`` in uvicorn on 127.0.0.1 and a free port, in a background thread; returns when
    the app's start-up (migrations, engines) is done."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    tap = BodyTap(app)
    config = uvicorn.Config(
        tap, host=HOST, port=port, log_level="warning", lifespan="on", ws="none", http="h11"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return LiveServer(app, f"http://{HOST}:{port}", server, thread, tap, sock)


# ------------------------------------------------------------------ the browser


def chromium_args(y4m: Path | None) -> list[str]:
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
    ]
    if y4m is not None:
        args.append(f"--use-file-for-fake-video-capture={y4m}")
    return args


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e .[dev])")
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@dataclass
class Browsing:
    """A browser on one fake-camera clip; every request's URL is kept for the host check."""

    browser: Any
    urls: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def context(self, locale: str = "zh-CN", width: int = 1280, height: int = 800) -> Any:
        context = self.browser.new_context(
            locale=locale, viewport={"width": width, "height": height}
        )
        context.on("request", lambda request: self.urls.append(request.url))
        context.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        context.on("weberror", lambda e: self.console_errors.append(str(e.error)))
        return context

    def foreign_hosts(self) -> list[str]:
        """Requests whose host is not 127.0.0.1 (``blob:`` URLs are judged by their origin)."""
        bad = []
        for url in self.urls:
            if url.startswith("data:"):
                continue
            inner = url[len("blob:") :] if url.startswith("blob:") else url
            if urlparse(inner).hostname != HOST:
                bad.append(url)
        return bad


@pytest.fixture
def browser_on(playwright_driver: Any) -> Iterator[Callable[[Path | None], Browsing]]:
    """``browser_on(y4m)``: a chromium whose camera plays ``y4m`` (closed after the test)."""
    opened: list[Browsing] = []

    def launch(y4m: Path | None) -> Browsing:
        browser = playwright_driver.chromium.launch(
            executable_path=CHROMIUM, args=chromium_args(y4m), headless=True
        )
        browsing = Browsing(browser)
        opened.append(browsing)
        return browsing

    yield launch
    for browsing in opened:
        browsing.browser.close()


# ------------------------------------------------------------------ artefacts


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots and measurements: ``REALNAME_ARTIFACTS`` or ``test-artifacts/web/``."""
    root = Path(os.environ.get("REALNAME_ARTIFACTS", REPO / "test-artifacts" / "web"))
    root.mkdir(parents=True, exist_ok=True)
    return root


class Shots:
    """Numbered screenshots of one test at the desktop size and, when asked, the tablet size."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def __call__(self, page: Any, name: str, both: bool = True) -> None:
        self.count += 1
        # from the top: a full-page shot of a scrolled page draws the sticky bar mid-page
        page.evaluate("() => window.scrollTo(0, 0)")
        size = page.viewport_size
        label = f"{size['width']}x{size['height']}"
        page.screenshot(
            path=str(self.folder / f"{self.count:02d}-{name}-{label}.png"), full_page=True
        )
        if both:
            other = (768, 1024) if size["width"] != 768 else (1280, 800)
            page.set_viewport_size({"width": other[0], "height": other[1]})
            page.screenshot(
                path=str(self.folder / f"{self.count:02d}-{name}-{other[0]}x{other[1]}.png"),
                full_page=True,
            )
            page.set_viewport_size(size)


@pytest.fixture
def shots(artifacts: Path, request: pytest.FixtureRequest) -> Shots:
    return Shots(artifacts / re.sub(r"\W+", "_", request.node.name))


def save_measurements(artifacts: Path, name: str, values: dict[str, Any]) -> None:
    path = artifacts / "measurements.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = values
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
