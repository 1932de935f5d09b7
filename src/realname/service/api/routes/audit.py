"""``/api/v1/audit``: verify the stored hash chain and its signed heads."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from realname.service.api.deps import AuditReader, Context
from realname.service.api.openapi import AUTHENTICATED, problems
from realname.service.api.schemas import AuditVerifyOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get(
    "/verify",
    response_model=AuditVerifyOut,
    summary="Verify the audit chain",
    responses=problems(*AUTHENTICATED),
)
async def verify(ctx: Context, user: AuditReader) -> AuditVerifyOut:
    """Every link, hash and signed head; names the first bad entry."""
    result = await run_in_threadpool(ctx.audit.verify)
    return AuditVerifyOut(
        ok=result.ok,
        entries=result.entries,
        heads=result.heads,
        first_bad_seq=result.first_bad,
        reason=result.reason,
    )
