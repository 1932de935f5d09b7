"""Whole registrations through the API against N instances on one PostgreSQL (issue 16).

    python benchmarks/load.py run --instances 2 --clients 4 --registrations 40 [--rate R]
    python benchmarks/load.py sizing --instances 1,2 [--registrations-per-instance 24]
    python benchmarks/load.py sizing --instances 1,2 --visit blink

Each instance is ``realname serve`` in its own process, pinned to one core with ``taskset``
(instance i on core i mod the cores there are), with the real engines, one verification
worker, dev mode with the fixed challenge and schedule that the headtrackr/capture4 clip
follows (the browser test's), all on a fresh PostgreSQL database (``--database-url``, default
``REALNAME_TEST_POSTGRES_URL``'s server, database ``realname_load``). Each client is a clerk of
its own outlet that signs in and then registers customers: session, card (the clip's own chip
portrait, a new ID number each time), challenge, capture of the real clip
(headtrackr/capture4 from 0.3 s, 11.1 s, under ``REALNAME_DATA`` or ../shared/data; ``--visit
blink``: fomm 0_b4e889c, a blink and a turn, see :data:`VISITS`), bind a new number. Every
request goes to the next instance in turn, so each session's steps are spread across
instances. A 503 ``BUSY`` is waited out (its ``Retry-After``) and retried, and counted.

A run stops after ``--registrations`` or ``--duration`` seconds, whichever comes first. With
``--rate`` the registrations start at that rate (an open loop: a new customer every 1/rate s,
whatever the service's pace, as at a counter); without it each client starts the next one as
soon as the last ended (a closed loop: the capacity). After every run ``realname check
invariants`` must pass on the database.

Measured: completed registrations per second; capture latency (the capture request, upload to
verdict) p50/p95/p99; the share of capture requests answered 503 BUSY; CPU seconds per
verification (every instance's user+system CPU time over the run, from /proc, divided by the
captures); peak memory per instance (VmHWM); database time per registration (PostgreSQL's
``pg_stat_database.active_time`` of the load database over the run, divided by the
registrations). ``sizing`` runs, for each instance count, a closed-loop run (the capacity)
then an open-loop run at 80% of it, and prints the README's table as Markdown.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers (clip cutting, chip portrait)
sys.path.insert(0, str(ROOT / "benchmarks"))  # proxy.py
PASSWORD = "correct horse battery"
CLIP = "face_videos/headtrackr/capture4.mp4"
CLIP_START_S, CLIP_LENGTH_S = 0.3, 11.1
# the fixed schedule the clip follows (tests/web/test_browser_registration.py: LIVE_CHALLENGE)
CHALLENGE = "turn_right@0.40-2.60,turn_left@1.80-4.00,turn_right@3.50-5.70,turn_left@4.80-7.00"


@dataclass(frozen=True)
class Visit:
    """The clip a run's customers show (under the data folder, cut from ``start_s`` for
    ``length_s``) and the dev-mode fixed challenge, with its schedule, that it follows."""

    clip: str
    start_s: float
    length_s: float
    challenge: str


#: ``--visit``: ``turns``, capture4's four turns (no blink: the Iris model never runs);
#: ``blink``, fomm 0_b4e889c (296x296), a blink (its closure at 1.27-1.40 s) then a left turn
#: (peak 3.7 s): the Iris model runs on the blink step's span, 67 of the 167 frames.
VISITS = {
    "turns": Visit(CLIP, CLIP_START_S, CLIP_LENGTH_S, CHALLENGE),
    "blink": Visit(
        "face_videos/fomm_demo_videos/0_b4e889c.mp4",
        0.0,
        11.1,
        "blink@0.80-3.00,turn_left@2.40-4.60",
    ),
}
CORES = os.cpu_count() or 1


def _clip_and_portrait(data: Path, folder: Path, visit: Visit) -> tuple[bytes, bytes]:
    from tests.data.test_service_registration import chip_portrait, read_frames, write_clip

    from realname.engines import load_engines

    frames, fps = read_frames(data / visit.clip)
    skip = round(visit.start_s * fps)
    clip = write_clip(frames[skip : skip + round(visit.length_s * fps)], fps, folder / "clip.mp4")
    return clip, chip_portrait(frames[0], load_engines())


def _id_number(n: int) -> tuple[str, str, str]:
    """A valid ID number (its birth date and sex) for registration ``n``."""
    from realname.identity.idcard import check_character

    birth = f"19{70 + n % 30:02d}0{1 + n % 9}1{n % 9}"
    sequence = f"{n % 1000:03d}"
    first = f"{110101 + (n // 1000) % 800:06d}" + birth + sequence
    sex = "男" if int(sequence[-1]) % 2 else "女"
    return first + check_character(first), f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", sex


def _card(n: int) -> dict[str, str]:
    number, birth, sex = _id_number(n)
    return {
        "id_number": number,
        "name": "张三",
        "sex": sex,
        "ethnicity": "汉",
        "birth_date": birth,
        "address": "北京市东城区某街1号",
        "issuing_authority": "北京市公安局东城分局",
        "valid_from": "2020-01-01",
        "valid_until": "",
        "guardian_consent": "false",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


class Database:
    """A fresh PostgreSQL database for one run, and its SQL time."""

    def __init__(self, server_url: str, name: str) -> None:
        from sqlalchemy import create_engine, text

        self.url = _with_database(server_url, name)
        self.name = name
        self._admin = create_engine(
            _with_database(server_url, "postgres"), isolation_level="AUTOCOMMIT", pool_pre_ping=True
        )
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self._text = text

    def active_ms(self) -> float:
        with self._admin.connect() as conn:
            conn.execute(self._text("SELECT pg_stat_clear_snapshot()"))
            value = conn.execute(
                self._text("SELECT active_time FROM pg_stat_database WHERE datname = :n"),
                {"n": self.name},
            ).scalar()
        return float(value or 0.0)

    def drop(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(self._text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


def _populate(env: dict[str, str], clerks: int) -> None:
    """Outlets and clerks (one each per client), written once by this process."""
    from realname.records.audit import Actor
    from realname.service.app import build_context
    from realname.service.settings import ServiceSettings
    from realname.service.store.migrate import upgrade
    from realname.service.usecases.people import create_outlet, create_user

    settings = ServiceSettings(
        _env_file=None,
        database_url=env["REALNAME_DATABASE_URL"],
        key_file=env["REALNAME_KEY_FILE"],
        dev_mode=True,
        card_reader="none",
    )
    ctx = build_context(settings)
    upgrade(ctx.database)
    now, actor = ctx.now(), Actor("load")
    for i in range(clerks):
        create_outlet(ctx.database, ctx.audit, actor, f"Outlet {i}", now)
        create_user(ctx.database, ctx.audit, actor, username=f"clerk{i}", password=PASSWORD,
                    role="clerk", outlet=f"Outlet {i}", now=now)  # fmt: skip
    ctx.database.dispose()


@dataclass
class Instance:
    core: int
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    _log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "realname.cli.main", "serve", "--port", str(self.port)]
        if self._log is not None:
            self._log.close()
        self._log = self.log.open("ab")
        self.process = subprocess.Popen(
            ["taskset", "-c", str(self.core), *command],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout_s: float = 240.0) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"instance on core {self.core} exited: see {self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"instance on core {self.core} not ready: see {self.log}")

    def cpu_s(self) -> float:
        """User and system CPU seconds of the process (NaN once it is gone: a fault run)."""
        assert self.process is not None
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except FileNotFoundError:
            return float("nan")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        assert self.process is not None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except FileNotFoundError:
            return float("nan")
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    failed: list[str] = field(default_factory=list)
    capture_s: list[float] = field(default_factory=list)
    captures: int = 0  # capture requests, retried ones each counted
    busy: int = 0  # capture requests answered 503 BUSY
    other_busy: int = 0  # other requests answered 503
    seen: Counter[str] = field(default_factory=Counter)  # "step status" or "step Error" counts

    def saw(self, what: str) -> None:
        with self.lock:
            self.seen[what] += 1


class Client:
    """One clerk at the counter: signs in once, then registers customers."""

    def __init__(
        self, index: int, urls: list[str], clip: bytes, portrait: bytes, verify: Any = True
    ) -> None:
        self.index = index
        self.urls = itertools.cycle(random.Random(index).sample(urls, len(urls)))
        self.clip, self.portrait = clip, portrait
        self.http = httpx.Client(timeout=120, verify=verify)
        self.headers: dict[str, str] = {}

    def request(
        self, tally: Tally, step: str, method: str, path: str, capture: bool = False, **kw: Any
    ) -> Any:
        """One step: a 503 is waited out (its Retry-After) and retried; a refused connection
        (an instance down) is retried on the next instance, as the proxy does; any other
        transport error (an instance killed mid-request) is raised."""
        refused = 0
        while True:
            started = time.monotonic()
            url = next(self.urls) + "/api/v1" + path
            try:
                r = self.http.request(method, url, headers=self.headers, **kw)
            except httpx.ConnectError:
                tally.saw(f"{step} ConnectError")
                refused += 1
                if refused > 40:
                    raise
                time.sleep(0.25)
                continue
            except httpx.TransportError as error:
                tally.saw(f"{step} {type(error).__name__}")
                raise
            code = ""
            if r.status_code >= 400:
                try:
                    code = str(r.json().get("code", ""))
                except ValueError:
                    code = "(not JSON)"
            tally.saw(f"{step} {r.status_code} {code}".strip())
            if capture:
                with tally.lock:
                    tally.captures += 1
            if r.status_code == 503:
                with tally.lock:
                    if capture:
                        tally.busy += 1
                    else:
                        tally.other_busy += 1
                time.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            if capture and r.status_code == 200:
                with tally.lock:
                    tally.capture_s.append(time.monotonic() - started)
            return r

    def sign_in(self, tally: Tally) -> None:
        form = {"username": f"clerk{self.index}", "password": PASSWORD}
        r = self.request(tally, "sign-in", "POST", "/auth/token", data=form)
        r.raise_for_status()
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def register(self, n: int, tally: Tally) -> None:
        consent = {"biometric_consent": True, "consent_text_version": "v1"}
        s = self.request(tally, "session", "POST", "/sessions", json=consent)
        if s.status_code != 201:
            raise RuntimeError(f"session {s.status_code} {s.text[:200]}")
        sid = s.json()["id"]
        files = {"portrait": ("portrait.png", self.portrait, "image/png")}
        card = self.request(
            tally, "card", "PUT", f"/sessions/{sid}/id-card", data=_card(n), files=files
        )
        if card.status_code != 200:
            raise RuntimeError(f"card {card.status_code} {card.text[:200]}")
        nonce = self.request(tally, "challenge", "POST", f"/sessions/{sid}/challenge").json()[
            "nonce"
        ]
        clip = {"clip": ("clip.mp4", self.clip, "video/mp4")}
        verdict = self.request(tally, "capture", "POST", f"/sessions/{sid}/capture", capture=True,
                               data={"nonce": nonce}, files=clip)  # fmt: skip
        if verdict.status_code != 200 or verdict.json()["verdict"] != "passed":
            raise RuntimeError(f"capture {verdict.status_code} {verdict.text[:300]}")
        msisdn = f"139{n:08d}"
        bound = self.request(
            tally, "bind", "POST", "/subscriptions", json={"session_id": sid, "msisdn": msisdn}
        )
        if bound.status_code not in (200, 201):
            raise RuntimeError(f"bind {bound.status_code} {bound.text[:200]}")


def _drive(
    clients: list[Client], total: int, duration_s: float, rate: float | None, tally: Tally
) -> Tally:
    numbers = itertools.count()
    deadline = time.monotonic() + duration_s
    free: list[Client] = list(clients)
    free_lock = threading.Condition()

    def one(client: Client) -> None:
        n = next(numbers)
        try:
            client.register(n, tally)
            with tally.lock:
                tally.done += 1
        except Exception as error:  # a failed registration is a result, reported
            with tally.lock:
                tally.failed.append(str(error)[:300])

    for client in clients:
        client.sign_in(tally)
    if rate is None:  # closed loop: each clerk goes on as soon as the last customer is done
        started = itertools.count()

        def loop(client: Client) -> None:
            while next(started) < total and time.monotonic() < deadline:
                one(client)

        threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    else:  # open loop: a customer every 1/rate s, served by the next free clerk

        def arrive() -> None:
            for i in range(total):
                at = i / rate
                wait = at - (time.monotonic() - t0)
                if wait > 0:
                    time.sleep(wait)
                if time.monotonic() >= deadline:
                    return
                with free_lock:
                    while not free:
                        free_lock.wait()
                    client = free.pop()
                threading.Thread(target=serve, args=(client,)).start()

        def serve(client: Client) -> None:
            one(client)
            with free_lock:
                free.append(client)
                free_lock.notify()

        threads = [threading.Thread(target=arrive)]
    t0 = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with free_lock:  # the open loop's last customers
        while rate is not None and len(free) < len(clients):
            free_lock.wait(timeout=1)
    return tally


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    return (
        round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)
        if len(values) > 1
        else round(values[0], 2)
    )


def run(
    instances: int,
    clients: int,
    registrations: int,
    duration_s: float,
    rate: float | None,
    server_url: str,
    data: Path,
    workdir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    fault: Callable[[list[Instance], Tally], None] | None = None,
    after: Callable[[dict[str, str]], None] | None = None,
    proxy: bool = False,
    visit: str = "turns",
) -> dict[str, Any]:
    """One run; ``fault(servers, tally)`` runs in a thread of its own from the start of the
    load (it injects a fault), ``after(env)`` once the load is over, before the invariants
    are checked. ``proxy``: the clients go through the reference nginx (benchmarks/proxy.py)
    instead of to each instance in turn. ``visit``: what the customers show (:data:`VISITS`)."""
    shown = VISITS[visit]
    clip, portrait = _clip_and_portrait(data, workdir, shown)
    db = Database(server_url, "realname_load")
    from realname.service.keys import generate_key_file_content

    keys = workdir / "keys.json"
    keys.write_text(generate_key_file_content())
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "REALNAME_DATABASE_URL": db.url,
        "REALNAME_KEY_FILE": str(keys),
        "REALNAME_DEV_MODE": "1",
        "REALNAME_DEV_FIXED_CHALLENGE": shown.challenge,
        "REALNAME_WORKERS": "1",
        "REALNAME_CARD_READER": "none",
        "REALNAME_SESSION_RATE_PER_CLERK": "100000/hour",
        "REALNAME_SESSION_RATE_PER_OUTLET": "100000/hour",
        "REALNAME_LOGIN_RATE_ADDRESS": "100000/minute",
        **(extra_env or {}),
    }
    _populate(env, clients)
    servers = [Instance(i % CORES, env, workdir / f"instance{i}.log") for i in range(instances)]
    front: Any = None
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        urls, verify = [s.url for s in servers], True
        if proxy:
            from proxy import Proxy

            front = Proxy(workdir / "nginx", [s.port for s in servers])
            front.start()
            urls, verify = [front.url], front.ssl_context()
        pool = [Client(i, urls, clip, portrait, verify) for i in range(clients)]
        cpu0, db0 = [s.cpu_s() for s in servers], db.active_ms()
        t0 = time.monotonic()
        tally = Tally()
        injector = None
        if fault is not None:
            injector = threading.Thread(target=fault, args=(servers, tally))
            injector.start()
        try:
            _drive(pool, registrations, duration_s, rate, tally)
        finally:
            for client in pool:
                client.http.close()
        wall = time.monotonic() - t0
        if injector is not None:
            injector.join()
        cpu = sum(s.cpu_s() - c for s, c in zip(servers, cpu0, strict=True))
        db_ms = db.active_ms() - db0
        memory = [s.peak_rss_mb() for s in servers]
        memory = [round(m) if m == m else m for m in memory]  # NaN: the process is gone
        if after is not None:
            after(env)
    finally:
        if front is not None:
            front.stop()
        for server in servers:
            server.stop()
    check = subprocess.run(
        [sys.executable, "-m", "realname.cli.main", "check", "invariants", "--json"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    db.drop()
    verified = len(tally.capture_s)
    return {
        "instances": instances,
        "visit": visit,
        "cores": sorted({s.core for s in servers}),
        "clients": clients,
        "rate_per_s": rate,
        "wall_s": round(wall, 1),
        "registrations": tally.done,
        "failed": len(tally.failed),
        "failures": tally.failed[:5],
        "registrations_per_s": round(tally.done / wall, 3),
        "capture_p50_s": _percentile(tally.capture_s, 50),
        "capture_p95_s": _percentile(tally.capture_s, 95),
        "capture_p99_s": _percentile(tally.capture_s, 99),
        "busy_share": round(tally.busy / tally.captures, 3) if tally.captures else None,
        "other_503": tally.other_busy,
        "cpu_s_per_verification": round(cpu / verified, 2) if verified else None,
        "peak_rss_mb": memory,
        "db_ms_per_registration": round(db_ms / tally.done, 1) if tally.done else None,
        "seen": dict(sorted(tally.seen.items())),
        "invariants_ok": check.returncode == 0,
        "invariants": check.stdout[-2000:] if check.returncode else "ok",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| instances (cores) | load | registrations/s | capture p50 / p95 / p99 (s) | BUSY share "
        "| CPU s per verification | peak memory per instance (MB) | DB ms per registration "
        "| invariants |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        load = "closed loop (capacity)" if r["rate_per_s"] is None else f"{r['rate_per_s']}/s (80%)"
        lines.append(
            f"| {r['instances']} ({','.join(map(str, r['cores']))}) | {load} | "
            f"{r['registrations_per_s']} | {r['capture_p50_s']} / {r['capture_p95_s']} / "
            f"{r['capture_p99_s']} | {r['busy_share']} | {r['cpu_s_per_verification']} | "
            f"{'/'.join(map(str, r['peak_rss_mb']))} | {r['db_ms_per_registration']} | "
            f"{'ok' if r['invariants_ok'] else 'BROKEN'} |"
        )
    return "\n".join(lines)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["run", "sizing"])
    parser.add_argument("--instances", default="1", help="a count (run) or counts, 1,2 (sizing)")
    parser.add_argument("--clients", type=int, default=0, help="clerks (default 3 per instance)")
    parser.add_argument("--registrations", type=int, default=24)
    parser.add_argument("--registrations-per-instance", type=int, default=24)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds a run lasts at most")
    parser.add_argument("--rate", type=float, default=None, help="registrations started per s")
    server = os.environ.get(
        "REALNAME_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    data = Path(os.environ.get("REALNAME_DATA", ROOT.parent / "shared" / "data"))
    parser.add_argument("--database-url", default=server, help="a PostgreSQL server's URL")
    parser.add_argument("--data", type=Path, default=data, help="folder laid out as ../shared/data")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--visit", choices=sorted(VISITS), default="turns", help="see VISITS")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        counts = [int(x) for x in args.instances.split(",")]
        for n in counts:
            clients = args.clients or 3 * n
            if args.mode == "run":
                rows.append(run(n, clients, args.registrations, args.duration, args.rate,
                                args.database_url, args.data, Path(tmp),
                                visit=args.visit))  # fmt: skip
                continue
            total = args.registrations_per_instance * n
            capacity = run(
                n,
                clients,
                total,
                args.duration,
                None,
                args.database_url,
                args.data,
                Path(tmp),
                visit=args.visit,
            )
            _say(json.dumps(capacity))
            rows.append(capacity)
            rate = round(0.8 * capacity["registrations_per_s"], 3)
            at80 = run(
                n,
                clients,
                total,
                args.duration,
                rate,
                args.database_url,
                args.data,
                Path(tmp),
                visit=args.visit,
            )
            _say(json.dumps(at80))
            rows.append(at80)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    _say(json.dumps(rows, indent=2, ensure_ascii=False) if args.mode == "run" else _table(rows))
    if args.mode == "sizing" and len(counts) > 1:
        base = next(r for r in rows if r["instances"] == counts[0] and r["rate_per_s"] is None)
        for r in rows:
            if r["rate_per_s"] is None and r is not base:
                ratio = r["registrations_per_s"] / base["registrations_per_s"]
                _say(f"{r['instances']} instances: {ratio:.2f}x the throughput of {counts[0]}")


if __name__ == "__main__":
    main()
