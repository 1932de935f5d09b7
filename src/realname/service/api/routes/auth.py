"""``/api/v1/auth/token``: sign in (OAuth2 password form) and sign out (revoke the token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from realname.errors import AccountLockedError, BusyError, RateLimitError
from realname.service.api.deps import Context, User
from realname.service.api.openapi import AUTHENTICATED, WITH_BODY, problems
from realname.service.api.schemas import TokenOut, UserOut
from realname.service.signin import account_key
from realname.service.usecases import people

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Sign in: a bearer token",
    responses=problems(*WITH_BODY, 401, 429, 503),
)
async def sign_in(
    ctx: Context, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenOut:
    """Username and password (form fields, OAuth2 password flow) for an opaque bearer token.
    A failed sign-in is audited and answers 401 ``AUTH_INVALID``. Attempts are throttled per
    client address (``REALNAME_LOGIN_RATE_ADDRESS``) and per username
    (``REALNAME_LOGIN_RATE_ACCOUNT``): past either, 429 ``RATE_LIMITED`` with ``Retry-After``,
    before any password check and without an audit entry. ``REALNAME_LOGIN_LOCK_FAILURES``
    failures in a row lock the account for ``REALNAME_LOGIN_LOCK_S``: 429 ``ACCOUNT_LOCKED``
    with ``Retry-After``. Passwords are checked in a small pool of their own; when it is full,
    503 ``BUSY`` with ``Retry-After``."""
    key = account_key(form.username)
    address = request.client.host if request.client else "unknown"  # a proxy: its address
    try:
        ctx.signin.throttle.check(key, address)
        issued = await ctx.signin.pool.run(
            people.login,
            ctx.database,
            ctx.audit,
            form.username,
            form.password,
            ctx.now(),
            ctx.settings.token_ttl_s,
            ctx.signin.locks,
        )
    except AccountLockedError:
        ctx.metrics.signin_refused.labels("locked").inc()
        raise
    except RateLimitError as exc:
        ctx.metrics.signin_refused.labels(str(exc.context.get("by", "account"))).inc()
        raise
    except BusyError:
        ctx.metrics.signin_refused.labels("busy").inc()
        raise
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.get(
    "/me",
    response_model=UserOut,
    summary="The signed-in user, role and outlet",
    responses=problems(*AUTHENTICATED),
)
def me(ctx: Context, user: User) -> UserOut:
    """Who holds the presented token: the pages choose the desk or the review queue by role and
    print the outlet's name on the receipt."""
    u = people.describe_user(ctx.database, user.user_id)
    return UserOut(id=u.id, username=u.username, role=u.role, outlet=u.outlet, active=u.active)


@router.delete(
    "/token",
    status_code=204,
    summary="Sign out: revoke the presented token",
    responses=problems(*AUTHENTICATED),
)
def sign_out(ctx: Context, user: User) -> Response:
    people.revoke_token(ctx.database, ctx.audit, user, ctx.now())
    return Response(status_code=204)
