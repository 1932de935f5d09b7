"""Passwords (argon2id), opaque bearer tokens (stored as SHA-256 only) and roles."""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from realname.errors import AuthError, AuthInvalidError, ForbiddenError
from realname.service.store.models import ROLES, Token, User

__all__ = [
    "ROLES",
    "Principal",
    "hash_password",
    "hash_token",
    "issue_token",
    "principal_for_token",
    "require_role",
    "verify_password",
]

_hasher = PasswordHasher()
_dummy_lock = threading.Lock()
_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash verified against when the username is unknown, so both cases take the same time.
    Computed once, on the first sign-in (never at import), under a lock."""
    global _dummy_hash
    if _dummy_hash is None:
        with _dummy_lock:
            if _dummy_hash is None:
                _dummy_hash = _hasher.hash("realname-dummy-password")
    return _dummy_hash


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user of a request."""

    user_id: int
    username: str
    role: str
    outlet_id: int | None
    token_hash: str

    def is_(self, *roles: str) -> bool:
        return self.role in roles


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    """SHA-256 of a random one-time secret (bearer tokens, capture nonces): stored instead of it."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, now: datetime, ttl_s: int) -> tuple[str, Token]:
    """A new random token for ``user``; only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    row = Token(
        token_hash=hash_token(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(row)
    return token, row


def principal_for_token(session: Session, token: str | None, now: datetime) -> Principal:
    if not token:
        raise AuthError("a bearer token is required (POST /api/v1/auth/token)")
    digest = hash_token(token)
    found = session.execute(
        select(Token, User).join(User, User.id == Token.user_id).where(Token.token_hash == digest)
    ).first()
    if found is None:
        raise AuthInvalidError("the token is not valid")
    row, user = found
    if row.revoked_at is not None or row.expires_at <= now or not user.active:
        raise AuthInvalidError("the token expired or was revoked")
    return Principal(user.id, user.username, user.role, user.outlet_id, digest)


def require_role(principal: Principal, *roles: str) -> Principal:
    if principal.role not in roles:
        raise ForbiddenError(
            f"the {principal.role} role may not do this", role=principal.role, needs="|".join(roles)
        )
    return principal
