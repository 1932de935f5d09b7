"""``/healthz`` (the process runs), ``/readyz`` (models loaded, database reachable),
``/metrics`` (Prometheus text)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from realname.service.api.deps import Context

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


_READINESS = {
    "type": "object",
    "properties": {
        "ready": {"type": "boolean"},
        "models_loaded": {"type": "boolean"},
        "database": {"type": "boolean", "description": "The database answered"},
    },
    "required": ["ready", "models_loaded", "database"],
}


@router.get(
    "/readyz",
    summary="Ready to serve: models loaded and database reachable",
    responses={
        200: {"description": "Ready", "content": {"application/json": {"schema": _READINESS}}},
        503: {
            "description": "Not ready: the models are not loaded or the database is unreachable",
            "content": {"application/json": {"schema": _READINESS}},
        },
    },
)
async def readyz(ctx: Context) -> JSONResponse:
    database = await run_in_threadpool(ctx.database.reachable)
    ready = ctx.models_loaded and database
    body = {"ready": ready, "models_loaded": ctx.models_loaded, "database": database}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(ctx: Context) -> Response:
    ctx.metrics.pool_in_use.set(ctx.pool.in_use)
    ctx.metrics.pool_capacity.set(ctx.pool.capacity)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)
