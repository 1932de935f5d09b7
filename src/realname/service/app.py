"""The FastAPI app: ``create_app(settings)``.

Building the app validates the settings and keys (refusing to start outside dev mode without
real keys, or with a fixed challenge). Its start-up (lifespan) migrates the database to the
latest revision, loads the policy and the engines once, then starts two periodic tasks: signing
the audit chain's head and enforcing retention. Shut-down signs the head once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from realname.cards.base import IdCardReader
from realname.engines.base import FaceDetector
from realname.errors import PolicyError, SetupError
from realname.face.framing import FramingResult
from realname.policy import MatchPolicy, load_policy
from realname.service.api.openapi import install_docs
from realname.service.api.problems import ObservabilityMiddleware, install_error_handlers
from realname.service.api.routes import (
    admin,
    audit,
    auth,
    card_photo,
    health,
    reports,
    reviews,
    sessions,
    subscriptions,
)
from realname.service.api.routes import citizen as citizen_routes
from realname.service.api.routes import disputes as dispute_routes
from realname.service.api.routes import rules as rules_routes
from realname.service.api.web import mount_pages
from realname.service.context import Clock, Framer, ServiceContext, fixed_challenge
from realname.service.keys import load_keys
from realname.service.metrics import Metrics
from realname.service.settings import ServiceSettings
from realname.service.signin import SignInGuard
from realname.service.store.audit_store import AuditStore
from realname.service.store.db import Database
from realname.service.store.migrate import upgrade
from realname.service.store.rates import SqlRates
from realname.service.throttles import LookupThrottle, SessionThrottle
from realname.service.usecases.registration import release_stale_captures
from realname.service.verification import EngineVerifier, Enroller, Verifier
from realname.service.workers import VerificationPool

__all__ = ["build_context", "create_app"]

log = logging.getLogger("realname.service")


def build_context(settings: ServiceSettings, clock: Clock | None = None) -> ServiceContext:
    """Validate settings and keys and wire the parts (nothing is loaded or migrated yet)."""
    challenge = fixed_challenge(settings)
    keys = load_keys(settings)
    database = Database(
        settings.database_url.get_secret_value(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pooler=settings.database_pooler,
    )
    rates = SqlRates(database)  # every instance on this database spends the same budgets
    ctx = ServiceContext(
        settings=settings,
        database=database,
        keys=keys,
        audit=AuditStore(database, keys.signing_key),
        pool=VerificationPool(settings.workers, settings.queue_limit, settings.busy_retry_after_s),
        metrics=Metrics(),
        signin=SignInGuard.from_settings(settings, rates),
        session_throttle=SessionThrottle.from_settings(settings, rates),
        lookup_throttle=LookupThrottle.from_settings(settings, rates),
        challenge_override=challenge,
    )
    if clock is not None:
        ctx.clock = clock
    return ctx


def _check_review_band(policy: MatchPolicy, settings: ServiceSettings) -> None:
    engine = settings.face_embedder
    operating = policy.operating_point(engine, settings.match_fmr)
    review = policy.operating_point(engine, settings.review_fmr)
    if review.threshold >= operating.threshold:
        raise PolicyError(
            f"REALNAME_REVIEW_FMR {settings.review_fmr} is not looser than the operating point "
            f"FMR {operating.fmr_target}: the review band would be empty"
        )


def _check_fixed_schedule(ctx: ServiceContext) -> None:
    """A dev-mode fixed challenge must fit the page's recording (``prompts.capture_s``)."""
    fixed = ctx.challenge_override
    if fixed is None:
        return
    prompts = ctx.prompts
    needed = ctx.new_challenge().schedule
    if needed is not None and needed.min_capture_s(prompts.tail_s) > prompts.capture_s:
        raise SetupError(
            f"REALNAME_DEV_FIXED_CHALLENGE needs a {needed.min_capture_s(prompts.tail_s):.2f} s "
            f"recording; the page records {prompts.capture_s:.2f} s"
        )


def _framer(policy: MatchPolicy, ctx: ServiceContext, detector: FaceDetector) -> Framer:
    """Framing advice on a preview still, with the detector loaded at start-up (a few ms)."""
    from realname.face.framing import assess_framing
    from realname.media.image import decode_image

    live = policy.liveness
    if live is None:
        raise PolicyError(f"policy {policy.version} has no liveness section")
    # The portrait's limits (pixels, aspect ratio), with the preview's smaller byte limit.
    limits = dataclasses.replace(ctx.image_limits, max_bytes=ctx.settings.max_framing_bytes)

    def advise(data: bytes) -> FramingResult:
        return assess_framing(
            decode_image(data, limits),
            detector,
            policy.quality,
            live.framing,
            analysis_long_side=live.analysis_long_side,
            search=policy.search,
        )

    return advise


def _detector(name: str) -> FaceDetector:
    from realname.engines import create_detector

    detector = create_detector(name)
    detector.load()
    return detector


def _real_verifier(policy: MatchPolicy, ctx: ServiceContext) -> EngineVerifier:
    from realname.engines import load_engines

    s = ctx.settings
    engines = load_engines(s.face_detector, s.face_embedder, s.landmarker)
    return EngineVerifier(
        engines,
        policy,
        ctx.video_limits,
        ctx.image_limits,
        fmr=s.match_fmr,
        capture_timeout_s=s.capture_timeout_s,
    )


