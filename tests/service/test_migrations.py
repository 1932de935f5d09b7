"""Migration 0002 brings stored usernames to their canonical lower-case form (sign-in looks
them up that way), except where that would clash with another user."""

from __future__ import annotations

from sqlalchemy import text

from realname.service.db import Database
from realname.service.migrate import upgrade


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
