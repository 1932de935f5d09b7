"""``/api/v1/sessions``: consent, the ID card, live captures (clerks); reading (all roles)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from realname.cards.chip import parse_chip_json
from realname.errors import (
    BusyError,
    FaceError,
    PayloadTooLargeError,
    RealnameError,
    RequestInvalidError,
    SetupError,
)
from realname.liveness.challenge import StepResult
from realname.service.api.deps import Clerk, Context, Reader
from realname.service.api.openapi import AUTHENTICATED, UPLOAD, WITH_BODY, problems
from realname.service.api.schemas import (
    CaptureOut,
    ChallengeOut,
    ChallengeStepOut,
    ConsentIn,
    FramingOut,
    IdCardForm,
    SessionOut,
    StepOut,
)
from realname.service.api.uploads import OVERHEAD_BYTES, read_multipart
from realname.service.usecases import registration
from realname.service.usecases.card_photo import audit_corrections, parse_corrected
from realname.service.usecases.lifecycle import SessionState
from realname.service.usecases.registration import ChallengeView, IdCardInput, SessionView

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])
CHIP_LIMIT = 2_000_000  # a chip reader's JSON with its base64 portrait
log = logging.getLogger("realname.service")


def _out(view: SessionView) -> SessionOut:
    return SessionOut(
        id=view.id,
        state=view.state,
        outlet_id=view.outlet_id,
        created_at=view.created_at,
        expires_at=view.expires_at,
        biometric_consent=view.biometric_consent,
        attempts_left=view.attempts_left,
        challenges_issued=view.challenges_issued,
        id_number_masked=view.id_number_masked,
        verdict=view.verdict,
        reasons=list(view.reasons),
        manual_alternative=view.state == SessionState.MANUAL,
        card_accepted=view.card_accepted,
        name_masked=view.name_masked,
        challenges_left=view.challenges_left,
        challenge_expires_at=view.challenge_expires_at,
        challenge_answer_by=view.challenge_answer_by,
        portrait_source=view.portrait_source,
    )


def _validation(exc: ValidationError) -> RequestInvalidError:
    errors = [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]
    return RequestInvalidError("the form does not match the API", errors=errors)


async def _upload(
    request: Request, name: str, limit: int, what: str
) -> tuple[bytes, dict[str, str]]:
    """The multipart body's file ``name`` (at most ``limit`` bytes: 413 beyond) and its fields."""
    body = await read_multipart(request, limit + OVERHEAD_BYTES)
    data = body.files.get(name)
    if data is None:
        raise RequestInvalidError(f"the {what} file is missing", field=name)
    if len(data) > limit:
        raise PayloadTooLargeError(f"the {what} is over {limit} bytes", max_bytes=limit)
    return data, body.fields


async def _card_upload(request: Request, limit: int) -> tuple[bytes, dict[str, str]]:
    """The card step's portrait and fields: the form's, or a chip reader's answer (the file
    ``chip``, realname-chip/1 or a reader SDK's JSON) whose fields fill what the form left out
    and whose portrait is used when no ``portrait`` file is sent."""
    body = await read_multipart(request, limit + CHIP_LIMIT + OVERHEAD_BYTES)
    fields = dict(body.fields)
    portrait = body.files.get("portrait")
    chip_data = body.files.get("chip")
    if chip_data is not None:
        chip = parse_chip_json(chip_data, max_bytes=CHIP_LIMIT)
        chip_fields = dict(chip.fields)
        if chip_fields.get("valid_until") == "长期":
            chip_fields["valid_until"] = ""
        fields = {**chip_fields, **{k: v for k, v in fields.items() if v}}
        portrait = portrait if portrait is not None else (chip.portrait or None)
    if portrait is None:
        raise RequestInvalidError("the portrait file is missing", field="portrait")
    if len(portrait) > limit:
        raise PayloadTooLargeError(f"the portrait is over {limit} bytes", max_bytes=limit)
    return portrait, fields


def _multipart(
    fields: dict[str, Any], files: dict[str, str], required: tuple[str, ...] | None = None
) -> dict[str, Any]:
    properties = dict(fields)
    properties.update(
        {
            name: {"type": "string", "format": "binary", "description": d}
            for name, d in files.items()
        }
    )
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": list(files if required is None else required),
                    }
                }
            },
        }
    }


_CARD_FORM = _multipart(
    IdCardForm.model_json_schema()["properties"],
    {
        "portrait": "The chip portrait (JPEG, PNG, BMP or WebP; about 102x126), or with "
        "portrait_source=printed the printed portrait POST .../id-card/photo returned",
        "chip": "Optional: a chip reader's answer as JSON (realname-chip/1, or a reader SDK's "
        "field names; see realname.cards.chip): its fields fill those the form leaves empty, "
        "its portrait is used when no portrait file is sent",
    },
    required=(),
)
_CAPTURE_FORM = _multipart(
    {"nonce": {"type": "string", "description": "The session's one-time nonce"}},
    {"clip": "The live clip (MP4, WebM, MOV, AVI or MPEG; 1-15 s, 240p-1080p)"},
)


