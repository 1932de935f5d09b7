"""``/api/v1/subscriptions``: bind a number to a verified identity, list, deregister."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from realname.errors import RequestInvalidError
from realname.service.api.deps import Clerk, Context, Reader, Staff
from realname.service.api.openapi import AUTHENTICATED, WITH_BODY, problems
from realname.service.api.schemas import (
    ActiveNumberOut,
    BindIn,
    BindingOut,
    DeregisteredOut,
    NumberListOut,
)
from realname.service.usecases import numbers

router = APIRouter(prefix="/api/v1/subscriptions", tags=["subscriptions"])


@router.post(
    "",
    status_code=201,
    response_model=BindingOut,
    summary="Bind a number",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404, 409),
)
def bind(ctx: Context, clerk: Clerk, body: BindIn) -> BindingOut:
    """Bind an 11-digit mainland number to the identity of a passed (or supervisor-approved)
    session. The session is usable once (``SESSION_USED``); an ID holds at most
    ``REALNAME_MAX_NUMBERS_PER_ID`` active numbers (``NUMBER_CAP_REACHED``); an active number
    belongs to one ID (``NUMBER_TAKEN``)."""
    b = numbers.bind_number(ctx, clerk, body.session_id, body.msisdn)
    return BindingOut(
        session_id=b.session_id,
        msisdn_masked=b.msisdn_masked,
        id_number_masked=b.id_number_masked,
        active_numbers=b.active_numbers,
        max_numbers=b.max_numbers,
    )


@router.get(
    "",
    response_model=NumberListOut,
    summary="Active numbers of a session's ID",
    responses=problems(*AUTHENTICATED, 404),
)
def list_numbers(
    ctx: Context, user: Reader, session_id: Annotated[str, Query(min_length=1, max_length=36)]
) -> NumberListOut:
    """The active numbers (masked) of the ID read in ``session_id``, and the cap."""
    found = numbers.list_numbers(ctx, user, session_id)
    return NumberListOut(
        id_number_masked=found.id_number_masked,
        numbers=[
            ActiveNumberOut(msisdn_masked=n.msisdn_masked, since=n.since) for n in found.numbers
        ],
        active_numbers=len(found.numbers),
        max_numbers=found.max_numbers,
    )


@router.delete(
    "/{msisdn}",
    response_model=DeregisteredOut,
    summary="Deregister a number",
    responses=problems(*AUTHENTICATED, 404, 409),
)
def deregister(
    ctx: Context,
    user: Staff,
    msisdn: str,
    reason: Annotated[str, Query(min_length=1, max_length=200, description="Why it ends")],
) -> DeregisteredOut:
    """End the number (kept as history with ``reason``); an ID without active numbers is kept
    for ``REALNAME_IDENTITY_RETENTION_DAYS``, then purged."""
    if not reason.strip():
        raise RequestInvalidError("a reason is required", field="reason")
    return DeregisteredOut(msisdn_masked=numbers.deregister_number(ctx, user, msisdn, reason))
