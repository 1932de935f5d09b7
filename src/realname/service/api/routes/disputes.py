"""``/api/v1/disputes``: numbers their holder said are not theirs (一证通查), for supervisors
(their outlet; they answer) and auditors (all; read only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from realname.service.api.deps import Context, ReviewReader, Supervisor
from realname.service.api.openapi import AUTHENTICATED, WITH_BODY, problems
from realname.service.usecases import disputes
from realname.service.usecases.disputes import DisputeView

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/disputes", tags=["disputes"])


class DisputeOut(BaseModel):
    id: str
    state: Literal["open", "answered"]
    outlet_id: int
    outlet: str
    msisdn: str = Field(description="Masked: 138****5678")
    session_id: str = Field(description="The registration session that bound the number")
    clerk: str = Field(description="The username of the clerk of that session")
    bound_at: datetime
    opened_at: datetime
    note: str = Field(description="What the citizen wrote (may be empty)")
    outcome: Literal["upheld", "dismissed"] | None
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["upheld", "dismissed"] = Field(
        description="upheld: the number was not the citizen's, and is ended now"
    )
    answer: str = Field(min_length=1, max_length=500, description="Why, for the record")


def _out(view: DisputeView) -> DisputeOut:
    return DisputeOut.model_validate(
        {
            "id": view.id,
            "state": view.state,
            "outlet_id": view.outlet_id,
            "outlet": view.outlet,
            "msisdn": view.msisdn,
            "session_id": view.session_id,
            "clerk": view.clerk,
            "bound_at": view.bound_at,
            "opened_at": view.opened_at,
            "note": view.note,
            "outcome": view.outcome,
            "answer": view.answer,
            "answered_by": view.answered_by,
            "answered_at": view.answered_at,
        }
    )


@router.get(
    "",
    response_model=list[DisputeOut],
    summary="Disputes (default: open)",
    responses=problems(*AUTHENTICATED),
)
def list_disputes(
    ctx: Context,
    user: ReviewReader,
    state: Annotated[Literal["open", "answered", "all"], Query()] = "open",
) -> list[DisputeOut]:
    """Oldest first; a supervisor sees the disputes of their outlet, an auditor all."""
    found = disputes.list_disputes(ctx, user, None if state == "all" else state)
    return [_out(v) for v in found]


@router.post(
    "/{dispute_id}/answer",
    response_model=DisputeOut,
    summary="Answer a dispute: upheld (ends the number) or dismissed",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404, 409),
)
def answer(ctx: Context, supervisor: Supervisor, dispute_id: str, body: AnswerIn) -> DisputeOut:
    """A supervisor of the number's outlet answers once: ``upheld`` ends the number (end
    reason ``dispute <id>``); a second answer, even a concurrent one, gets 409
    ``DISPUTE_ANSWERED``. Another outlet's dispute is 404."""
    return _out(disputes.answer_dispute(ctx, supervisor, dispute_id, body.outcome, body.answer))
