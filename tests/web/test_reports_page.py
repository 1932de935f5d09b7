"""The inspection reports page in a real chromium, on the seeded database of
:mod:`tests.service.seeding` (nine outlets, five days, every anomaly planted; the FAKE verifier
stood in for the engines when it was made).

A supervisor of O1 sees their outlet's figures, the three charts the service draws and the
flags of O1 (approvals far above the peers, approves nearly everything), in Chinese; an auditor
sees every outlet, acknowledges a flag with a note, and the page shows it acknowledged, in
English. Screenshots at both sizes are kept as artefacts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from realname.service.api.web import STATIC_DIR
from realname.service.app import create_app
from tests.service.fakes import FakeVerifier
from tests.service.seeding import DAYS, FIRST_DAY, Seeded, seed
from tests.web.conftest import LiveServer, Shots, start_server
from tests.web.test_browser_registration import assert_local_only, sign_in

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])"
)

ZH = json.loads((STATIC_DIR / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
EN = json.loads((STATIC_DIR / "i18n" / "en.json").read_text(encoding="utf-8"))
DAYS_QUERY = f"from={FIRST_DAY}&to={FIRST_DAY + timedelta(days=DAYS - 1)}"


@pytest.fixture
def seeded_server(tmp_path: Path) -> Iterator[tuple[LiveServer, Seeded]]:
    """The seeded database, then the app served on it by uvicorn (a real clock)."""
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    making = seed(url)
    seeded = next(making)
    making.close()  # the seeding's app stops; its ledger stays
    verifier = FakeVerifier()
    app = create_app(seeded.ctx.settings, verifier=verifier, periodic_tasks=False)  # its keys
    server = start_server(app)
    try:
        yield server, seeded
    finally:
        verifier.release.set()
        server.stop()


def charts_drawn(page: Any) -> list[int]:
    """The natural widths of the three chart images once each has loaded."""
    for kind in ("pass_rate", "reasons", "reviews"):
        page.wait_for_function(
            f"() => document.getElementById('chart-{kind}').naturalWidth > 0", timeout=30_000
        )
    return list(
        page.evaluate(
            "() => ['pass_rate', 'reasons', 'reviews'].map("
            "k => document.getElementById('chart-' + k).naturalWidth)"
        )
    )


def ledger_total(seeded: Seeded, outlet: str, name: str) -> int:
    oid = seeded.outlets[outlet]
    return sum(c[name] for (o, _), c in seeded.ledger.counts.items() if o == oid)


def test_a_supervisor_sees_their_outlets_figures_charts_and_flags(
    seeded_server: tuple[LiveServer, Seeded], browser_on: Any, shots: Shots
) -> None:
    server, seeded = seeded_server
    browsing = browser_on(None)
    page = browsing.context(locale="zh-CN").new_page()
    sign_in(page, server, "sup1", ZH)
    page.get_by_role("heading", name=ZH["reviews.heading"]).wait_for()
    page.get_by_role("link", name=ZH["reports.nav"]).click()
    page.get_by_role("heading", name=ZH["reports.heading"]).wait_for()
    page.goto(f"{server.url}/web/reports.html?{DAYS_QUERY}&period=day")
    assert min(charts_drawn(page)) >= 600
    page.locator("#flag-list li").first.wait_for()
    kinds = page.eval_on_selector_all("#flag-list li", "els => els.map(e => e.dataset.kind)")
    assert sorted(kinds) == ["approval_rate", "approves_all"]
    assert page.get_by_text(ZH["reports.flag.approves_all"], exact=False).count() == 1
    sentences = page.locator("#flag-list .sentence").all_inner_texts()
    assert "主管 sup1 在 O1 复核的 20 件案例中通过了 20 件（100%）。" in sentences
    rows = page.locator("#totals-rows tr")
    assert rows.count() == 1  # their outlet only
    started = rows.first.locator("td[data-figure=sessions_started]").inner_text()
    assert int(started.replace(",", "")) == ledger_total(seeded, "O1", "sessions_started")
    approved = rows.first.locator("td[data-figure=review_approved]").inner_text()
    assert int(approved) == ledger_total(seeded, "O1", "review_approved") == 20
    assert page.locator("#report-outlet-field").is_hidden()
    shots(page, "supervisor-zh")
    assert_local_only(browsing)


def test_an_auditor_sees_every_outlet_and_acknowledges_a_flag(
    seeded_server: tuple[LiveServer, Seeded], browser_on: Any, shots: Shots
) -> None:
    server, seeded = seeded_server
    browsing = browser_on(None)
    page = browsing.context(locale="en-GB").new_page()
    sign_in(page, server, "auditor", EN)
    page.get_by_role("heading", name=EN["reviews.heading"]).wait_for()
    page.goto(f"{server.url}/web/reports.html?{DAYS_QUERY}&period=week")
    charts_drawn(page)
    page.locator("#flag-list li").first.wait_for()
    assert page.locator("#totals-rows tr").count() == 9
    planted = sum(len(outlets) for outlets in seeded.ledger.planted.values())
    assert page.locator("#flag-list li").count() == planted
    assert page.locator("#flag-list li", has_text="O9").count() == 0
    burst = page.locator("#flag-list li[data-kind=burst]")
    assert "clerk7" in burst.locator(".sentence").inner_text()
    shots(page, "auditor-en")
    burst.get_by_label(EN["reports.flag.note"]).fill("clerk7 retrained; sessions checked")
    burst.get_by_role("button", name=EN["reports.flag.ack"]).click()
    page.locator("#flag-list li.acknowledged[data-kind=burst]").wait_for()
    assert "clerk7 retrained" in page.locator("#flag-list li[data-kind=burst]").inner_text()
    page.locator("#report-outlet").select_option(label="O7")
    page.get_by_role("button", name=EN["reports.show"]).click()
    page.wait_for_function(
        "() => document.querySelectorAll('#totals-rows tr').length === 1"
        " && document.querySelectorAll('#flag-list li').length === 1"
    )
    assert page.locator("#flag-list li.acknowledged[data-kind=burst]").count() == 1
    shots(page, "auditor-en-one-outlet", both=False)
    assert_local_only(browsing)
