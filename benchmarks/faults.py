"""Faults under load, scripted and repeatable (issue 16): each scenario runs the registrations of
``benchmarks/load.py`` (2 instances pinned to one core each, one PostgreSQL database) and
injects one fault, then checks ``realname check invariants`` and reports what the clients saw
(every step's answers, counted).

    python benchmarks/faults.py [kill9 kill9-proxy pg-restart upload-limit queue] [--smoke]
        [--out FILE.json]

``--smoke`` injects the same faults into a few registrations each (``make test`` runs it:
tests/service/test_load_and_faults.py).

* ``kill9``: instance 0 is killed (SIGKILL) 12 s into the load, in the middle of captures and
  bindings, and started again 8 s later. A capture it was verifying stays ``capturing`` until
  the purge releases it as ``CAPTURE_INTERRUPTED`` (``REALNAME_CAPTURE_TIMEOUT_S`` + 30 s: the
  capture timeout is 10 s here); the script waits that long and runs ``realname purge``.
* ``kill9-proxy``: the same, with the clients going through the reference nginx
  (deploy/nginx.conf, benchmarks/proxy.py) instead of to each instance: a request the killed
  instance held is answered 503 ``INSTANCE_UNAVAILABLE`` with ``Retry-After`` (retried by the
  client), a new one goes to the instance still up.
* ``pg-restart``: PostgreSQL is restarted (``pg_ctlcluster``) 12 s into the load.
* ``upload-limit``: while the load runs, a client posts clips just over the 20 MiB limit and
  card photos over theirs, four at a time.
* ``queue``: one instance with one worker and no queue (``REALNAME_QUEUE_LIMIT=0``) and six
  clerks capturing at once: the worker queue is exhausted.

Needs the PostgreSQL server of ``REALNAME_TEST_POSTGRES_URL`` (``pg-restart`` restarts it: do not
run it beside other users of that server) and ../shared/data.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("load", HERE / "load.py")
assert _spec is not None and _spec.loader is not None
load = importlib.util.module_from_spec(_spec)
sys.modules["load"] = load
_spec.loader.exec_module(load)

SCENARIOS = ("kill9", "kill9-proxy", "pg-restart", "upload-limit", "queue")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _kill9(servers: list[Any], tally: Any, at_s: float = 12, down_s: float = 8) -> None:
    time.sleep(at_s)
    victim = servers[0]
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    tally.saw("FAULT instance 0 killed (SIGKILL)")
    time.sleep(down_s)
    victim.start()
    victim.wait_ready()
    tally.saw("FAULT instance 0 serving again")


def _release(env: dict[str, str]) -> None:
    """Past every capture's time limit, the purge releases what the kill left capturing."""
    time.sleep(10 + 30 + 2)
    subprocess.run(
        [sys.executable, "-m", "realname.cli.main", "purge"],
        env=env,
        check=True,
        capture_output=True,
    )


def _pg_restart(servers: list[Any], tally: Any) -> None:
    time.sleep(12)
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True, capture_output=True)
    tally.saw(f"FAULT PostgreSQL restarted in {time.monotonic() - started:.1f} s")


