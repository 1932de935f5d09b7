"""``/api/v1/outlets`` and ``/api/v1/users``: administration (admin role)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from realname.records.audit import Actor
from realname.service.api.deps import Admin, Context
from realname.service.api.openapi import AUTHENTICATED, WITH_BODY, problems
from realname.service.api.schemas import OutletIn, OutletOut, UserIn, UserOut
from realname.service.security import Principal
from realname.service.usecases import people

router = APIRouter(prefix="/api/v1", tags=["admin"])


def _actor(p: Principal) -> Actor:
    return Actor(p.username, p.outlet_id)


@router.post(
    "/outlets",
    status_code=201,
    response_model=OutletOut,
    summary="Create an outlet",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 409),
)
def create_outlet(ctx: Context, admin: Admin, body: OutletIn) -> OutletOut:
    o = people.create_outlet(
        ctx.database, ctx.audit, _actor(admin), body.name, ctx.now(), body.opening_hours
    )
    return OutletOut(id=o.id, name=o.name, opening_hours=o.opening_hours)


@router.get(
    "/outlets",
    response_model=list[OutletOut],
    summary="Outlets",
    responses=problems(*AUTHENTICATED),
)
def list_outlets(ctx: Context, admin: Admin) -> list[OutletOut]:
    return [
        OutletOut(id=o.id, name=o.name, opening_hours=o.opening_hours)
        for o in people.list_outlets(ctx.database)
    ]


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    summary="Create a user",
    responses=problems(*AUTHENTICATED, *WITH_BODY, 404, 409),
)
async def create_user(ctx: Context, admin: Admin, body: UserIn) -> UserOut:
    u = await run_in_threadpool(
        lambda: people.create_user(
            ctx.database,
            ctx.audit,
            _actor(admin),
            username=body.username,
            password=body.password,
            role=body.role,
            outlet=body.outlet,
            now=ctx.now(),
            all_outlets=body.all_outlets,
            employee=body.employee,
        )
    )
    return UserOut(id=u.id, username=u.username, role=u.role, outlet=u.outlet, active=u.active)


@router.get(
    "/users",
    response_model=list[UserOut],
    summary="Users",
    responses=problems(*AUTHENTICATED),
)
def list_users(ctx: Context, admin: Admin) -> list[UserOut]:
    return [
        UserOut(id=u.id, username=u.username, role=u.role, outlet=u.outlet, active=u.active)
        for u in people.list_users(ctx.database)
    ]


@router.delete(
    "/users/{username}",
    status_code=204,
    summary="Deactivate a user",
    responses=problems(*AUTHENTICATED, 404, 409),
)
def deactivate_user(ctx: Context, admin: Admin, username: str) -> Response:
    """The user can no longer sign in; their tokens are revoked. 409 ``USER_INACTIVE`` if
    already deactivated (of two requests, one wins), ``SELF_DEACTIVATION`` for one's own
    account, ``LAST_ADMIN`` for the last active administrator."""
    people.deactivate_user(ctx.database, ctx.audit, _actor(admin), username, ctx.now())
    return Response(status_code=204)
