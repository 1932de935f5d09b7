"""The life cycles of a registration session and of a review: one ``StrEnum`` each, one table of
allowed transitions, and one function that applies a transition as a single conditional UPDATE.

Sessions (``awaiting_capture`` moves to itself where a challenge and its nonce are issued,
``POST .../challenge``, and where an unanswered one expires; each such move is guarded by the
nonce hash and the count of challenges it read, so of two concurrent issues one wins)::

    manual (consent refused: closed at once)

    awaiting_card ──card──> awaiting_capture ──nonce──> capturing ──> passed ──bind──> bound
         │                    │        ^                 │  │  │
         │                    │        └─ failed, tries ─┘  │  └──> review ──> approved ──> bound
         │                    │           left (or released)│           └───> rejected
         └── deadline ────────┴──> expired                  └──> failed (no tries left)

    passed, approved, review ── retention ──> expired

A capture past its time limit is released (``CAPTURE_INTERRUPTED``) like a failed attempt.

Reviews: ``pending`` -> ``approved`` | ``rejected`` | ``expired``.

A transition is ``UPDATE ... SET state = :to WHERE id = :id AND state IN (:from) [AND ...]``:
on SQLite (``BEGIN IMMEDIATE``) and on PostgreSQL (READ COMMITTED: the second UPDATE waits for
the first's row lock, then re-checks its WHERE against the committed row) exactly one of many
concurrent requests changes the row. :func:`move` says whether this one did; the caller turns a
lost race into a 409.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from realname.errors import InternalError
from realname.service.store.models import RegistrationSession, Review

__all__ = [
    "OPEN_STATES",
    "REVIEW_TRANSITIONS",
    "SESSION_TRANSITIONS",
    "ReviewState",
    "SessionState",
    "move_review",
    "move_session",
]


class SessionState(StrEnum):
    MANUAL = "manual"
    AWAITING_CARD = "awaiting_card"
    AWAITING_CAPTURE = "awaiting_capture"
    CAPTURING = "capturing"
    PASSED = "passed"
    REVIEW = "review"
    APPROVED = "approved"
    REJECTED = "rejected"
    FAILED = "failed"
    BOUND = "bound"
    EXPIRED = "expired"


S = SessionState
SESSION_TRANSITIONS: Mapping[SessionState, frozenset[SessionState]] = {
    S.MANUAL: frozenset(),
    S.AWAITING_CARD: frozenset({S.AWAITING_CARD, S.AWAITING_CAPTURE, S.EXPIRED}),
    S.AWAITING_CAPTURE: frozenset({S.AWAITING_CAPTURE, S.CAPTURING, S.EXPIRED}),
    S.CAPTURING: frozenset({S.PASSED, S.REVIEW, S.AWAITING_CAPTURE, S.FAILED}),
    S.PASSED: frozenset({S.BOUND, S.EXPIRED}),
    S.REVIEW: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED}),
    S.APPROVED: frozenset({S.BOUND, S.EXPIRED}),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
    S.BOUND: frozenset(),
    S.EXPIRED: frozenset(),
}
#: A session still being worked on; any other but ``manual`` is closed (SESSION_CLOSED).
OPEN_STATES = frozenset({S.AWAITING_CARD, S.AWAITING_CAPTURE, S.CAPTURING})


class ReviewState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


R = ReviewState
REVIEW_TRANSITIONS: Mapping[ReviewState, frozenset[ReviewState]] = {
    R.PENDING: frozenset({R.APPROVED, R.REJECTED, R.EXPIRED}),
    R.APPROVED: frozenset(),
    R.REJECTED: frozenset(),
    R.EXPIRED: frozenset(),
}


def _sources(
    table: Mapping[Any, frozenset[Any]], from_: Any | Iterable[Any], to: Any
) -> tuple[str, ...]:
    sources = (from_,) if isinstance(from_, StrEnum) else tuple(from_)
    for source in sources:
        if to not in table[source]:
            raise InternalError(f"no transition {source} -> {to} in the life cycle")
    return tuple(str(s) for s in sources)


def move_session(
    session: Session,
    session_id: str,
    from_: SessionState | Iterable[SessionState],
    to: SessionState,
    *,
    where: Iterable[ColumnElement[bool]] = (),
    **values: Any,
) -> bool:
    """Move one session from ``from_`` to ``to`` (setting ``values`` too) if it is still in
    ``from_`` and ``where`` holds; True when this call made the change."""
    sources = _sources(SESSION_TRANSITIONS, from_, to)
    result = session.execute(
        update(RegistrationSession)
        .where(
            RegistrationSession.id == session_id,
            RegistrationSession.state.in_(sources),
            *where,
        )
        .values(state=str(to), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def move_review(
    session: Session,
    review_id: str,
    from_: ReviewState,
    to: ReviewState,
    **values: Any,
) -> bool:
    """Move one review from ``from_`` to ``to`` if it is still there; True when this call did."""
    sources = _sources(REVIEW_TRANSITIONS, from_, to)
    result = session.execute(
        update(Review)
        .where(Review.id == review_id, Review.state.in_(sources))
        .values(state=str(to), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