@router.post(
    "",
    status_code=201,
    response_model=SessionOut,
    summary="Start a registration",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 429),
)
def create_session(ctx: Context, clerk: Clerk, body: ConsentIn) -> SessionOut:
    """Record the customer's separate biometric consent. Given: the session awaits the ID card
    (it carries no challenge: ``POST .../challenge`` reveals one when the customer is ready).
    Refused: the session is created in state ``manual`` (recorded, audited) and the clerk uses
    the manual procedure. Sessions per clerk and per outlet are rate-limited: 429
    ``SESSION_RATE_LIMITED`` with ``Retry-After``."""
    view = registration.create_session(
        ctx, clerk, body.biometric_consent, body.consent_text_version
    )
    return _out(view)


@router.get(
    "",
    response_model=list[SessionOut],
    summary="List sessions",
    responses=problems(*AUTHENTICATED),
)
def list_sessions(
    ctx: Context,
    user: Reader,
    state: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    open_only: Annotated[
        bool,
        Query(
            alias="open",
            description="Only the unfinished sessions, to resume after a reload: awaiting_card, "
            "awaiting_capture or capturing before expires_at, and passed, approved or review; "
            "a clerk gets only the sessions the clerk opened",
        ),
    ] = False,
) -> list[SessionOut]:
    """Newest first; a clerk or outlet supervisor sees their own outlet only. The card is
    shown masked only (``id_number_masked``, ``name_masked``)."""
    found = registration.list_sessions(ctx, user, limit, state, open_only=open_only)
    return [_out(v) for v in found]


@router.get(
    "/{session_id}",
    response_model=SessionOut,
    summary="One session",
    responses=problems(*AUTHENTICATED, 404),
)
def get_session(ctx: Context, user: Reader, session_id: str) -> SessionOut:
    return _out(registration.get_session(ctx, user, session_id))


@router.put(
    "/{session_id}/id-card",
    response_model=SessionOut,
    summary="Submit the ID card's chip fields and portrait",
    openapi_extra=_CARD_FORM,
    responses=problems(*AUTHENTICATED, *UPLOAD, 404, 409, 429, 503),
)
async def submit_card(ctx: Context, clerk: Clerk, session_id: str, request: Request) -> SessionOut:
    """Multipart: the chip's fields and the ``portrait`` file. ``birth_date`` and ``sex`` may
    be left out: they are taken from the ID number. A card breaking a rule answers 422
    ``CARD_REFUSED`` with ``reasons`` (a birth date or sex given that disagrees with the number:
    ``CARD_BIRTH_DATE_MISMATCH``, ``CARD_SEX_MISMATCH``); an ID locked after failed captures 429
    ``ID_LOCKED``. The portrait's face is then enrolled as the match will use it, in the
    verification pool: a portrait without a face answers 422 ``NO_FACE``, one with several
    comparable faces 422 ``MULTIPLE_FACES`` (both with ``context.role`` ``reference``; the
    session still awaits its card, no attempt counted); a full pool 503 ``BUSY``. The name,
    number, other fields and portrait are stored encrypted."""
    portrait, fields = await _card_upload(request, ctx.settings.max_image_bytes)
    try:
        form = IdCardForm.model_validate(fields)
    except ValidationError as exc:
        raise _validation(exc) from None
    values = form.model_dump()
    corrected = parse_corrected(values.pop("ocr_corrected"))
    card = IdCardInput(**values)
    checked = await run_in_threadpool(
        registration.check_card, ctx, clerk, session_id, card, portrait
    )
    if ctx.enroller is not None:
        try:
            await ctx.pool.run(ctx.enroller, portrait)
        except FaceError as refused:
            await run_in_threadpool(registration.refuse_portrait, ctx, clerk, checked, refused)
            raise
        except BusyError:
            ctx.metrics.busy.inc()
            raise
    view = await run_in_threadpool(registration.store_card, ctx, clerk, checked, portrait)
    await run_in_threadpool(audit_corrections, ctx, clerk, session_id, corrected)
    return _out(view)


def _challenge_out(view: ChallengeView) -> ChallengeOut:
    return ChallengeOut(
        session_id=view.session_id,
        steps=[ChallengeStepOut(action=a, prompt_s=p, window_end_s=e) for a, p, e in view.steps],
        capture_s=view.capture_s,
        nonce=view.nonce,
        issued_at=view.issued_at,
        expires_at=view.expires_at,
        answer_by=view.answer_by,
        valid_s=view.valid_s,
        attempts_left=view.attempts_left,
    )


