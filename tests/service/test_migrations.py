"""Migration 0002 brings stored usernames to their canonical lower-case form (sign-in looks
them up that way), except where that would clash with another user."""

from __future__ import annotations

from sqlalchemy import text

from realname.service.store.db import Database
from realname.service.store.migrate import upgrade


def test_usernames_are_lower_cased_unless_that_clashes(database_url: str) -> None:
    database = Database(database_url)
    try:
        upgrade(database, "0001")
        with database.engine.begin() as conn:
            for name in ("Alice", "BOB", "bob", "carol"):
                conn.execute(
                    text(
                        "INSERT INTO users (username, password_hash, role, active, created_at) "
                        "VALUES (:n, 'x', 'clerk', true, CURRENT_TIMESTAMP)"
                    ),
                    {"n": name},
                )
        upgrade(database)
        with database.engine.begin() as conn:
            names = sorted(r[0] for r in conn.execute(text("SELECT username FROM users")))
        assert names == ["BOB", "alice", "bob", "carol"]
    finally:
        database.dispose()


def test_0003_spends_unscheduled_challenges_of_open_sessions(database_url: str) -> None:
    database = Database(database_url)
    try:
        upgrade(database, "0002")
        with database.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outlets (id, name, created_at) VALUES (1, 'A', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, outlet_id, active,"
                    " created_at) VALUES (1, 'c', 'x', 'clerk', 1, true, CURRENT_TIMESTAMP)"
                )
            )
            for sid, state, challenge in (
                ("open", "awaiting_capture", "blink,turn_left"),
                ("done", "passed", "blink,turn_right"),
                ("none", "manual", None),
            ):
                conn.execute(
                    text(
                        "INSERT INTO sessions (id, outlet_id, clerk_id, state, biometric_consent,"
                        " consent_text_version, created_at, expires_at, challenge, nonce_hash,"
                        " attempts, reasons) VALUES (:id, 1, 1, :state, true, 'v1',"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :challenge, :nonce, 0, '')"
                    ),
                    {"id": sid, "state": state, "challenge": challenge, "nonce": "h" * 64},
                )
        upgrade(database)
        with database.engine.begin() as conn:
            rows = {
                r[0]: tuple(r[1:])
                for r in conn.execute(
                    text(
                        "SELECT id, challenge, nonce_hash, challenges_issued, challenge_issued_at"
                        " FROM sessions"
                    )
                )
            }
        assert rows["open"] == (None, None, 1, None)  # spent: it cannot be judged any more
        assert rows["done"] == ("blink,turn_right", "h" * 64, 1, None)
        assert rows["none"] == (None, "h" * 64, 0, None)
    finally:
        database.dispose()
