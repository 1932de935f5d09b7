"""The service through PgBouncer in transaction mode (deploy/pgbouncer.ini as it ships, but for
the paths, the ports, the database and trust auth; issue 16): migrations, registrations and a
race for one number through two server connections, with ``REALNAME_DATABASE_POOLER`` on.

Needs ``REALNAME_TEST_POSTGRES_URL`` (skipped without it, as every PostgreSQL test) and the
``pgbouncer`` program (skipped without it; ``.ci/run`` installs Debian's ``pgbouncer``)."""

from __future__ import annotations

import configparser
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from realname.service.app import create_app
from tests.service.conftest import POSTGRES_ENV, Clock, Service, make_id, make_settings, populate
from tests.service.fakes import FakeVerifier
from tests.service.invariant import assert_invariants

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)
pytestmark = [
    pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"needs {POSTGRES_ENV}"),
    pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed (apt pgbouncer)"),
]
SERVER_CONNECTIONS = 2  # default_pool_size here: the app's pool is larger
INI = Path(__file__).resolve().parents[2] / "deploy" / "pgbouncer.ini"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    """A fresh database on the test server: (its name, the server's URL with it)."""
    base = urlsplit(os.environ[POSTGRES_ENV])
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(urlunsplit(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield name, urlunsplit(base._replace(path="/" + name))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pgbouncer(database: tuple[str, str]) -> Iterator[str]:
    """deploy/pgbouncer.ini running in front of the fresh database: the URL through it."""
    name, _ = database
    server = urlsplit(os.environ[POSTGRES_ENV])
    folder = Path(tempfile.mkdtemp(prefix="realname-pgbouncer-"))
    config = configparser.ConfigParser()
    config.read(INI)
    port = _free_port()
    host, server_port = server.hostname or "127.0.0.1", server.port or 5432
    config["databases"] = {"realname": f"host={host} port={server_port} dbname={name}"}
    (folder / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    config["pgbouncer"].update(
        listen_port=str(port),
        default_pool_size=str(SERVER_CONNECTIONS),
        reserve_pool_size="0",
        auth_type="trust",
        auth_file=str(folder / "users.txt"),
        logfile=str(folder / "pgbouncer.log"),
        pidfile=str(folder / "pgbouncer.pid"),
    )
    with (folder / "pgbouncer.ini").open("w") as fh:
        config.write(fh)
    command = [str(PGBOUNCER), str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer will not run as root: as the postgres user, who writes here
        command[1:1] = ["-u", "postgres"]
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "postgres")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = folder / "pgbouncer.log"
                    raise AssertionError(log.read_text() if log.exists() else "no log") from None
                time.sleep(0.1)
        user = server.username or "postgres"
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/realname"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _server_connections(url: str, name: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"), {"d": name}
        )
    engine.dispose()
    return int(count or 0)


def test_the_service_runs_through_pgbouncer_in_transaction_mode(
    pgbouncer: str, database: tuple[str, str]
) -> None:
    name, direct = database
    settings = make_settings(pgbouncer, database_pooler=True, database_pool_size=6)
    verifier, clock = FakeVerifier(), Clock()
    app = create_app(
        settings, verifier=verifier, enroller=verifier.enrol, clock=clock, periodic_tasks=False
    )
    with TestClient(app) as client:  # the migrations ran through it
        svc = Service(client, app.state.ctx, clock, verifier)
        populate(svc.ctx)
        svc.headers["clerk_a"] = svc.login("clerk_a")
        for n in range(8):  # more than the five runs after which psycopg would prepare
            bound = svc.bind(svc.passed_session(make_id(sequence=f"{600 + n}")), f"1391234567{n}")
            assert bound.status_code == 201, bound.text
        sessions = [svc.passed_session(make_id(sequence=f"{700 + n}")) for n in range(6)]
        answers: list[int] = []
        threads = [
            threading.Thread(
                target=lambda s=s: answers.append(svc.bind(s, "13900000000").status_code)
            )
            for s in sessions
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [201] + [409] * 5
        assert _server_connections(direct, name) <= SERVER_CONNECTIONS + 1  # + this look
        assert_invariants(svc.ctx)
        verifier.release.set()
    app.state.ctx.database.dispose()
