"""``/api/v1/citizen/lookups``: the citizen's own look-up (一证通查), without a staff sign-in.

The look-up's secret token (``X-Lookup-Token``, given once by ``POST``) authorises its later
calls; a wrong or missing token answers 404, as an unknown look-up does. Nothing about the ID
is told before its face check passed, and the start, the challenge, a refused capture and the
429 are the same whatever the ID holds (:mod:`realname.service.usecases.citizen`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from realname.errors import BusyError, FaceError, RealnameError
from realname.service.api.deps import Context
from realname.service.api.openapi import UPLOAD, WITH_BODY, problems
from realname.service.api.routes.sessions import _challenge_out, _multipart, _upload
from realname.service.api.schemas import ID_NUMBER_PATTERN, ChallengeOut
from realname.service.usecases import citizen

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/citizen/lookups", tags=["citizen"])

Token = Annotated[
    str | None,
    Header(
        alias="X-Lookup-Token",
        description="The look-up's secret token (from POST /api/v1/citizen/lookups); wrong or "
        "missing: 404, as for an unknown look-up",
    ),
]


class LookupOut(BaseModel):
    id: str
    token: str = Field(description="Secret: send it as X-Lookup-Token on every later call")
    expires_at: datetime
    attempts_left: int


class CitizenNumberOut(BaseModel):
    ref: str = Field(description="Opaque, for this look-up only: names the number in a dispute")
    msisdn: str = Field(description="Masked but for the last four digits: *******1234")
    outlet: str
    bound_at: datetime
    disputed: bool = Field(description="An open dispute exists for this number")


class LookupCaptureOut(BaseModel):
    """``passed``: the ID's active numbers; ``refused``: none, with the face and liveness
    reason codes: never anything that depends on what the ID holds."""

    verdict: Literal["passed", "refused"]
    attempts_left: int
    numbers: list[CitizenNumberOut]
    reasons: list[str] = Field(default_factory=list)


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str = Field(min_length=1, max_length=64, description="A number's ref from the capture")
    note: str = Field("", max_length=500, description="Optional: what the citizen says")


class DisputeOpenedOut(BaseModel):
    id: str
    state: Literal["open"]
    msisdn: str
    outlet: str
    opened_at: datetime


_START_FORM = _multipart(
    {
        "id_number": {
            "type": "string",
            "pattern": ID_NUMBER_PATTERN,
            "description": "The ID number (GB 11643), read after Unicode NFKC: ID_NUMBER_INVALID",
        },
        "biometric_consent": {
            "type": "string",
            "enum": ["true"],
            "description": "The citizen's separate consent to the face check: the text true",
        },
    },
    {"portrait": "The ID card's portrait as the chip reader gives it (JPEG, PNG, BMP or WebP)"},
    required=("id_number", "biometric_consent", "portrait"),
)
_CAPTURE_FORM = _multipart(
    {"nonce": {"type": "string", "description": "The challenge's one-time nonce"}},
    {"clip": "The live clip (MP4, WebM, MOV, AVI or MPEG; 1-15 s, 240p-1080p)"},
)


@router.post(
    "",
    status_code=201,
    response_model=LookupOut,
    summary="Start a citizen look-up (一证通查)",
    openapi_extra=_START_FORM,
    responses=problems(*UPLOAD, 429, 503),
)
async def start_lookup(ctx: Context, request: Request) -> LookupOut:
    """Multipart: ``id_number``, ``biometric_consent`` (``true``, else 422
    ``LOOKUP_CONSENT_REQUIRED``) and the card's ``portrait`` (enrolled as a registration's:
    422 ``NO_FACE``, ``MULTIPLE_FACES``). Look-ups per ID and per client address are limited:
    429 ``LOOKUP_RATE_LIMITED`` with ``Retry-After``, the same whether or not the ID holds
    numbers. The answer's ``token`` is shown once."""
    portrait, fields = await _upload(request, "portrait", ctx.settings.max_image_bytes, "portrait")
    consent = fields.get("biometric_consent", "").strip().lower() == "true"
    address = request.client.host if request.client else "unknown"  # a proxy: its address
    checked = await run_in_threadpool(
        citizen.check_lookup, ctx, fields.get("id_number", ""), consent, portrait, address
    )
    if ctx.enroller is not None:
        try:
            await ctx.pool.run(ctx.enroller, portrait)
        except FaceError as refused:
            await run_in_threadpool(citizen.refuse_portrait, ctx, checked, refused)
            raise
        except BusyError:
            ctx.metrics.busy.inc()
            raise
    started = await run_in_threadpool(citizen.store_lookup, ctx, checked, portrait)
    return LookupOut(
        id=started.id,
        token=started.token,
        expires_at=started.expires_at,
        attempts_left=started.attempts_left,
    )