@router.post(
    "/{session_id}/challenge",
    response_model=ChallengeOut,
    summary="Reveal a liveness challenge: steps, prompt schedule, nonce",
    responses=problems(*AUTHENTICATED, 404, 409, 429),
)
def new_challenge(ctx: Context, clerk: Clerk, session_id: str) -> ChallengeOut:
    """When the customer is framed and ready (after the card; again after a capture that
    failed or could not be judged, while attempts are left). The answer is a prompt-locked
    challenge drawn by the server's CSPRNG: each step's action and when its prompt shows
    (``prompt_s``) and ends (``window_end_s``), seconds from the recording's start; record
    ``capture_s`` at once and upload with the one-time ``nonce``. The recording must begin
    within ``valid_s`` (``REALNAME_CHALLENGE_TTL_S``); a clip after ``answer_by`` answers 409
    ``CHALLENGE_EXPIRED``. A new challenge spends the previous one; past
    ``REALNAME_MAX_CHALLENGES`` a session gets 409 ``CHALLENGE_LIMIT``."""
    return _challenge_out(registration.reveal_challenge(ctx, clerk, session_id))


_FRAMING_FORM = _multipart({}, {"frame": "A JPEG or PNG still of the preview (640x480 or less)"})


@router.post(
    "/{session_id}/framing",
    response_model=FramingOut,
    summary="Framing advice on a preview still",
    openapi_extra=_FRAMING_FORM,
    responses=problems(*AUTHENTICATED, *UPLOAD, 404, 409, 503),
)
async def framing(ctx: Context, clerk: Clerk, session_id: str, request: Request) -> FramingOut:
    """Multipart: a ``frame`` still of the camera preview. The answer says whether the face is
    where the liveness check can use it (``OK``) or what to change (``TOO_FAR``,
    ``NOT_CENTRED``, ``TOO_DARK``, ...). Nothing is stored or logged; it spends no nonce and no
    attempt. The pool is shared with captures: when full, 503 ``BUSY`` (the page keeps its last
    advice)."""
    frame, _ = await _upload(request, "frame", ctx.settings.max_framing_bytes, "frame")
    await run_in_threadpool(registration.check_open, ctx, clerk, session_id)
    framer = ctx.framer
    if framer is None:
        raise SetupError("the face detector is not loaded")
    result = await ctx.pool.run(framer, frame)
    return FramingOut.model_validate(result.to_dict())  # the measures beyond the advice: dropped


@router.post(
    "/{session_id}/capture",
    response_model=CaptureOut,
    summary="Upload the live clip: the verdict",
    openapi_extra=_CAPTURE_FORM,
    responses=problems(*AUTHENTICATED, *UPLOAD, 404, 409, 429, 503),
)
async def capture(ctx: Context, clerk: Clerk, session_id: str, request: Request) -> CaptureOut:
    """Multipart: the ``clip`` file and the ``nonce``. The server decodes the clip in memory
    and judges quality, liveness (each step's action within its prompt's window, no other
    action unprompted) and the portrait match itself. The answer is ``passed``, ``failed``
    (reason codes and attempts left: ask ``POST .../challenge`` for the next) or ``review`` (a
    supervisor decides), never a score. The nonce is spent even if the capture fails; a clip
    shorter than the schedule is not judged (422 ``CLIP_TOO_SHORT``); a clip after the
    challenge's ``answer_by`` answers 409 ``CHALLENGE_EXPIRED``; an upload over the limit
    answers 413 before it is read; a full pool 503 ``BUSY``."""
    clip, fields = await _upload(request, "clip", ctx.settings.max_video_bytes, "clip")
    nonce = fields.get("nonce", "")
    try:
        slot = ctx.pool.reserve()  # BUSY before the nonce is spent
    except RealnameError:
        ctx.metrics.busy.inc()
        raise
    try:
        ticket = await run_in_threadpool(registration.begin_capture, ctx, clerk, session_id, nonce)
        try:
            outcome = await slot.run(registration.run_capture, ctx, ticket.job(clip))
        except Exception as exc:
            await run_in_threadpool(registration.abort_capture, ctx, clerk, ticket, exc)
            ctx.metrics.verdicts.labels("error").inc()
            raise
    finally:
        slot.release_unused()
    del clip
    result = await run_in_threadpool(registration.finish_capture, ctx, clerk, ticket, outcome)
    ctx.metrics.verdicts.labels(result.verdict).inc()
    return CaptureOut(
        verdict=result.verdict,
        reasons=list(result.reasons),
        attempts_left=result.attempts_left,
        steps=[_step_out(step) for step in result.steps],
    )


def _step_out(step: StepResult) -> StepOut:
    return StepOut.model_validate(
        {
            "action": step.action,
            "prompt_s": step.prompt_s,
            "window_end_s": step.window_end_s,
            "seen": step.seen_at_s is not None,
            "reason": step.reason,
            "measured": step.measured,
            "needed": step.needed,
            "unit": step.unit,
            "observed_at_s": step.observed_at_s,
        }
    )