async def _every(seconds: float, job: Callable[[], object], name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await anyio.to_thread.run_sync(job)
        except Exception as exc:  # a failed round must not stop the loop
            log.error("periodic %s failed: %s", name, type(exc).__name__)


def _card_reader(name: str) -> IdCardReader:
    from realname.cards import create_card_reader

    reader = create_card_reader(name)
    reader.load()
    return reader


async def _start(
    ctx: ServiceContext,
    verifier: Verifier | None,
    enroller: Enroller | None = None,
    card_reader: IdCardReader | None = None,
) -> None:
    """Migrate, release what a crash left running, load the policy and the engines once."""
    settings = ctx.settings
    await anyio.to_thread.run_sync(upgrade, ctx.database)
    await anyio.to_thread.run_sync(ctx.audit.check_key)  # a key this chain was handed over to
    # Captures a crash left running (kill -9 mid-capture) are released before serving.
    await anyio.to_thread.run_sync(release_stale_captures, ctx)
    policy = await anyio.to_thread.run_sync(load_policy, settings.policy_file)
    _check_review_band(policy, settings)
    ctx.policy = policy
    _check_fixed_schedule(ctx)
    if verifier is not None:
        ctx.verifier, ctx.enroller = verifier, enroller
        detector = await anyio.to_thread.run_sync(_detector, settings.face_detector)
    else:
        real = await anyio.to_thread.run_sync(_real_verifier, policy, ctx)
        ctx.verifier, detector = real, real.engines.detector  # one detector for both
        ctx.enroller = real.enrol
    ctx.framer = _framer(policy, ctx, detector)
    if card_reader is not None:
        ctx.card_reader = card_reader
    elif verifier is None and settings.card_reader != "none":  # a test's fakes: none unless given
        ctx.card_reader = await anyio.to_thread.run_sync(_card_reader, settings.card_reader)
    ctx.models_loaded = True
    log.info("realname service ready (keys from %s)", ctx.keys.source)


def _periodic_tasks(ctx: ServiceContext) -> list[asyncio.Task[None]]:
    """Signing the audit head and enforcing retention, each on its own interval."""
    from realname.service.usecases.purge import purge

    settings = ctx.settings
    return [
        asyncio.create_task(
            _every(settings.audit_sign_interval_s, ctx.audit.sign, "audit signing")
        ),
        asyncio.create_task(_every(settings.purge_interval_s, lambda: purge(ctx), "purge")),
    ]


async def _stop(ctx: ServiceContext, tasks: list[asyncio.Task[None]]) -> None:
    """Stop the periodic tasks and the pools, sign the audit head once more, close the pool."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    ctx.models_loaded = False
    # Waits at most REALNAME_SHUTDOWN_GRACE_S for running verifications: a runaway
    # worker is a daemon thread, left behind rather than waited for.
    await anyio.to_thread.run_sync(ctx.pool.shutdown, float(ctx.settings.shutdown_grace_s))
    await anyio.to_thread.run_sync(ctx.signin.pool.shutdown, 1.0)
    await anyio.to_thread.run_sync(ctx.audit.sign)
    ctx.database.dispose()


def create_app(
    settings: ServiceSettings | None = None,
    *,
    verifier: Verifier | None = None,
    enroller: Enroller | None = None,
    card_reader: IdCardReader | None = None,
    clock: Clock | None = None,
    periodic_tasks: bool = True,
) -> FastAPI:
    """The registration service. ``verifier`` replaces the real engines (tests inject a
    deterministic fake), and ``enroller`` with it their enrolment of a card's portrait (none: the
    portrait is only decoded); ``card_reader`` the ID card reader of ``REALNAME_CARD_READER``
    (with an injected ``verifier`` there is none unless one is given: card photos then answer
    ``CARD_READER_OFF``);
    ``clock`` replaces the wall clock (tests travel in time)."""
    settings = settings or ServiceSettings()
    ctx = build_context(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await _start(ctx, verifier, enroller, card_reader)
        except BaseException:
            ctx.database.dispose()  # a refused start leaves no connection open
            raise
        tasks = _periodic_tasks(ctx) if periodic_tasks else []
        try:
            yield
        finally:
            await _stop(ctx, tasks)

    app = FastAPI(
        title="realname registration service",
        version="0.1.0",
        summary="Telecom real-name registration with portrait matching (issue 4).",
        lifespan=lifespan,
        docs_url=None,  # /docs is served from this origin by install_docs; ReDoc is off
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    app.add_middleware(
        ObservabilityMiddleware, metrics=ctx.metrics, body_timeout_s=settings.body_timeout_s
    )
    for module in (health, auth, sessions, card_photo, subscriptions, reviews, audit, admin):
        app.include_router(module.router)
    app.include_router(reports.router)  # /api/v1/reports, /api/v1/flags: inspection
    app.include_router(citizen_routes.router)  # /api/v1/citizen/lookups: 一证通查
    app.include_router(dispute_routes.router)  # /api/v1/disputes: "not mine", answered
    app.include_router(rules_routes.router)  # GET /api/v1/rules: the pages' rules
    mount_pages(app)
    install_docs(app)
    return app
