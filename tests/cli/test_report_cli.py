"""``realname report`` against a service database with registrations made through the HTTP API
(test_inspect's three days, and on the last a failed capture, a refused consent and two more
passes in a burst): its JSON and CSV are the API's documents, its table and charts show the
same figures, ``--flags`` lists the flags, and bad options are one line exiting 2."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from realname.cli.main import app
from realname.service.app import create_app
from tests.cli.test_inspect import DAYS, registered  # noqa: F401 - the fixture, used below
from tests.service.conftest import (
    Clock,
    Service,
    cheap_passwords,  # noqa: F401 - the fixture, autouse here too
    make_id,
    make_settings,
)
from tests.service.fakes import FakeVerifier

runner = CliRunner()
SPAN = ["--from", DAYS[0], "--to", DAYS[2]]
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Made:
    """What the database holds, and the API's report and flags of ``SPAN`` by day."""

    folder: Path
    api_json: dict[str, Any]
    api_csv: str
    api_flags: list[dict[str, Any]]


@pytest.fixture
def made(registered: Path) -> Made:  # noqa: F811 - the imported fixture
    """``registered`` (4 passed sessions on the three days, one number bound on the second),
    then on the last day, 5 and 10 s after its pass, two more passes by the same clerk (a burst
    of three), a failed capture and a refused consent."""
    keys = {
        name: os.environ[f"REALNAME_{name.upper()}"]
        for name in ("data_keys", "index_key", "audit_signing_key")
    }
    verifier = FakeVerifier()
    clock = Clock()
    clock.now = datetime(2026, 11, 4, 2, 0, 5, tzinfo=UTC)
    service_app = create_app(
        make_settings(os.environ["REALNAME_DATABASE_URL"], **keys),
        verifier=verifier,
        enroller=verifier.enrol,
        clock=clock,
        periodic_tasks=False,
    )
    with TestClient(service_app) as client:
        svc = Service(client, service_app.state.ctx, clock, verifier)
        svc.headers = {who: svc.login(who) for who in ("clerk_a", "auditor")}
        svc.passed_session(make_id(sequence="461"))
        clock.advance(5)
        svc.passed_session(make_id(sequence="462"))
        clock.advance(60)
        failing = svc.start()
        assert svc.card(failing["id"]).status_code == 200
        r = svc.capture(failing["id"], svc.nonce(failing["id"]), clip=b"FAIL")
        assert r.status_code == 200 and r.json()["verdict"] == "failed", r.text
        svc.start(consent=False)
        query = {"from": DAYS[0], "to": DAYS[2], "period": "day"}
        auditor = svc.headers["auditor"]
        api_json = client.get("/api/v1/reports", params=query, headers=auditor).json()
        api_csv = client.get("/api/v1/reports.csv", params=query, headers=auditor).text
        del query["period"]
        api_flags = client.get("/api/v1/flags", params=query, headers=auditor).json()["flags"]
        svc.ctx.audit.sign()
        verifier.release.set()
    return Made(registered, api_json, api_csv, api_flags)


def _report(*args: str) -> Any:
    return runner.invoke(app, ["report", *SPAN, *args])


def test_when_json_is_asked_then_it_is_the_apis_report_of_what_was_made(made: Made) -> None:
    r = _report("--format", "json")
    assert r.exit_code == 0, r.output
    document = json.loads(r.stdout)  # stdout is the document alone; the flags go to stderr
    assert document == made.api_json
    (total,) = document["totals"]
    assert total["outlet_name"] == "Outlet A"
    assert total["sessions_started"] == 8  # 6 passed, 1 failed, 1 refused consent
    assert total["consent_refused"] == 1
    assert (total["passed"], total["failed"], total["numbers_bound"]) == (6, 1, 1)
    by_day = {row["period"]: row for row in document["rows"]}
    assert [by_day[d]["passed"] for d in DAYS] == [1, 2, 3]
    assert by_day[DAYS[1]]["numbers_bound"] == 1 and by_day[DAYS[2]]["failed"] == 1
    assert "anomaly flag" in r.stderr
    r = runner.invoke(app, ["report", "--to", DAYS[2], "--format", "json"])  # --from: 30 days
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["from"] == "2026-10-05"
    assert json.loads(r.stdout)["totals"] == document["totals"]


def test_when_csv_is_written_to_a_file_then_it_is_the_apis_csv(made: Made) -> None:
    out = made.folder / "report.csv"
    r = _report("--format", "csv", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert f"wrote {out}" in r.stdout
    text = out.read_text(encoding="utf-8")
    assert text == made.api_csv
    lines = [line.split(",") for line in text.splitlines()]
    header, total = lines[0], lines[-1]
    figures = dict(zip(header, total, strict=True))
    assert figures["period"] == "all"
    assert [figures[k] for k in ("sessions_started", "passed", "failed", "numbers_bound")] == [
        "8",
        "6",
        "1",
        "1",
    ]


def test_the_table_shows_the_totals_and_rows(made: Made) -> None:
    r = _report("--period", "week", "--outlet", "Outlet A")
    assert r.exit_code == 0, r.output
    assert "2026-W45" in r.output and "total" in r.output and "Outlet A (1)" in r.output
    assert "sessions" in r.output and "lock-outs" in r.output
    assert "list: --flags" in r.output


def test_when_plot_is_asked_then_three_charts_are_written(made: Made) -> None:
    charts = made.folder / "charts"
    out = made.folder / "r.json"
    r = _report("--plot", str(charts), "--lang", "zh-CN", "--format", "json", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text(encoding="utf-8")) == made.api_json
    written = sorted(charts.iterdir())
    assert [p.name for p in written] == ["pass_rate.png", "reasons.png", "reviews.png"]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000, (path.name, len(data))


def test_when_flags_are_asked_then_each_is_listed(made: Made) -> None:
    r = _report("--flags")
    assert r.exit_code == 0, r.output
    assert [f["kind"] for f in made.api_flags] == ["burst"]
    assert "1 anomaly flag(s): burst 1" in r.output
    assert "burst" in r.output and "Clerk clerk_a completed 3 captures" in r.output


def _one_line_input_error(r: Any, says: str) -> None:
    assert r.exit_code == 2, r.output
    assert says in r.output and r.output.startswith("error INPUT_INVALID")
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "11-2"], "--from '11-2' is not a date"),
        (["--to", "2026-13-01"], "--to '2026-13-01' is not a date"),
        (["--period", "year"], "--period 'year' is not one of day, week, month"),
        (["--format", "xml"], "--format 'xml' is not one of table, json, csv"),
        (["--lang", "fr"], "--lang 'fr' is not one of en, zh-CN"),
        (["--out", "report.txt"], "give --format json or csv"),
    ],
)
def test_bad_options_exit_2_with_one_line_before_the_database_is_read(
    args: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REALNAME_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    _one_line_input_error(runner.invoke(app, ["report", *args]), says)


def test_a_reversed_period_or_an_unknown_outlet_exits_2_with_one_line(made: Made) -> None:
    r = runner.invoke(app, ["report", "--from", DAYS[2], "--to", DAYS[0]])
    _one_line_input_error(r, "before it starts")
    r = _report("--outlet", "Nowhere")
    _one_line_input_error(r, "--outlet 'Nowhere' is no outlet's id or name; outlets: 1 Outlet A")