def _oversized(servers: list[Any], tally: Any, for_s: float = 20) -> None:
    """Clips and card photos just over their limits, four at a time, for ``for_s``."""
    from realname.media.limits import DEFAULT_IMAGE_LIMITS, DEFAULT_VIDEO_LIMITS

    clip = b"\x1a\x45\xdf\xa3" + os.urandom(DEFAULT_VIDEO_LIMITS.max_bytes + 1024)
    photo = b"\x89PNG\r\n\x1a\n" + os.urandom(DEFAULT_IMAGE_LIMITS.max_bytes + 1024)
    end = time.monotonic() + for_s

    def flood(i: int) -> None:
        with httpx.Client(timeout=60) as http:
            _flood(http, i)

    def _flood(http: httpx.Client, i: int) -> None:
        token = http.post(
            f"{servers[i % 2].url}/api/v1/auth/token",
            data={"username": "clerk0", "password": load.PASSWORD},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < end:
            url = servers[i % 2].url + "/api/v1"
            try:
                consent = {"biometric_consent": True, "consent_text_version": "v1"}
                s = http.post(f"{url}/sessions", headers=headers, json=consent)
                sid = s.json()["id"]
                files = {"portrait": ("p.png", photo, "image/png")}
                r = http.put(f"{url}/sessions/{sid}/id-card", headers=headers,
                             data=load._card(900_000 + i), files=files)  # fmt: skip
                tally.saw(f"oversized card {r.status_code} {r.json().get('code', '')}")
                files = {"clip": ("c.webm", clip, "video/webm")}
                r = http.post(f"{url}/sessions/{sid}/capture", headers=headers,
                              data={"nonce": "x" * 43}, files=files)  # fmt: skip
                tally.saw(f"oversized clip {r.status_code} {r.json().get('code', '')}")
            except httpx.TransportError as error:
                tally.saw(f"oversized {type(error).__name__}")

    threads = [threading.Thread(target=flood, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def scenario(name: str, args: argparse.Namespace, tmp: Path, smoke: bool = False) -> Any:
    """One fault under load; ``smoke``: the same fault on a few registrations (``make test``)."""
    common = {"server_url": args.database_url, "data": args.data, "workdir": tmp}
    timeout = {"REALNAME_CAPTURE_TIMEOUT_S": "10"}
    if name == "kill9":
        kill = functools.partial(_kill9, at_s=5, down_s=2) if smoke else _kill9
        return load.run(2, *((2, 5, 40) if smoke else (4, 40, 60)), 0.5, extra_env=timeout,
                        fault=kill, after=_release, **common)  # fmt: skip
    if name == "kill9-proxy":  # the same, the clients going through the reference nginx
        kill = functools.partial(_kill9, at_s=5, down_s=2) if smoke else _kill9
        return load.run(2, *((2, 5, 40) if smoke else (4, 40, 60)), 0.5, extra_env=timeout,
                        fault=kill, after=_release, proxy=True, **common)  # fmt: skip
    if name == "pg-restart":
        return load.run(2, *((2, 4, 40) if smoke else (4, 30, 60)), 0.5, fault=_pg_restart,
                        **common)  # fmt: skip
    if name == "upload-limit":
        flood = functools.partial(_oversized, for_s=4) if smoke else _oversized
        return load.run(2, *((2, 3, 40) if smoke else (4, 12, 60)), 0.4, fault=flood, **common)
    queue = {"REALNAME_QUEUE_LIMIT": "0", "REALNAME_BUSY_RETRY_AFTER_S": "2"}
    return load.run(1, *((4, 4) if smoke else (6, 12)), 120, None, extra_env=queue, **common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)"
    )
    server = os.environ.get(
        "REALNAME_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    data = Path(os.environ.get("REALNAME_DATA", HERE.parent.parent / "shared" / "data"))
    parser.add_argument("--database-url", default=server, help="a PostgreSQL server's URL")
    parser.add_argument("--data", type=Path, default=data, help="folder laid out as ../shared/data")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument(
        "--smoke", action="store_true", help="each fault on a few registrations (about a minute)"
    )
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"no such scenario: {', '.join(sorted(unknown))}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenarios or SCENARIOS:
            result = scenario(name, args, Path(tmp), smoke=args.smoke)
            results[name] = result
            _say(f"== {name}: {result['registrations']} registered, {result['failed']} failed, "
                 f"invariants {'ok' if result['invariants_ok'] else 'BROKEN'}")  # fmt: skip
            for what, count in result["seen"].items():
                _say(f"   {count:5d}  {what}")
            for failure in result["failures"]:
                _say(f"   failure: {failure}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    if not all(r["invariants_ok"] for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
