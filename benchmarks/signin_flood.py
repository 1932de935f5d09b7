"""How long a capture takes while six threads flood failed sign-ins (issue 9), before and after.

Each scenario starts a real server process (``realname serve``, the real engines, SQLite, dev
keys, the fixed challenge ``turn_left,turn_right``), times captures of a real clip on a quiet
server, then again while ``--flood`` threads send wrong passwords as fast as they are answered.

    python benchmarks/signin_flood.py [--captures 3] [--flood 6] [--out FILE.json]

Scenarios, in one run: ``before`` (the committed ``HEAD``'s ``src``, unpacked with
``git archive`` into a temporary folder), ``after`` (this tree, default settings) and
``after-no-throttle`` (this tree with the throttles and the lock out of reach, so every attempt
is checked: what the sign-in pool alone is worth). The clip is the first 12 s of
``liveness_videos_github/tranvanluyt2203/real.mp4`` (a live clip turning left then right; the
service takes at most 15 s) under ``REALNAME_DATA`` (default ``../shared/data``); the portrait is
``cn_id_card_synthetic``'s ID-style portrait (another person: the match fails, the work is the
same). Prints one JSON object per scenario and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
CARD = {
    "name": "张三",
    "sex": "男",
    "ethnicity": "汉",
    "birth_date": "1990-03-07",
    "address": "北京市东城区某街1号",
    "issuing_authority": "北京市公安局东城分局",
    "valid_from": "2020-01-01",
    "valid_until": "",
    "guardian_consent": "false",
}


def _id_number(sequence: int) -> str:
    from realname.identity.idcard import check_character

    first = "110101" + "19900307" + f"{(2 * sequence + 1) % 1000:03d}"  # odd: 男
    return first + check_character(first)


def _clip(data: Path, out: Path) -> bytes:
    source = cv2.VideoCapture(str(data / "liveness_videos_github" / "tranvanluyt2203" / "real.mp4"))
    fps = source.get(cv2.CAP_PROP_FPS) or 30.0
    writer: Any = None
    for _ in range(int(fps * 12)):
        ok, frame = source.read()
        if not ok:
            break
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
        writer.write(frame)
    source.release()
    writer.release()
    return out.read_bytes()


def _portrait(data: Path) -> bytes:
    image = cv2.imread(str(data / "cn_id_card_synthetic" / "airob0t_sample_id_style_portrait.jpg"))
    assert image is not None, "the ID-style portrait is missing"
    ok, buf = cv2.imencode(".png", cv2.resize(image, (102, 126), interpolation=cv2.INTER_AREA))
    assert ok
    return buf.tobytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, src: Path, folder: Path, extra_env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = folder / "realname.db"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(src),
            "REALNAME_DEV_MODE": "1",
            "REALNAME_DATABASE_URL": f"sqlite:///{self.database}",
            "REALNAME_DEV_FIXED_CHALLENGE": "turn_left,turn_right",
            "REALNAME_MAX_CAPTURE_ATTEMPTS": "3",
            "REALNAME_LOCKOUT_FAILURES": "1000",
            **extra_env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "realname.cli.main", *args],
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self.cli("admin", "create-outlet", "Outlet 1")
        for name, role in (("clerk", "clerk"), ("victim", "clerk")):
            self.cli("admin", "create-user", name, "--role", role, "--outlet", "Outlet 1",
                     "--password", PASSWORD)  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "realname.cli.main", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the server did not become ready")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(60)


def _audit_rows(database: Path, action: str) -> int:
    with sqlite3.connect(database) as conn:
        sql = "SELECT count(*) FROM audit_entries WHERE action = ?"
        row = conn.execute(sql, (action,)).fetchone()
    return int(row[0])


def _capture(client: httpx.Client, headers: dict[str, str], n: int, portrait: bytes,
             clip: bytes) -> tuple[float, str]:  # fmt: skip
    r = client.post(
        "/api/v1/sessions",
        json={"biometric_consent": True, "consent_text_version": "v1"},
        headers=headers,
    )
    r.raise_for_status()
    session = r.json()
    r = client.put(
        f"/api/v1/sessions/{session['id']}/id-card",
        data={**CARD, "id_number": _id_number(n)},
        files={"portrait": ("portrait.png", portrait, "image/png")},
        headers=headers,
    )
    r.raise_for_status()
    start = time.perf_counter()
    r = client.post(
        f"/api/v1/sessions/{session['id']}/capture",
        data={"nonce": session["nonce"]},
        files={"clip": ("clip.mp4", clip, "video/mp4")},
        headers=headers,
        timeout=300,
    )
    elapsed = time.perf_counter() - start
    verdict = r.json().get("verdict", r.json().get("code")) if r.content else str(r.status_code)
    return elapsed, str(verdict)


def scenario(name: str, src: Path, extra_env: dict[str, str], args: argparse.Namespace,
             portrait: bytes, clip: bytes) -> dict[str, Any]:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix=f"signin-{name}-") as folder:
        server = Server(src, Path(folder), extra_env)
        server.start()
        try:
            client = httpx.Client(base_url=server.url, timeout=60)
            token = client.post(
                "/api/v1/auth/token", data={"username": "clerk", "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            _capture(client, headers, 0, portrait, clip)  # warm-up
            quiet = [_capture(client, headers, 1 + i, portrait, clip) for i in range(args.captures)]
            stop = threading.Event()
            answers: Counter[int] = Counter()
            lock = threading.Lock()

            def flood() -> None:
                with httpx.Client(base_url=server.url, timeout=120) as c:
                    while not stop.is_set():
                        r = c.post(
                            "/api/v1/auth/token",
                            data={"username": "victim", "password": "wrong password"},
                        )
                        with lock:
                            answers[r.status_code] += 1

            threads = [threading.Thread(target=flood) for _ in range(args.flood)]
            rows_before = _audit_rows(server.database, "auth.login")
            flood_start = time.perf_counter()
            for t in threads:
                t.start()
            time.sleep(1.0)  # the flood is under way
            flooded = [
                _capture(client, headers, 100 + i, portrait, clip) for i in range(args.captures)
            ]
            stop.set()
            for t in threads:
                t.join()
            flood_s = time.perf_counter() - flood_start
            rows = _audit_rows(server.database, "auth.login") - rows_before
            client.close()
        finally:
            server.stop()
    q = statistics.median(t for t, _ in quiet)
    f = statistics.median(t for t, _ in flooded)
    return {
        "scenario": name,
        "capture_quiet_s": [round(t, 2) for t, _ in quiet],
        "capture_flooded_s": [round(t, 2) for t, _ in flooded],
        "verdicts": sorted({v for _, v in quiet + flooded}),
        "median_quiet_s": round(q, 2),
        "median_flooded_s": round(f, 2),
        "ratio": round(f / q, 2),
        "sign_in_answers": dict(sorted(answers.items())),
        "sign_ins_per_s": round(sum(answers.values()) / flood_s, 1),
        "audit_rows_auth_login_during_flood": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--captures", type=int, default=3)
    parser.add_argument("--flood", type=int, default=6)
    parser.add_argument("--only", choices=["before", "after", "after-no-throttle"], nargs="*")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    data = Path(os.environ.get("REALNAME_DATA", ROOT.parent / "shared" / "data"))
    results = []
    with tempfile.TemporaryDirectory(prefix="signin-bench-") as work:
        clip = _clip(data, Path(work) / "clip.mp4")
        portrait = _portrait(data)
        before = Path(work) / "before"
        before.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "HEAD", "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        off = {
            "REALNAME_LOGIN_RATE_ACCOUNT": "1000000/minute",
            "REALNAME_LOGIN_RATE_ADDRESS": "1000000/minute",
            "REALNAME_LOGIN_LOCK_FAILURES": "1000000",
        }
        plan = [
            ("before", before / "src", {}),
            ("after", ROOT / "src", {}),
            ("after-no-throttle", ROOT / "src", off),
        ]
        for name, src, env in plan:
            if args.only and name not in args.only:
                continue
            result = scenario(name, src, env, args, portrait, clip)
            results.append(result)
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    summary = {
        "cpus": os.cpu_count(),
        "flood_threads": args.flood,
        "ratios": {r["scenario"]: r["ratio"] for r in results},
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    if args.out:
        args.out.write_text(json.dumps({"results": results, **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
