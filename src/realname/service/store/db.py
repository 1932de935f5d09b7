"""Database engine and transactions: SQLite (default) or PostgreSQL, SQLAlchemy 2.

SQLite serialises every transaction with ``BEGIN IMMEDIATE`` (it takes the write lock at the
start), so check-then-write sequences such as "fewer than 5 numbers, then bind" cannot
interleave. PostgreSQL runs at READ COMMITTED and the code locks what it reads before writing
(``SELECT ... FOR UPDATE`` on the identity, an advisory lock for the audit chain) and relies on
the partial unique index on active numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from realname.errors import DatabaseUnavailableError, InternalError

UNAVAILABLE_RETRY_AFTER_S = 2  # a restarting PostgreSQL is back within seconds

__all__ = ["Base", "Database", "UTCDateTime", "sqlite_path", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise InternalError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///FILE`` URL (None for other databases or in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """One engine and its sessions; ``transaction()`` commits or rolls back as a unit."""

    def __init__(
        self, url: str, *, pool_size: int = 10, max_overflow: int = 20, pooler: bool = False
    ) -> None:
        """``pool_size`` and ``max_overflow``: PostgreSQL connections kept open and opened at a
        peak. ``pooler``: the URL is a PgBouncer in transaction mode, where consecutive
        transactions of one connection may run on different server connections, so psycopg's
        server-side prepared statements (made after a query's fifth run) are turned off."""
        self.url = url
        backend = make_url(url).get_backend_name()
        self.dialect = backend
        if backend == "sqlite":
            path = sqlite_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=max_overflow,
                connect_args={"prepare_threshold": None} if pooler else {},
            )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction, committed at the end, rolled back on any error. A lost or refused
        connection (the server restarting, a network cut; SQLite's lock held past its 30 s
        busy timeout) becomes :class:`DatabaseUnavailableError`: 503 with ``Retry-After``,
        nothing of the request written."""
        try:
            with self._sessions() as session, session.begin():
                yield session
        except (OperationalError, InterfaceError) as error:
            if not self._unavailable(error):
                raise  # SQLite's OperationalError also says "no such table": a bug, not a wait
            if self.is_postgres:
                self.engine.dispose()  # drop every pooled connection of the lost server
            raise DatabaseUnavailableError(
                "the database did not answer; nothing was written: try again",
                retry_after_s=UNAVAILABLE_RETRY_AFTER_S,
            ) from error

    def _unavailable(self, error: OperationalError | InterfaceError) -> bool:
        if self.is_postgres or isinstance(error, InterfaceError):
            return True  # PostgreSQL's operational errors: connections, restarts, deadlocks
        text = str(error.orig).lower()
        return "locked" in text or "busy" in text or "unable to open" in text

    def reachable(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()
