"""Outlets, users and tokens: the use cases behind ``/auth``, ``/outlets``, ``/users`` and the
``realname admin`` commands. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from realname.errors import AuthInvalidError, ConflictError, InputError, NotFoundError
from realname.service.audit_store import Actor, AuditStore
from realname.service.db import Database
from realname.service.models import ROLES, Outlet, Token, User
from realname.service.security import Principal, hash_password, issue_token, verify_password

__all__ = [
    "IssuedToken",
    "OutletInfo",
    "UserInfo",
    "create_outlet",
    "create_user",
    "deactivate_user",
    "describe_user",
    "list_outlets",
    "list_users",
    "login",
    "revoke_token",
]

MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class OutletInfo:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    role: str
    outlet: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int


def create_outlet(
    database: Database, audit: AuditStore, actor: Actor, name: str, now: datetime
) -> OutletInfo:
    name = name.strip()
    if not name:
        raise InputError("an outlet needs a name")
    try:
        with database.transaction() as session:
            outlet = Outlet(name=name, created_at=now)
            session.add(outlet)
            session.flush()
            audit.append(session, actor, "outlet.create", "ok", {"outlet": outlet.id}, at=now)
            return OutletInfo(outlet.id, outlet.name)
    except IntegrityError:
        raise ConflictError("an outlet with this name exists") from None


def list_outlets(database: Database) -> list[OutletInfo]:
    with database.transaction() as session:
        return [
            OutletInfo(o.id, o.name) for o in session.scalars(select(Outlet).order_by(Outlet.id))
        ]


def create_user(
    database: Database,
    audit: AuditStore,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    outlet: str | None,
    now: datetime,
) -> UserInfo:
    username = username.strip()
    if not username or len(username) > 100:
        raise InputError("a username has 1 to 100 characters")
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password has at least {MIN_PASSWORD} characters")
    if role in ("clerk", "supervisor") and not outlet:
        raise InputError(f"a {role} belongs to an outlet (--outlet)")
    password_hash = hash_password(password)  # slow on purpose: outside the transaction
    try:
        with database.transaction() as session:
            outlet_id = None
            if outlet:
                found = session.scalars(select(Outlet).where(Outlet.name == outlet)).first()
                if found is None:
                    raise NotFoundError(f"no outlet named {outlet!r}")
                outlet_id = found.id
            user = User(
                username=username,
                password_hash=password_hash,
                role=role,
                outlet_id=outlet_id,
                active=True,
                created_at=now,
            )
            session.add(user)
            session.flush()
            audit.append(
                session,
                actor,
                "user.create",
                "ok",
                {"user": user.id, "role": role, "outlet": outlet_id or ""},
                at=now,
            )
            return UserInfo(user.id, user.username, role, outlet, True)
    except IntegrityError:
        raise ConflictError("a user with this name exists") from None


def set_password(
    database: Database, audit: AuditStore, actor: Actor, username: str, password: str, now: datetime
) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password has at least {MIN_PASSWORD} characters")
    password_hash = hash_password(password)
    with database.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFoundError(f"no user named {username!r}")
        user.password_hash = password_hash
        user.active = True
        audit.append(session, actor, "user.password", "ok", {"user": user.id}, at=now)


def list_users(database: Database) -> list[UserInfo]:
    with database.transaction() as session:
        rows = session.execute(
            select(User, Outlet.name)
            .outerjoin(Outlet, Outlet.id == User.outlet_id)
            .order_by(User.id)
        ).all()
        return [UserInfo(u.id, u.username, u.role, name, u.active) for u, name in rows]


def describe_user(database: Database, user_id: int) -> UserInfo:
    """One user with their outlet's name (the pages show who is signed in, and where)."""
    with database.transaction() as session:
        row = session.execute(
            select(User, Outlet.name)
            .outerjoin(Outlet, Outlet.id == User.outlet_id)
            .where(User.id == user_id)
        ).first()
        if row is None:
            raise NotFoundError("no such user")
        u, name = row
        return UserInfo(u.id, u.username, u.role, name, u.active)


def deactivate_user(
    database: Database, audit: AuditStore, actor: Actor, username: str, now: datetime
) -> None:
    with database.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFoundError(f"no user named {username!r}")
        user.active = False
        session.execute(
            update(Token)
            .where(Token.user_id == user.id, Token.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        audit.append(session, actor, "user.deactivate", "ok", {"user": user.id}, at=now)


def login(
    database: Database,
    audit: AuditStore,
    username: str,
    password: str,
    now: datetime,
    ttl_s: int,
) -> IssuedToken:
    """A token for valid credentials; a failed login is audited and answers AUTH_INVALID."""
    with database.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        user_id, stored = (user.id, user.password_hash) if user is not None else (None, None)
    ok = verify_password(stored, password)  # argon2: outside any transaction
    if user is None or not ok or not user.active:
        # A mistyped username may be personal data: only a known user's id is recorded.
        objects = {"user": user.id} if user is not None else {}
        outcome = "inactive" if user is not None and ok else "failed"
        audit.record(
            Actor(user.username if user else "unknown"), "auth.login", outcome, objects, at=now
        )
        raise AuthInvalidError("wrong username or password")
    with database.transaction() as session:
        fresh = session.get(User, user_id)
        assert fresh is not None
        token, _row = issue_token(session, fresh, now, ttl_s)
        audit.append(
            session,
            Actor(fresh.username, fresh.outlet_id),
            "auth.login",
            "ok",
            {"user": fresh.id},
            at=now,
        )
    return IssuedToken(token, ttl_s)


def revoke_token(
    database: Database, audit: AuditStore, principal: Principal, now: datetime
) -> None:
    with database.transaction() as session:
        session.execute(
            update(Token).where(Token.token_hash == principal.token_hash).values(revoked_at=now)
        )
        audit.append(
            session,
            Actor(principal.username, principal.outlet_id),
            "auth.revoke",
            "ok",
            {"user": principal.user_id},
            at=now,
        )
