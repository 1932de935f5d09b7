"""Running the service: ``serve`` (uvicorn, hardened against slow clients) and ``demo`` (a
match on packaged images, then a dev-mode demo service with its outlet and logins)."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from realname.cli.common import (
    console,
    err_console,
    one_line_errors,
    service_context,
    service_settings,
)
from realname.cli.match import match

if TYPE_CHECKING:
    from realname.service.settings import ServiceSettings

__all__ = ["demo", "run_uvicorn", "serve"]


def run_uvicorn(application: Any, host: str, port: int, settings: ServiceSettings) -> None:
    """uvicorn without its access log (raw paths may hold a mobile number): the service logs
    each request by its route template instead.

    Against slow or idle clients: a request head must arrive within ``REALNAME_BODY_TIMEOUT_S``
    of the connection opening (uvicorn itself arms no timer before the head), each piece of a
    body too (the app's middleware), a kept-alive connection idles 5 s at most, a head is at
    most 16 KiB, and past ``REALNAME_MAX_CONNECTIONS`` open connections and requests uvicorn
    answers 503. On SIGTERM, open requests get ``REALNAME_SHUTDOWN_GRACE_S`` before they are
    cancelled; the app's shut-down then waits at most as long again for running verifications,
    and never for a runaway worker."""
    import logging

    import uvicorn

    from realname.service.server import header_timeout_protocol

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        http=header_timeout_protocol(settings.body_timeout_s),
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
    )


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Run the registration service (uvicorn); settings from REALNAME_* variables or .env."""
    from realname.service.app import create_app

    with one_line_errors():
        settings = service_settings()
        application = create_app(settings)
    run_uvicorn(application, host, port, settings)


def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the demo service afterwards")
    ] = True,
    database: Annotated[
        Path, typer.Option("--database", help="SQLite file of the demo service")
    ] = Path("realname-demo.db"),
    port: Annotated[int, typer.Option(help="Port of the demo service")] = 8000,
) -> None:
    """Match a chip portrait against 'live' frames, then serve a dev-mode demo service with a
    demo outlet, a clerk, a supervisor and an auditor on 127.0.0.1."""
    with one_line_errors():
        settings = _demo_settings(database)
    _demo_match(_demo_images(database))
    logins = _demo_people(settings)
    url = f"http://127.0.0.1:{port}"
    console.print(f"\n[bold]Demo service[/] (dev mode, {database}): {url}  (API docs: {url}/docs)")
    for role, (username, password) in logins.items():
        console.print(f"  {role:<10} login [bold]{username}[/]  password [bold]{password}[/]")
    console.print(
        f"  $ curl -s -d username={logins['clerk'][0]} -d password={logins['clerk'][1]} "
        f"{url}/api/v1/auth/token"
    )
    if not serve_after:
        return
    from realname.service.app import create_app

    with one_line_errors():
        application = create_app(settings)
    run_uvicorn(application, "127.0.0.1", port, settings)


def _demo_settings(database: Path) -> ServiceSettings:
    return service_settings(dev_mode=True, database_url=f"sqlite:///{database.resolve()}")


def _demo_people(settings: ServiceSettings) -> dict[str, tuple[str, str]]:
    """The demo outlet, a clerk, a supervisor and an auditor, with fresh passwords each run."""
    import secrets
    import string

    from realname.errors import ConflictError
    from realname.records.audit import Actor
    from realname.service.usecases.people import create_outlet, create_user, set_password

    logins: dict[str, tuple[str, str]] = {}
    with one_line_errors():
        ctx = service_context(settings)
        actor = Actor("demo")
        with suppress(ConflictError):
            create_outlet(ctx.database, ctx.audit, actor, "Demo outlet", ctx.now())
        for role in ("clerk", "supervisor", "auditor"):
            alphabet = string.ascii_letters + string.digits  # nothing a shell or curl misreads
            username = f"demo-{role}"
            password = "".join(secrets.choice(alphabet) for _ in range(16))
            try:
                create_user(
                    ctx.database,
                    ctx.audit,
                    actor,
                    username=username,
                    password=password,
                    role=role,
                    outlet=None if role == "auditor" else "Demo outlet",
                    now=ctx.now(),
                )
            except ConflictError:
                set_password(ctx.database, ctx.audit, actor, username, password, ctx.now())
            logins[role] = (username, password)
        ctx.database.dispose()
    return logins


def _demo_images(database: Path) -> Path:
    """The demo's own folder for its images, beside its database (``realname-demo-images/``
    next to ``realname-demo.db``); each run overwrites them. Never the system temp folder."""
    return database.resolve().parent / f"{database.stem}-images"


def _demo_match(folder: Path) -> None:
    """Match an ID-style chip portrait cut from a packaged photo against three 'live' frames
    (the images are written to ``folder``, which the demo owns)."""
    import cv2
    import numpy as np

    from realname.evaluation.datasets import to_chip

    try:
        from skimage import data as skdata
    except ImportError:
        err_console.print("the demo image ships in scikit-image: run `make install` first")
        raise typer.Exit(3) from None
    photo = np.asarray(cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR), dtype=np.uint8)  # type: ignore[no-untyped-call]
    folder.mkdir(parents=True, exist_ok=True)
    portrait = folder / "id_portrait_102x126.png"
    cv2.imwrite(str(portrait), to_chip(photo[0:300, 100:340]))
    frames = []
    for i, (gain, shift) in enumerate([(1.0, 0), (0.8, 10), (1.15, -10)]):
        frame = cv2.convertScaleAbs(cv2.resize(photo, (640, 640))[80:560], alpha=gain, beta=shift)
        frames.append(folder / f"frame{i}.jpg")
        cv2.imwrite(str(frames[-1]), frame)
    console.print(f"images written to {folder} (scikit-image's astronaut photo)")
    console.print(f"$ realname match {portrait.name} {' '.join(f.name for f in frames)}")
    match(portrait, frames, as_json=False, engine=None, fmr=None)
    other = folder / "someone_else.jpg"
    cv2.imwrite(str(other), cv2.cvtColor(skdata.camera(), cv2.COLOR_GRAY2BGR))  # type: ignore[no-untyped-call]
    console.print(f"\n$ realname match {portrait.name} {other.name}   (scikit-image's cameraman)")
    match(portrait, [other], as_json=False, engine=None, fmr=None)
