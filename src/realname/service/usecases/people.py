"""Outlets, users and tokens: the use cases behind ``/auth``, ``/outlets``, ``/users`` and the
``realname admin`` commands. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy import ColumnElement, case, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from realname.errors import (
    AccountLockedError,
    AuthInvalidError,
    ConflictError,
    InputError,
    LastAdminError,
    NotFoundError,
    SelfDeactivationError,
    UserInactiveError,
)
from realname.identity.identifiers import canonical_text, canonical_username
from realname.records.audit import Actor
from realname.records.flags import parse_hours
from realname.service.security import Principal, hash_password, issue_token, verify_password
from realname.service.signin import LoginLocks, account_key
from realname.service.store.audit_store import AuditStore
from realname.service.store.db import Database, UTCDateTime
from realname.service.store.models import ROLES, Outlet, Token, User

__all__ = [
    "IssuedToken",
    "OutletInfo",
    "UserInfo",
    "canonical_hours",
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
    opening_hours: str | None = None  # HH:MM-HH:MM, local time (the out-of-hours flag)


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


def canonical_hours(text: str | None) -> str | None:
    """Opening hours in one form, ``HH:MM-HH:MM`` (local time; past midnight allowed)."""
    if text is None or not text.strip():
        return None
    try:
        hours = parse_hours(text.strip())
    except ValueError:
        raise InputError(f"opening hours are HH:MM-HH:MM, not {text!r}") from None
    if hours is None or hours.opens == hours.closes:
        raise InputError("an outlet's opening hours cannot open and close at the same time")
    return f"{hours.opens:%H:%M}-{hours.closes:%H:%M}"


def create_outlet(
    database: Database,
    audit: AuditStore,
    actor: Actor,
    name: str,
    now: datetime,
    opening_hours: str | None = None,
) -> OutletInfo:
    name = canonical_text(name, "an outlet's name", max_length=200)  # one form: no look-alikes
    hours = canonical_hours(opening_hours)
    try:
        with database.transaction() as session:
            outlet = Outlet(name=name, created_at=now, opening_hours=hours)
            session.add(outlet)
            session.flush()
            audit.append(session, actor, "outlet.create", "ok", {"outlet": outlet.id}, at=now)
            return OutletInfo(outlet.id, outlet.name, hours)
    except IntegrityError:
        raise ConflictError("an outlet with this name exists") from None


def list_outlets(database: Database) -> list[OutletInfo]:
    with database.transaction() as session:
        return [
            OutletInfo(o.id, o.name, o.opening_hours)
            for o in session.scalars(select(Outlet).order_by(Outlet.id))
        ]


def _check_new_user(password: str, role: str, outlet: str | None, all_outlets: bool) -> None:
    """Refuse an unknown role, a short password, or an outlet that does not fit the role."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password has at least {MIN_PASSWORD} characters")
    if all_outlets and role != "supervisor":
        raise InputError("only a supervisor is given all outlets (--all-outlets)")
    if all_outlets and outlet:
        raise InputError("a supervisor has one outlet (--outlet) or all (--all-outlets), not both")
    if role == "clerk" and not outlet:
        raise InputError("a clerk belongs to an outlet (--outlet)")
    if role == "supervisor" and not outlet and not all_outlets:
        raise InputError(
            "a supervisor belongs to an outlet (--outlet), or sees every outlet when created "
            "with --all-outlets (all_outlets: true)"
        )


