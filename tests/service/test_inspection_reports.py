"""Inspection reports and anomaly flags on a seeded database (issue 15).

The seeding (:mod:`tests.service.seeding`) makes hundreds of registrations at nine outlets
through the real HTTP API, with the FAKE verifier standing in for the engines, plants an
anomaly of every kind at an outlet of its own and keeps a ledger of what it did. Every report
figure is compared with the ledger, every planted anomaly must be flagged, and no flag may fire
anywhere else (O9 plants nothing at all).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from realname.records.audit import verify_chain
from realname.records.reports import ADDITIVE
from realname.service.store.models import AuditRow
from realname.service.usecases.inspection import prune_audit
from realname.service.usecases.purge import purge
from tests.service.seeding import DAYS, FIRST_DAY, Seeded, seed

FROM = FIRST_DAY.isoformat()
TO = (FIRST_DAY + timedelta(days=DAYS - 1)).isoformat()
WEEK = {"from": FROM, "to": TO}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    path = tmp_path_factory.mktemp("seeded") / "inspection.db"
    yield from seed(f"sqlite:///{path}")


def get(seeded: Seeded, who: str, path: str, **params: Any) -> Any:
    r = seeded.client.get(path, params=params, headers=seeded.headers[who])
    assert r.status_code == 200, r.text
    return r


def report(seeded: Seeded, who: str = "auditor", **params: Any) -> dict[str, Any]:
    return dict(get(seeded, who, "/api/v1/reports", **{**WEEK, **params}).json())


def flags(seeded: Seeded, who: str = "auditor", **params: Any) -> list[dict[str, Any]]:
    return list(get(seeded, who, "/api/v1/flags", **{**WEEK, **params}).json()["flags"])


def quantile(values: list[float], q: float) -> float | None:
    return None if not values else round(float(np.quantile(values, q)), 3)


def expected(seeded: Seeded, keys: list[tuple[str, str]]) -> dict[str, Any]:
    """The figures the ledger planted for the (outlet id, local day) ``keys``, summed."""
    led = seeded.ledger
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    reviews: dict[str, Counter[str]] = {}
    times: list[float] = []
    for key in keys:
        counts.update(led.counts.get(key, Counter()))
        reasons.update(led.reasons.get(key, Counter()))
        for who, outcomes in led.reviews_by.get(key, {}).items():
            reviews.setdefault(who, Counter()).update(outcomes)
        times.extend(led.capture_times.get(key, []))
    out: dict[str, Any] = {name: counts[name] for name in ADDITIVE}
    out["failed_by_reason"] = dict(sorted(reasons.items()))
    out["reviews_by"] = {
        who: {"approved": c["approved"], "rejected": c["rejected"]}
        for who, c in sorted(reviews.items())
    }
    out["capture_time_s"] = {
        "median": quantile(times, 0.5),
        "p95": quantile(times, 0.95),
        "n": len(times),
    }
    successes = counts["passed"] + counts["review_approved"]
    out["attempts_per_success"] = round(counts["captures"] / successes, 3) if successes else None
    out["pass_rate"] = (
        round(counts["passed"] / counts["captures"], 4) if counts["captures"] else None
    )
    return out


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("outlet", "outlet_name", "period")}


def test_the_seeding_made_hundreds_of_registrations_at_nine_outlets(seeded: Seeded) -> None:
    totals = report(seeded)["totals"]
    assert len(totals) == 9
    assert sum(r["sessions_started"] for r in totals) >= 300
    assert sum(r["numbers_bound"] for r in totals) >= 250


def test_every_daily_figure_equals_what_the_seeding_did(seeded: Seeded) -> None:
    rows = report(seeded, **{"from": "2026-10-30", "to": "2026-11-09"})["rows"]
    planted = {k for k, c in seeded.ledger.counts.items() if sum(c.values())}
    assert {(r["outlet"], r["period"]) for r in rows} == planted
    for row in rows:
        key = (row["outlet"], row["period"])
        assert figures(row) == expected(seeded, [key]), key


@pytest.mark.parametrize(("period", "label"), [("week", "2026-W45"), ("month", "2026-11")])
def test_weekly_and_monthly_rows_and_the_totals_sum_the_days(
    seeded: Seeded, period: str, label: str
) -> None:
    found = report(seeded, period=period)
    days = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(DAYS)]
    for outlet in seeded.outlets.values():
        want = expected(seeded, [(outlet, day) for day in days])
        (row,) = [r for r in found["rows"] if r["outlet"] == outlet]
        (total,) = [r for r in found["totals"] if r["outlet"] == outlet]
        assert row["period"] == label
        assert figures(row) == want == figures(total)


def test_the_planted_lock_out_manual_path_and_refused_cards_are_counted(seeded: Seeded) -> None:
    totals = {r["outlet_name"]: r for r in report(seeded)["totals"]}
    assert totals["O8"]["lockouts"] == 1
    assert all(totals[f"O{i}"]["lockouts"] == 0 for i in range(1, 8))
    assert totals["O2"]["consent_refused"] == 13  # 12 planted + the baseline's one
    assert all(totals[f"O{i}"]["card_refused"] == 1 for i in range(1, 10))
    assert totals["O1"]["reviews_by"] == {"sup1": {"approved": 20, "rejected": 0}}


def test_every_planted_anomaly_is_flagged_and_nothing_else(seeded: Seeded) -> None:
    found = flags(seeded)
    fired = {(f["kind"], f["outlet_name"]) for f in found}
    planted = {(kind, o) for kind, outlets in seeded.ledger.planted.items() for o in outlets}
    assert fired == planted
    assert not [f for f in found if f["outlet_name"] == "O9"]
    for kind, sessions in seeded.ledger.sessions.items():
        named = {s for f in found if f["kind"] == kind for s in f["sessions"]}
        assert sessions <= named, kind
    (disputed,) = [f for f in found if f["kind"] == "disputes"]
    assert (disputed["figures"]["count"], disputed["figures"]["open"]) == (1, 1)
    for flag in found:
        assert flag["id"] and len(flag["id"]) == 32
        assert flag["sentence"].endswith(".") and flag["figures"], flag
        assert flag["acknowledged"] is None


def test_the_robust_scores_stand_far_above_the_threshold_only_where_planted(
    seeded: Seeded,
) -> None:
    body = get(seeded, "auditor", "/api/v1/flags", **WEEK).json()
    threshold = body["rules"]["robust_z"]
    for flag in body["flags"]:
        if flag["kind"] in ("approval_rate", "manual_rate"):
            assert flag["figures"]["score"] >= threshold, flag


def test_the_csv_holds_the_same_figures_as_the_json(seeded: Seeded) -> None:
    found = report(seeded, period="week")
    r = get(seeded, "auditor", "/api/v1/reports.csv", **WEEK, period="week")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(r.text)))
    assert len(lines) == len(found["rows"]) + len(found["totals"])
    for line, row in zip(lines, [*found["rows"], *found["totals"]], strict=True):
        assert line["outlet"] == row["outlet"] and line["period"] == row["period"]
        for name in ADDITIVE:
            assert int(line[name]) == row[name], name
        reasons = dict(x.split(":") for x in line["failed_by_reason"].split(";") if x)
        assert {k: int(v) for k, v in reasons.items()} == row["failed_by_reason"]


def test_a_supervisor_sees_their_outlet_only_and_a_clerk_nothing(seeded: Seeded) -> None:
    o3 = seeded.outlets["O3"]
    mine = report(seeded, "sup3")
    assert {r["outlet"] for r in [*mine["rows"], *mine["totals"]]} == {o3}
    assert set(mine["outlets"]) == {o3}
    assert {(f["kind"], f["outlet_name"]) for f in flags(seeded, "sup3")} == {
        ("out_of_hours", "O3"),
        ("id_failures", "O3"),
    }
    other = seeded.client.get(
        "/api/v1/reports",
        params={**WEEK, "outlet": seeded.outlets["O5"]},
        headers=seeded.headers["sup3"],
    )
    assert other.status_code == 403, other.text
    assert other.headers["content-type"].startswith("application/problem+json")
    for path in ("/api/v1/reports", "/api/v1/flags", "/api/v1/reports.csv"):
        r = seeded.client.get(path, params=WEEK, headers=seeded.headers["clerk3"])
        assert r.status_code == 403, (path, r.text)
    assert seeded.client.get("/api/v1/reports", params=WEEK).status_code == 401


def test_an_auditor_may_ask_for_one_outlet(seeded: Seeded) -> None:
    o7 = seeded.outlets["O7"]
    found = report(seeded, outlet=o7)
    assert {r["outlet"] for r in found["rows"]} == {o7}


def test_charts_are_drawn_by_the_server_as_png(seeded: Seeded) -> None:
    for kind in ("pass_rate", "reasons", "reviews"):
        for lang in ("en", "zh-CN"):
            r = get(seeded, "sup1", f"/api/v1/reports/charts/{kind}.png", **WEEK, lang=lang)
            assert r.headers["content-type"] == "image/png"
            assert r.content.startswith(PNG) and len(r.content) > 5000, kind
    r = seeded.client.get(
        "/api/v1/reports/charts/pie.png", params=WEEK, headers=seeded.headers["auditor"]
    )
    assert r.status_code == 422


def test_acknowledging_a_flag_is_audited_once(seeded: Seeded) -> None:
    (burst,) = [f for f in flags(seeded) if f["kind"] == "burst"]
    path = f"/api/v1/flags/{burst['id']}/ack"
    hidden = seeded.client.post(
        path, params=WEEK, json={"note": "x"}, headers=seeded.headers["sup3"]
    )
    assert hidden.status_code == 404, hidden.text  # O7's flag is not O3's supervisor's
    r = seeded.client.post(
        path, params=WEEK, json={"note": "clerk7 retrained"}, headers=seeded.headers["sup7"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged"]["by"] == "sup7"
    again = seeded.client.post(path, params=WEEK, json={}, headers=seeded.headers["auditor"])
    assert again.status_code == 409, again.text
    (listed,) = [f for f in flags(seeded) if f["kind"] == "burst"]
    assert listed["acknowledged"]["note"] == "clerk7 retrained"
    with seeded.ctx.database.transaction() as session:
        acks = [e for e in seeded.ctx.audit.entries(session) if e.action == "flag.ack"]
    assert [(a.actor, a.outcome, a.objects["flag"]) for a in acks] == [
        ("sup7", "burst", burst["id"])
    ]


def test_pruned_days_are_still_counted_and_the_report_says_so(
    seeded: Seeded, tmp_path: Path
) -> None:
    """Run last (it prunes the module's database): the first two days' entries go, their
    figures stay as day counters, the log still verifies, and the report says which days."""
    before = report(seeded, period="week")
    ctx = seeded.ctx
    ctx.settings = ctx.settings.model_copy(update={"audit_retention_days": 4})
    try:
        pruned = purge(ctx).audit_entries  # the purge prunes the log past the retention
    finally:
        ctx.settings = ctx.settings.model_copy(update={"audit_retention_days": 0})
    assert pruned > 100
    with ctx.database.transaction() as session:
        first = session.query(AuditRow).order_by(AuditRow.id).first()
        entries, heads = ctx.audit.entries(session), ctx.audit.heads(session)
    assert first is not None and first.seq == pruned  # seq 0.. were cut
    assert verify_chain(entries, heads, ctx.keys.signing_key.public_key()).ok
    assert ctx.audit.verify().ok
    assert [e.action for e in entries if e.action == "audit.prune"] == ["audit.prune"]
    after = report(seeded, period="week")
    assert after["purged"]["days"] == ["2026-11-02", "2026-11-03"]
    assert "pruned" in after["purged"]["note"]
    for old, new in zip(before["rows"], after["rows"], strict=True):
        assert {k: old[k] for k in ADDITIVE} == {k: new[k] for k in ADDITIVE}
        assert old["failed_by_reason"] == new["failed_by_reason"]
        assert old["reviews_by"] == new["reviews_by"]
        assert new["capture_time_s"]["n"] < old["capture_time_s"]["n"]
    assert prune_audit(ctx) == 0  # retention 0: nothing more
