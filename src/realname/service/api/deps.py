"""``Annotated`` dependencies: the service context, the authenticated user, and roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from realname.service.context import ServiceContext
from realname.service.security import Principal, principal_for_token, require_role

__all__ = [
    "Admin",
    "AuditReader",
    "Clerk",
    "Context",
    "Reader",
    "ReviewReader",
    "Staff",
    "Supervisor",
    "User",
    "context",
]


def context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


Context = Annotated[ServiceContext, Depends(context)]


# Documents the bearer scheme in OpenAPI; a missing token is refused below (AUTH_REQUIRED).
bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def current_user(ctx: Context, token: Annotated[str | None, Depends(bearer)]) -> Principal:
    with ctx.database.transaction() as session:
        return principal_for_token(session, token, ctx.now())


User = Annotated[Principal, Depends(current_user)]


def _role(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: User) -> Principal:
        return require_role(principal, *roles)

    return check


Clerk = Annotated[Principal, Depends(_role("clerk"))]
Supervisor = Annotated[Principal, Depends(_role("supervisor"))]
Admin = Annotated[Principal, Depends(_role("admin"))]
Staff = Annotated[Principal, Depends(_role("clerk", "supervisor"))]  # number changes
Reader = Annotated[Principal, Depends(_role("clerk", "supervisor", "auditor", "admin"))]
ReviewReader = Annotated[Principal, Depends(_role("supervisor", "auditor"))]
AuditReader = Annotated[Principal, Depends(_role("auditor", "admin"))]