def _outlet_id(session: Session, name: str) -> int:
    found = session.scalars(select(Outlet).where(Outlet.name == name)).first()
    if found is None:
        raise NotFoundError(f"no outlet named {name!r}")
    return found.id


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
    all_outlets: bool = False,
    employee: str | None = None,
) -> UserInfo:
    """A new user. A clerk belongs to one outlet; a supervisor to one outlet, or, said
    explicitly with ``all_outlets``, to none: a regional supervisor who sees every outlet.
    ``employee`` names the person behind the account (one person may hold a clerk and a
    supervisor account: deciding their own cases is flagged)."""
    username = canonical_username(username)
    if employee is not None and employee.strip():
        employee = canonical_text(employee, "an employee reference", max_length=50)
    else:
        employee = None
    _check_new_user(password, role, outlet, all_outlets)
    password_hash = hash_password(password)  # slow on purpose: outside the transaction
    try:
        with database.transaction() as session:
            outlet_id = None
            if outlet:
                outlet = canonical_text(outlet, "an outlet's name", max_length=200)
                outlet_id = _outlet_id(session, outlet)
            user = User(
                username=username,
                password_hash=password_hash,
                role=role,
                outlet_id=outlet_id,
                active=True,
                created_at=now,
                employee_ref=employee,
            )
            session.add(user)
            session.flush()
            scope = "all" if all_outlets else ""  # the audit names a regional supervisor
            audit.append(
                session,
                actor,
                "user.create",
                "ok",
                {"user": user.id, "role": role, "outlet": outlet_id or scope},
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
    username = canonical_username(username)
    password_hash = hash_password(password)
    with database.transaction() as session:
        user_id = session.scalar(  # a new password also reactivates and unlocks the account
            update(User)
            .where(User.username == username)
            .values(password_hash=password_hash, active=True, failed_logins=0, locked_until=None)
            .returning(User.id)
        )
        if user_id is None:
            raise NotFoundError(f"no user named {username!r}")
        audit.append(session, actor, "user.password", "ok", {"user": user_id}, at=now)


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
    """The user can no longer sign in and their tokens are revoked. One conditional UPDATE
    (active, not the actor, not the last active admin) that a single request wins; a loser, or
    a request that breaks a rule, answers 409: USER_INACTIVE, SELF_DEACTIVATION or LAST_ADMIN.

    On PostgreSQL the active admins' rows are locked first (``FOR UPDATE``), so two admins
    deactivating each other cannot both count the other as still there; SQLite serialises
    every transaction (``BEGIN IMMEDIATE``)."""
    username = canonical_username(username)
    if username == actor.name:
        raise SelfDeactivationError("an administrator cannot deactivate their own account")
    with database.transaction() as session:
        admins = select(User.id).where(User.role == "admin", User.active.is_(True))
        session.execute(admins.with_for_update())
        others = (
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active.is_(True), User.username != username)
            .scalar_subquery()
        )
        user_id = session.scalar(
            update(User)
            .where(
                User.username == username,
                User.active.is_(True),
                or_(User.role != "admin", others > 0),
            )
            .values(active=False)
            .returning(User.id)
        )
        if user_id is None:
            found = session.scalars(select(User).where(User.username == username)).first()
            if found is None:
                raise NotFoundError(f"no user named {username!r}")
            if not found.active:
                raise UserInactiveError(f"{username} is already deactivated")
            raise LastAdminError("the last active administrator cannot be deactivated")
        session.execute(
            update(Token)
            .where(Token.user_id == user_id, Token.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        audit.append(session, actor, "user.deactivate", "ok", {"user": user_id}, at=now)


def login(
    database: Database,
    audit: AuditStore,
    username: str,
    password: str,
    now: datetime,
    ttl_s: int,
    locks: LoginLocks,
) -> IssuedToken:
    """A token for valid credentials. A locked account answers ACCOUNT_LOCKED (429,
    ``Retry-After``) without its password being checked; a checked failure is audited, counted
    in ``users.failed_logins`` by one conditional UPDATE and answers AUTH_INVALID, and the
    ``locks.failures``-th in a row locks the account instead (one ``auth.lock`` entry). A name
    that is no account follows the same course in memory (:class:`LoginLocks`), against a dummy
    hash, so the answers do not tell whether it exists. See
    :mod:`realname.service.signin`."""
    key = account_key(username)
    with database.transaction() as session:
        user = session.scalars(select(User).where(User.username == key)).first()
    if user is None:
        wait = locks.unknown_wait_s(key, now)
        if wait is not None:
            raise _locked(wait)
        verify_password(None, password)  # argon2 against a dummy hash: the same time
        # A mistyped username may be personal data: only a known user's id is recorded.
        audit.record(Actor("unknown"), "auth.login", "failed", {}, at=now)
        if locks.unknown_failed(key, now):
            raise _locked(locks.lock_s)
        raise AuthInvalidError("wrong username or password")
    wait = locks.wait_s(user.locked_until, now)
    if wait is not None:
        raise _locked(wait)
    if not verify_password(user.password_hash, password):  # argon2: outside any transaction
        return _failed(database, audit, user, now, locks)
    if not user.active:
        audit.record(Actor(user.username), "auth.login", "inactive", {"user": user.id}, at=now)
        raise AuthInvalidError("wrong username or password")
    with database.transaction() as session:
        reset = session.execute(
            update(User)
            .where(User.id == user.id, User.active.is_(True), _not_locked(now))
            .values(failed_logins=0, locked_until=None)
            .returning(User.id)
        ).first()
        if reset is None:  # locked (or deactivated) since the check above
            raise _locked(locks.lock_s)
        token, _row = issue_token(session, user, now, ttl_s)
        audit.append(
            session,
            Actor(user.username, user.outlet_id),
            "auth.login",
            "ok",
            {"user": user.id},
            at=now,
        )
    return IssuedToken(token, ttl_s)


def _locked(wait_s: int) -> AccountLockedError:
    return AccountLockedError(
        "too many failed sign-ins: the account is locked for a while", retry_after_s=wait_s
    )


def _not_locked(now: datetime) -> ColumnElement[bool]:
    return or_(User.locked_until.is_(None), User.locked_until <= now)


def _failed(
    database: Database, audit: AuditStore, user: User, now: datetime, locks: LoginLocks
) -> NoReturn:
    """Count a checked failure: one conditional UPDATE (only while the account is not locked)
    adds one to ``failed_logins``, or, at the ``locks.failures``-th, resets it and sets
    ``locked_until``; the request whose UPDATE set the lock writes the one ``auth.lock``."""
    reaches = User.failed_logins + 1 >= locks.failures
    until = locks.until(now)
    actor = Actor(user.username, user.outlet_id)
    with database.transaction() as session:
        row = session.execute(
            update(User)
            .where(User.id == user.id, _not_locked(now))
            .values(
                failed_logins=case((reaches, 0), else_=User.failed_logins + 1),
                locked_until=case((reaches, literal(until, UTCDateTime())), else_=None),
            )
            .returning(User.locked_until)
        ).first()
        audit.append(session, actor, "auth.login", "failed", {"user": user.id}, at=now)
        if row is not None and row.locked_until is not None:
            objects = {"user": user.id, "failures": locks.failures, "seconds": locks.lock_s}
            audit.append(session, actor, "auth.lock", "ok", objects, at=now)
    if row is None or row.locked_until is not None:  # locked now, or by a concurrent attempt
        raise _locked(locks.lock_s)
    raise AuthInvalidError("wrong username or password")


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
