"""``/api/v1/reviews``: the supervisor's queue of borderline cases and their evidence."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from realname.service.api.deps import Context, ReviewReader, Supervisor
from realname.service.api.openapi import AUTHENTICATED, WITH_BODY, problems
from realname.service.api.schemas import DecisionIn, ReviewOut
from realname.service.usecases import reviews
from realname.service.usecases.reviews import ReviewView

router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])
#: ``X-Plot-Language-Fallback``: a Chinese plot was asked for, the English one is sent.
FALLBACK_NOTE = "no CJK font on the server: the plot is drawn in English"


def _out(view: ReviewView) -> ReviewOut:
    return ReviewOut(
        id=view.id,
        session_id=view.session_id,
        outlet_id=view.outlet_id,
        state=view.state,
        created_at=view.created_at,
        expires_at=view.expires_at,
        reasons=list(view.reasons),
        id_number_masked=view.id_number_masked,
        evidence={k: f"/api/v1/reviews/{view.id}/evidence/{k}" for k in view.evidence},
        scores=view.details,
        decided_by=view.decided_by,
        decided_at=view.decided_at,
        decision_reason=view.decision_reason,
        portrait_source=view.portrait_source,
    )


@router.get(
    "",
    response_model=list[ReviewOut],
    summary="Reviews (default: pending)",
    responses=problems(*AUTHENTICATED),
)
def list_reviews(
    ctx: Context,
    user: ReviewReader,
    state: Annotated[
        Literal["pending", "approved", "rejected", "expired", "all"], Query()
    ] = "pending",
) -> list[ReviewOut]:
    """Oldest first, with links to the evidence; scores only in the detail."""
    found = reviews.list_reviews(ctx, user, None if state == "all" else state)
    return [_out(v) for v in found]


@router.get(
    "/{review_id}",
    response_model=ReviewOut,
    summary="One review with its scores",
    responses=problems(*AUTHENTICATED, 404),
)
def get_review(ctx: Context, user: ReviewReader, review_id: str) -> ReviewOut:
    return _out(reviews.get_review(ctx, user, review_id))


@router.get(
    "/{review_id}/evidence/{kind}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}}},
        **problems(*AUTHENTICATED, 404),
    },
    summary="An evidence image: the portrait, the best frame or the liveness plot",
)
def evidence(
    ctx: Context,
    user: ReviewReader,
    review_id: str,
    kind: Literal["portrait", "frame", "plot"],
    lang: Annotated[
        Literal["en", "zh-CN"],
        Query(description="The plot's language (the page's); ignored for the other images"),
    ] = "en",
) -> Response:
    """The plot is drawn in ``lang``, titled "Liveness evidence, capture N" (活体证据，第 N 次
    采集), never with the verdict; ``Content-Language`` says what it is drawn in. A Chinese plot
    needs a CJK font on the server: where there was none, the English plot is sent, with
    ``X-Plot-Language-Fallback`` saying so."""
    image = reviews.evidence_image(ctx, user, review_id, kind, lang)
    headers = {"Cache-Control": "no-store"}
    if image.language is not None:
        headers["Content-Language"] = image.language
    if image.fallback:
        headers["X-Plot-Language-Fallback"] = FALLBACK_NOTE
    return Response(image.data, media_type=image.media_type, headers=headers)


@router.post(
    "/{review_id}/decision",
    response_model=ReviewOut,
    summary="Approve or reject",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404, 409),
)
def decide(ctx: Context, supervisor: Supervisor, review_id: str, body: DecisionIn) -> ReviewOut:
    """Approve (the session can then bind a number) or reject, with a reason; once."""
    return _out(reviews.decide_review(ctx, supervisor, review_id, body.approve, body.reason))
