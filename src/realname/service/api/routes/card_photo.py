"""``POST /api/v1/sessions/{id}/id-card/photo``: a photographed ID card read for the clerk."""

from __future__ import annotations

import base64
from typing import Any

import cv2
from fastapi import APIRouter, Request

from realname.cards.reading import FIELD_NAMES, IdCardReading
from realname.errors import BusyError, PayloadTooLargeError, RequestInvalidError
from realname.service.api.deps import Clerk, Context
from realname.service.api.openapi import AUTHENTICATED, UPLOAD, problems
from realname.service.api.schemas import (
    CardFieldOut,
    CardReadingOut,
    CardSideOut,
    DisagreementOut,
)
from realname.service.api.uploads import OVERHEAD_BYTES, read_multipart
from realname.service.usecases.card_photo import read_card_photo

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])

_PHOTOS = ("front", "back")
_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "front": {
                            "type": "string",
                            "format": "binary",
                            "description": "A photo of the card's front (JPEG, PNG, BMP, WebP); "
                            "a photocopy holding both sides is read whole",
                        },
                        "back": {
                            "type": "string",
                            "format": "binary",
                            "description": "Optionally a photo of the back (the validity)",
                        },
                        **{
                            name: {"type": "string", "description": f"typed {name}, compared"}
                            for name in FIELD_NAMES
                        },
                    },
                    "required": ["front"],
                }
            }
        },
    }
}


def _portrait_uri(reading: IdCardReading) -> str | None:
    if reading.portrait is None:
        return None
    ok, png = cv2.imencode(".png", reading.portrait)
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode() if ok else None


def reading_out(reading: IdCardReading) -> CardReadingOut:
    return CardReadingOut(
        passed=reading.passed,
        reasons=list(reading.reasons),
        fields=[
            CardFieldOut(
                name=f.name,
                text=f.text,
                confidence=round(f.confidence, 4),
                side=f.side,
                box=[round(v, 1) for v in f.box],
            )
            for f in reading.fields
        ],
        sides=[CardSideOut(side=s.side, orientation=s.orientation) for s in reading.sides],
        disagreements=[
            DisagreementOut(field=d.field, read=d.read, given=d.given, source=d.source)
            for d in reading.disagreements
        ],
        portrait=_portrait_uri(reading),
        engine=reading.engine,
        version=reading.version,
        elapsed_s=round(reading.elapsed_s, 3),
    )


@router.post(
    "/{session_id}/id-card/photo",
    response_model=CardReadingOut,
    summary="Read a photographed ID card (nothing is stored)",
    openapi_extra=_FORM,
    responses=problems(*AUTHENTICATED, *UPLOAD, 404, 409, 501, 503),
)
async def read_photo(ctx: Context, clerk: Clerk, session_id: str, request: Request) -> Any:
    """Multipart: ``front`` (required) and ``back`` (optional) card photos, and optionally the
    fields already typed (compared: ``disagreements``). The photos are read in memory and
    never stored; the audit records that a photo was read, with the reason codes and the
    names of the fields read. A photo with no card answers 422 ``CARD_NOT_FOUND``, a card
    whose text cannot be read 422 ``CARD_UNREADABLE``, two cards 422 ``MULTIPLE_CARDS``;
    a server that reads no card photos (``REALNAME_CARD_READER=none``) 501
    ``CARD_READER_OFF``; a full pool 503 ``BUSY``."""
    limit = ctx.settings.max_image_bytes
    body = await read_multipart(request, 2 * limit + OVERHEAD_BYTES)
    if "front" not in body.files:
        raise RequestInvalidError("the front photo of the card is missing", field="front")
    photos = []
    for name in _PHOTOS:
        data = body.files.get(name)
        if data is None:
            continue
        if len(data) > limit:
            raise PayloadTooLargeError(f"the {name} photo is over {limit} bytes", max_bytes=limit)
        photos.append(data)
    typed = {k: v for k, v in body.fields.items() if k in FIELD_NAMES}
    try:
        reading = await ctx.pool.run(read_card_photo, ctx, clerk, session_id, photos, typed)
    except BusyError:
        ctx.metrics.busy.inc()
        raise
    return reading_out(reading)
