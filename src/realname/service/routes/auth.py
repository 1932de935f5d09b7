"""``/api/v1/auth/token``: sign in (OAuth2 password form) and sign out (revoke the token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm

from realname.service import people
from realname.service.deps import Context, User
from realname.service.schemas import TokenOut, UserOut

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, summary="Sign in: a bearer token")
async def sign_in(ctx: Context, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """Username and password (form fields, OAuth2 password flow) for an opaque bearer token.
    A failed sign-in is audited and answers 401 ``AUTH_INVALID``."""
    issued = await run_in_threadpool(
        people.login,
        ctx.database,
        ctx.audit,
        form.username,
        form.password,
        ctx.now(),
        ctx.settings.token_ttl_s,
    )
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.get("/me", response_model=UserOut, summary="The signed-in user, role and outlet")
def me(ctx: Context, user: User) -> UserOut:
    """Who holds the presented token: the pages choose the desk or the review queue by role and
    print the outlet's name on the receipt."""
    u = people.describe_user(ctx.database, user.user_id)
    return UserOut(id=u.id, username=u.username, role=u.role, outlet=u.outlet, active=u.active)


@router.delete("/token", status_code=204, summary="Sign out: revoke the presented token")
def sign_out(ctx: Context, user: User) -> Response:
    people.revoke_token(ctx.database, ctx.audit, user, ctx.now())
    return Response(status_code=204)
