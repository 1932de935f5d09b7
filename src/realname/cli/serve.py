"""Running the service: ``serve`` (uvicorn, hardened against slow clients) and ``demo`` (a
match on packaged images, then a dev-mode demo service with its outlet and logins). Both take
``--ssl-keyfile``/``--ssl-certfile`` for HTTPS, which browsers require for the camera page on
any machine but the server's own."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from realname.cli.common import (
    console,
    err_console,
    one_line_errors,
    require_file,
    service_context,
    service_settings,
)
from realname.cli.match import run_match
from realname.errors import InputError

if TYPE_CHECKING:
    from realname.service.settings import ServiceSettings

__all__ = ["DEMO_HELP", "HTTPS_HELP", "demo", "run_uvicorn", "serve"]


#: The end of ``serve --help`` and ``demo --help``, before the exit codes.
HTTPS_HELP = (
    "Browsers open the camera only in a secure context: HTTPS, or http://127.0.0.1 on the "
    "server itself. For the camera page on another machine, serve HTTPS with --ssl-keyfile and "
    "--ssl-certfile (and --host 0.0.0.0), or put a reverse proxy that terminates TLS in front."
)
DEMO_HELP = (
    "It prints the logins, the fixed challenge when REALNAME_DEV_FIXED_CHALLENGE sets one, and "
    "how to open the camera page from another machine. " + HTTPS_HELP
)

KeyfileOpt = Annotated[
    Path | None,
    typer.Option(
        "--ssl-keyfile",
        help="TLS private key (PEM): serve HTTPS; needs --ssl-certfile too",
        readable=False,
    ),
]
CertfileOpt = Annotated[
    Path | None,
    typer.Option("--ssl-certfile", help="TLS certificate (PEM) for --ssl-keyfile", readable=False),
]


def run_uvicorn(
    application: Any,
    host: str,
    port: int,
    settings: ServiceSettings,
    *,
    ssl_keyfile: Path | None = None,
    ssl_certfile: Path | None = None,
) -> None:
    """uvicorn without its access log (raw paths may hold a mobile number): the service logs
    each request by its route template instead.

    Against slow or idle clients: a request head must arrive within ``REALNAME_BODY_TIMEOUT_S``
    of the connection opening (uvicorn itself arms no timer before the head), each piece of a
    body too (the app's middleware), a kept-alive connection idles 5 s at most, a head is at
    most 16 KiB, and past ``REALNAME_MAX_CONNECTIONS`` open connections and requests uvicorn
    answers 503. On SIGTERM, open requests get ``REALNAME_SHUTDOWN_GRACE_S`` before they are
    cancelled; the app's shut-down then waits at most as long again for running verifications,
    and never for a runaway worker. With ``ssl_keyfile`` and ``ssl_certfile`` it serves HTTPS.
    Forwarded headers are believed from ``REALNAME_FORWARDED_ALLOW_IPS`` only (none if empty).
    """
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
        proxy_headers=bool(settings.forwarded_allow_ips.strip()),
        forwarded_allow_ips=settings.forwarded_allow_ips.strip() or None,
        ssl_keyfile=None if ssl_keyfile is None else str(ssl_keyfile),
        ssl_certfile=None if ssl_certfile is None else str(ssl_certfile),
    )


def _require_tls(keyfile: Path | None, certfile: Path | None) -> None:
    """Both TLS files or neither, readable, and a certificate with its (unencrypted) key:
    checked before anything starts, so that uvicorn never fails on them with a traceback."""
    import ssl

    if (keyfile is None) != (certfile is None):
        raise InputError("HTTPS needs both --ssl-keyfile and --ssl-certfile")
    if keyfile is None or certfile is None:
        return
    require_file(keyfile)
    require_file(certfile)
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile, password=lambda: b"")
    except ssl.SSLError as exc:
        raise InputError(
            f"{certfile} and {keyfile} are not a PEM certificate and its unencrypted private "
            f"key ({exc.reason or exc.strerror})"
        ) from None


def _url(host: str, port: int, tls: bool) -> str:
    """The address to open on this machine: a wildcard host is reached at 127.0.0.1."""
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    return f"{'https' if tls else 'http'}://{shown_host}:{port}"


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    ssl_keyfile: KeyfileOpt = None,
    ssl_certfile: CertfileOpt = None,
) -> None:
    """Run the registration service (uvicorn); settings from REALNAME_* variables or .env."""
    from realname.service.app import create_app

    with one_line_errors():
        _require_tls(ssl_keyfile, ssl_certfile)
        settings = service_settings()
        application = create_app(settings)
    run_uvicorn(
        application, host, port, settings, ssl_keyfile=ssl_keyfile, ssl_certfile=ssl_certfile
    )


def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the demo service afterwards")
    ] = True,
    database: Annotated[
        Path, typer.Option("--database", help="SQLite file of the demo service")
    ] = Path("realname-demo.db"),
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every address)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the demo service")] = 8000,
    ssl_keyfile: KeyfileOpt = None,
    ssl_certfile: CertfileOpt = None,
) -> None:
    """Match a chip portrait against 'live' frames, then serve a dev-mode demo service with a
    demo outlet, a clerk, a supervisor and an auditor (on 127.0.0.1 unless --host)."""
    tls = ssl_keyfile is not None
    with one_line_errors():
        _require_tls(ssl_keyfile, ssl_certfile)
        settings = _demo_settings(database)
        challenge = _demo_challenge(settings)
    _demo_match(_demo_images(database))
    logins = _demo_people(settings)
    url = _url(host, port, tls)
    console.print(f"\n[bold]Demo service[/] (dev mode, {database}): {url}  (API docs: {url}/docs)")
    for role, (username, password) in logins.items():
        console.print(f"  {role:<10} login [bold]{username}[/]  password [bold]{password}[/]")
    console.print(
        f"  $ curl -s{'k' if tls else ''} -d username={logins['clerk'][0]} "
        f"-d password={logins['clerk'][1]} {url}/api/v1/auth/token"
    )
    if challenge is not None:
        console.print(
            f"  fixed challenge (REALNAME_DEV_FIXED_CHALLENGE): [bold]{challenge}[/] "
            "(every capture asks for it)",
            soft_wrap=True,
        )
    for line in _camera_advice(host, port, tls):
        console.print(line, soft_wrap=True)
    if not serve_after:
        return
    from realname.service.app import create_app

    with one_line_errors():
        application = create_app(settings)
    run_uvicorn(
        application, host, port, settings, ssl_keyfile=ssl_keyfile, ssl_certfile=ssl_certfile
    )


def _camera_advice(host: str, port: int, tls: bool) -> list[str]:
    """How to open the camera page from another machine: browsers allow the camera only in a
    secure context, HTTPS or http://127.0.0.1 on the machine itself."""
    local = host in ("127.0.0.1", "localhost", "::1")
    listen = " (add --host 0.0.0.0: it listens on this machine only)" if local else ""
    if tls:
        return [
            f"  camera from another machine: open https://<this machine's name>:{port}/{listen}; "
            "the certificate must name that machine, or that browser must trust it"
        ]
    reach = "" if local else "; other machines reach this port, but not the camera"
    return [
        "  camera from another machine: browsers allow it only over HTTPS (plain http only on "
        f"this machine, at http://127.0.0.1:{port}/{reach})",
        "    serve HTTPS: make demo HOST=0.0.0.0 SSL_KEYFILE=key.pem SSL_CERTFILE=cert.pem "
        f"(realname demo --host 0.0.0.0 --ssl-keyfile key.pem --ssl-certfile cert.pem), then "
        f"open https://<this machine's name>:{port}/; or an HTTPS reverse proxy in front of "
        f"port {port}",
    ]


def _demo_challenge(settings: ServiceSettings) -> Any:
    """The dev-mode fixed challenge as every capture will be asked for it (with the policy's
    fixed schedule when it names none), or None."""
    from realname.liveness.challenge import Challenge, fixed_schedule
    from realname.policy import load_policy
    from realname.service.context import fixed_challenge

    challenge = fixed_challenge(settings)
    if challenge is None or challenge.schedule is not None:
        return challenge
    live = load_policy(settings.policy_file).liveness
    if live is None:
        return challenge
    return Challenge(challenge.steps, fixed_schedule(len(challenge.steps), live.prompts))


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
    run_match(portrait, frames, as_json=False, engine=None, fmr=None)
    other = folder / "someone_else.jpg"
    cv2.imwrite(str(other), cv2.cvtColor(skdata.camera(), cv2.COLOR_GRAY2BGR))  # type: ignore[no-untyped-call]
    console.print(f"\n$ realname match {portrait.name} {other.name}   (scikit-image's cameraman)")
    run_match(portrait, [other], as_json=False, engine=None, fmr=None)
