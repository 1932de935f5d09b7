"""Reading a photographed ID card at the card step (``POST .../id-card/photo``), and what the
card step keeps of it.

The photo is decoded and read in memory (:mod:`realname.cards`) and never stored: the answer
gives the clerk the fields, their confidence, the cross-check reasons and the printed portrait,
to confirm or correct in the form, which is then submitted as any card is
(``PUT .../id-card``). The audit records that a photo was read, with the reason codes and the
names of the fields read, never their values. The fields the clerk then corrected are audited
the same way at the card step (``id_card.corrected``: names only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from realname.cards.reading import FIELD_NAMES, IdCardReading
from realname.errors import CardAlreadyReadError, CardReaderOffError, RequestInvalidError
from realname.media.image import load_image
from realname.records.audit import Actor
from realname.service.context import ServiceContext
from realname.service.security import Principal
from realname.service.usecases.registration import CARD_READ_STATES, check_session_open

__all__ = ["audit_corrections", "parse_corrected", "read_card_photo"]


def read_card_photo(
    ctx: ServiceContext,
    principal: Principal,
    session_id: str,
    photos: Sequence[bytes],
    typed: Mapping[str, str] | None = None,
) -> IdCardReading:
    """Read the card in ``photos`` (the front, and optionally the back) for a session that
    awaits its card; ``typed``: fields the clerk already typed, compared with the photo.
    Raises CARD_READER_OFF when no reader is configured, the image errors for an unusable
    photo, CARD_NOT_FOUND / CARD_UNREADABLE / MULTIPLE_CARDS when no single card is read."""
    reader = ctx.card_reader
    if reader is None:
        raise CardReaderOffError(
            "card photos are not read on this server (REALNAME_CARD_READER=none): type the "
            "fields or paste the chip reader's answer"
        )
    if check_session_open(ctx, principal, session_id) in CARD_READ_STATES:
        raise CardAlreadyReadError("this session's ID card was already read")
    images: list[np.ndarray] = [load_image(p, ctx.image_limits) for p in photos]
    given = {k: v for k, v in (typed or {}).items() if k in FIELD_NAMES and v}
    actor = Actor(principal.username, principal.outlet_id)
    try:
        reading = reader.read(images, today=ctx.today(), given=given or None)
    except Exception as exc:
        code = getattr(exc, "code", "INTERNAL")
        ctx.audit.record(actor, "id_card.photo_read", code, {"session": session_id})
        raise
    ctx.audit.record(
        actor,
        "id_card.photo_read",
        "ok" if reading.passed else "reasons",
        {
            "session": session_id,
            "sides": ",".join(side.side for side in reading.sides),
            "fields": ",".join(f.name for f in reading.fields),
            "reasons": ",".join(reading.reasons),
        },
    )
    return reading


def parse_corrected(text: str) -> tuple[str, ...]:
    """The ``ocr_corrected`` form field: comma-separated field names of the card, each known."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in FIELD_NAMES]
    if unknown:
        raise RequestInvalidError(
            f"ocr_corrected names {unknown[0]!r}, not a card field; "
            f"known: {', '.join(FIELD_NAMES)}",
            field="ocr_corrected",
        )
    return tuple(dict.fromkeys(names))


def audit_corrections(
    ctx: ServiceContext, principal: Principal, session_id: str, corrected: Sequence[str]
) -> None:
    """Audit which fields the clerk changed after the photo was read (names, not values)."""
    if corrected:
        ctx.audit.record(
            Actor(principal.username, principal.outlet_id),
            "id_card.corrected",
            "ok",
            {"session": session_id, "fields": ",".join(corrected)},
        )