@router.post(
    "/{lookup_id}/challenge",
    response_model=ChallengeOut,
    summary="Reveal the look-up's liveness challenge: steps, prompt schedule, nonce",
    responses=problems(404, 409, 422),
)
def new_challenge(ctx: Context, lookup_id: str, token: Token = None) -> ChallengeOut:
    """As a registration's ``POST /api/v1/sessions/{id}/challenge`` (``session_id`` is the
    look-up's id): record ``capture_s`` at once and upload with the ``nonce``. 409
    ``LOOKUP_CLOSED`` once the look-up ended, ``CHALLENGE_LIMIT`` past
    ``REALNAME_MAX_CHALLENGES``."""
    return _challenge_out(citizen.reveal_challenge(ctx, lookup_id, token))


@router.post(
    "/{lookup_id}/capture",
    response_model=LookupCaptureOut,
    summary="Upload the live clip: passed (with the ID's numbers) or refused",
    openapi_extra=_CAPTURE_FORM,
    responses=problems(*UPLOAD, 404, 409, 503),
)
async def capture(
    ctx: Context, lookup_id: str, request: Request, token: Token = None
) -> LookupCaptureOut:
    """Multipart: the ``clip`` and the ``nonce``. Judged as a registration's capture, passed
    only at the operating threshold. ``passed``: the ID's active numbers, masked but for the
    last four digits, with the outlet and the date; ``refused``: no numbers, the reason codes
    and the attempts left (ask a new challenge). An unusable clip answers 422 (the attempt is
    spent)."""
    clip, fields = await _upload(request, "clip", ctx.settings.max_video_bytes, "clip")
    try:
        slot = ctx.pool.reserve()  # BUSY before the nonce is spent
    except RealnameError:
        ctx.metrics.busy.inc()
        raise
    try:
        ticket = await run_in_threadpool(
            citizen.begin_capture, ctx, lookup_id, token, fields.get("nonce", "")
        )
        try:
            outcome = await slot.run(citizen.judge, ctx, ticket.job(clip))
        except Exception as exc:
            await run_in_threadpool(citizen.abort_capture, ctx, ticket, exc)
            raise
    finally:
        slot.release_unused()
    del clip
    result = await run_in_threadpool(citizen.finish_capture, ctx, ticket, outcome)
    return LookupCaptureOut(
        verdict="passed" if result.verdict == "passed" else "refused",
        attempts_left=result.attempts_left,
        numbers=[
            CitizenNumberOut(
                ref=n.ref,
                msisdn=n.msisdn,
                outlet=n.outlet,
                bound_at=n.bound_at,
                disputed=n.disputed,
            )
            for n in result.numbers
        ],
        reasons=list(result.reasons),
    )


@router.post(
    "/{lookup_id}/disputes",
    status_code=201,
    response_model=DisputeOpenedOut,
    summary="Say a number is not mine: open a dispute",
    responses=problems(*WITH_BODY, 404, 409),
)
def open_dispute(
    ctx: Context, lookup_id: str, body: DisputeIn, token: Token = None
) -> DisputeOpenedOut:
    """After a passed capture, before ``expires_at``: the number (its ``ref``) goes to the
    supervisors of its outlet, who must answer. 409 ``LOOKUP_NOT_PASSED`` before a pass,
    ``LOOKUP_CLOSED`` after the expiry, ``DISPUTE_OPEN`` when the number already has one."""
    opened = citizen.open_dispute(ctx, lookup_id, token, body.ref, body.note)
    return DisputeOpenedOut(
        id=opened.id,
        state="open",
        msisdn=opened.msisdn,
        outlet=opened.outlet,
        opened_at=opened.opened_at,
    )
