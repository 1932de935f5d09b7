"""The life cycles' tables are the law: every (from, to) pair outside a table is refused by the
one function that applies it, every pair inside it is applied, on a real database (SQLite, and
PostgreSQL when configured); the API's literal state and verdict names agree with the enums."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import get_args

import pytest
from sqlalchemy import update

from realname.errors import InternalError
from realname.service.api.schemas import CaptureOut, SessionOut
from realname.service.store.models import RegistrationSession, Review
from realname.service.usecases.lifecycle import (
    OPEN_STATES,
    REVIEW_TRANSITIONS,
    SESSION_TRANSITIONS,
    ReviewState,
    SessionState,
    move_review,
    move_session,
)
from realname.service.verification import Verdict
from tests.service.conftest import Service

SESSION_PAIRS = list(itertools.product(SessionState, repeat=2))
REVIEW_PAIRS = list(itertools.product(ReviewState, repeat=2))


def _session_state(service: Service, session_id: str) -> str:
    with service.ctx.database.transaction() as session:
        row = session.get(RegistrationSession, session_id)
        assert row is not None
        return row.state


def _put_session(service: Service, session_id: str, state: SessionState) -> None:
    with service.ctx.database.transaction() as session:
        session.execute(
            update(RegistrationSession)
            .where(RegistrationSession.id == session_id)
            .values(state=str(state))
        )


def _review_state(service: Service, review_id: str) -> str:
    with service.ctx.database.transaction() as session:
        row = session.get(Review, review_id)
        assert row is not None
        return row.state


def _new_review(service: Service, session_id: str) -> str:
    review_id = str(uuid.uuid4())
    now = service.ctx.now()
    with service.ctx.database.transaction() as session:
        s = session.get(RegistrationSession, session_id)
        assert s is not None
        session.add(
            Review(
                id=review_id,
                session_id=s.id,
                outlet_id=s.outlet_id,
                state=str(ReviewState.PENDING),
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
    return review_id


def test_the_tables_name_every_state_and_no_other() -> None:
    assert set(SESSION_TRANSITIONS) == set(SessionState)
    assert set(REVIEW_TRANSITIONS) == set(ReviewState)
    assert all(targets <= set(SessionState) for targets in SESSION_TRANSITIONS.values())
    assert all(targets <= set(ReviewState) for targets in REVIEW_TRANSITIONS.values())
    assert set(SessionState) >= OPEN_STATES


def test_the_api_literals_are_the_enums_values() -> None:
    verdicts = {str(v) for v in Verdict}
    assert set(get_args(CaptureOut.model_fields["verdict"].annotation)) == verdicts
    optional = get_args(SessionOut.model_fields["verdict"].annotation)
    assert {a for literal in optional for a in get_args(literal)} == verdicts


def test_every_session_transition_outside_the_table_is_refused_and_every_one_in_it_applied(
    service: Service,
) -> None:
    session_id = service.start()["id"]
    for source, target in SESSION_PAIRS:
        _put_session(service, session_id, source)
        allowed = target in SESSION_TRANSITIONS[source]
        with service.ctx.database.transaction() as session:
            if allowed:
                assert move_session(session, session_id, source, target), (source, target)
            else:
                with pytest.raises(InternalError, match="no transition"):
                    move_session(session, session_id, source, target)
        assert _session_state(service, session_id) == (target if allowed else source)


def test_a_session_transition_from_a_state_it_is_not_in_changes_nothing(
    service: Service,
) -> None:
    session_id = service.start()["id"]
    for source, target in SESSION_PAIRS:
        if target not in SESSION_TRANSITIONS[source]:
            continue
        elsewhere = next(s for s in SessionState if s != source)
        _put_session(service, session_id, elsewhere)
        with service.ctx.database.transaction() as session:
            assert not move_session(session, session_id, source, target), (source, target)
        assert _session_state(service, session_id) == elsewhere


def test_every_review_transition_outside_the_table_is_refused_and_every_one_in_it_applied(
    service: Service,
) -> None:
    session_id = service.start()["id"]
    review_id = _new_review(service, session_id)
    for source, target in REVIEW_PAIRS:
        with service.ctx.database.transaction() as session:
            session.execute(update(Review).where(Review.id == review_id).values(state=str(source)))
        allowed = target in REVIEW_TRANSITIONS[source]
        with service.ctx.database.transaction() as session:
            if allowed:
                assert move_review(session, review_id, source, target), (source, target)
            else:
                with pytest.raises(InternalError, match="no transition"):
                    move_review(session, review_id, source, target)
        assert _review_state(service, review_id) == (target if allowed else source)


def test_a_set_of_sources_is_refused_when_any_of_them_may_not_reach_the_target(
    service: Service,
) -> None:
    session_id = service.start()["id"]
    _put_session(service, session_id, SessionState.PASSED)
    with service.ctx.database.transaction() as session, pytest.raises(InternalError):
        move_session(
            session, session_id, (SessionState.PASSED, SessionState.FAILED), SessionState.BOUND
        )
    assert _session_state(service, session_id) == SessionState.PASSED
