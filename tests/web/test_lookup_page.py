"""The citizen's look-up page (一证通查) in a real chromium, and the supervisor's disputes.

The data test runs the whole story with the real engines: a number is first bound to an ID
through the API (the registration's real clip, headtrackr capture4 from 0.3 s, with its matching
chip portrait), then the citizen opens /web/lookup.html, types the ID, adds the portrait,
consents and records with the fake camera playing the same clip under the dev fixed challenge
(the schedule of test_browser_registration.py), sees the number masked but for its last four
digits, flags it as not theirs, and the outlet's supervisor sees the dispute on the review page.

The other test needs no data: the look-up's API is answered by the test (``page.route``), so
the page's own behaviour is checked in zh-CN: the same refusal whatever the answer's reasons,
the retry while attempts are left, the layout at both sizes, the token sent on every call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from realname.identity.idcard import check_character
from realname.service.api.web import STATIC_DIR
from realname.service.verification import Assessment, CaptureJob, EngineVerifier
from tests.data.test_service_registration import read_frames, write_clip
from tests.service.conftest import PASSWORD, card_form
from tests.web.conftest import Browsing, LiveServer, Shots
from tests.web.test_browser_registration import (
    LIVE,
    LIVE_CALM_S,
    LIVE_CHALLENGE,
    LIVE_START_S,
    LIVE_ZOOM,
    VERDICT_TIMEOUT_MS,
    assert_local_only,
    prepare_clip,
    press_start_on_loop,
    record_phase,
    serving,
    sign_in,
)
from tests.web.test_desk_flow import grey_clip
from tests.web.test_desk_flow import serving as desk_serving

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])"
)

ZH = json.loads((STATIC_DIR / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
EN = json.loads((STATIC_DIR / "i18n" / "en.json").read_text(encoding="utf-8"))
ID_FIRST17 = "11010119900307457"
ID_NUMBER = ID_FIRST17 + check_character(ID_FIRST17)
MSISDN = "13812345678"
CAPTURE_S = 11.0


# ------------------------------------------------------------------ helpers


def bind_through_the_api(server: LiveServer, data_dir: Path, portrait: bytes, tmp: Path) -> None:
    """A clerk registers ID_NUMBER with the real clip and its portrait, and binds MSISDN."""
    frames, fps = read_frames(data_dir / LIVE)
    skip = round(LIVE_START_S * fps)
    clip = write_clip(frames[skip : skip + round((CAPTURE_S + 0.1) * fps)], fps, tmp / "reg.mp4")
    with httpx.Client(base_url=server.url + "/api/v1", timeout=300) as api:
        token = api.post("/auth/token", data={"username": "clerk_a", "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        session = api.post(
            "/sessions", json={"biometric_consent": True, "consent_text_version": "v1"}
        ).json()
        card = api.put(
            f"/sessions/{session['id']}/id-card",
            data=card_form(id_number=ID_NUMBER),
            files={"portrait": ("portrait.png", portrait, "image/png")},
        )
        assert card.status_code == 200, card.text
        nonce = api.post(f"/sessions/{session['id']}/challenge").json()["nonce"]
        verdict = api.post(
            f"/sessions/{session['id']}/capture",
            data={"nonce": nonce},
            files={"clip": ("clip.mp4", clip, "video/mp4")},
        )
        assert verdict.json()["verdict"] == "passed", verdict.text
        bound = api.post("/subscriptions", json={"session_id": session["id"], "msisdn": MSISDN})
        assert bound.status_code in (200, 201), bound.text


def fill_and_consent(page: Any, t: dict[str, str], portrait: Path, shots: Shots | None) -> None:
    page.get_by_role("heading", name=t["lookup.card.heading"]).wait_for()
    if shots is not None:
        shots(page, "lookup-card-empty")
    page.get_by_label(t["lookup.card.id_number"]).fill(ID_NUMBER)
    page.get_by_label(t["lookup.card.portrait"]).set_input_files(str(portrait))
    page.get_by_role("button", name=t["lookup.card.next"]).click()
    page.get_by_role("heading", name=t["lookup.consent.heading"]).wait_for()
    if shots is not None:
        shots(page, "lookup-consent")
    page.get_by_label(t["lookup.consent.check"]).check()
    page.get_by_role("button", name=t["lookup.consent.accept"]).click()
    page.get_by_role("heading", name=t["capture.heading"]).wait_for()


def no_sideways_scroll(page: Any) -> None:
    for width, height in ((1280, 800), (768, 1024)):
        page.set_viewport_size({"width": width, "height": height})
        sizes = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert sizes[0] <= sizes[1], (width, height, sizes)


class Recording:
    """The real engines, keeping each assessment: the look-up's answer hides its reasons from
    the citizen (the same refusal whatever the ID holds), so the test reads them here."""

    def __init__(self, engines: Any) -> None:
        self.engines = engines
        self.ctx: Any = None
        self.seen: list[Assessment] = []
        self.clips: list[bytes] = []

    def __call__(self, job: CaptureJob) -> Assessment:
        ctx = self.ctx
        real = EngineVerifier(self.engines, ctx.policy, ctx.video_limits, ctx.image_limits)
        assessment = real(job)
        self.seen.append(assessment)
        self.clips.append(job.clip)
        return assessment

    def last(self) -> str:
        if not self.seen:
            return "no assessment"
        a = self.seen[-1]
        return f"reasons {a.reasons}, liveness {a.details.get('liveness')}"


# ------------------------------------------------------------------ with the real engines


@pytest.mark.data
def test_a_citizen_flags_a_number_and_the_supervisor_sees_the_dispute(
    tmp_path: Path, data_dir: Path, engines: Any, browser_on: Any, shots: Shots
) -> None:
    clip = prepare_clip(data_dir, tmp_path, engines, LIVE, LIVE_START_S, LIVE_CALM_S, LIVE_ZOOM)
    browsing: Browsing = browser_on(clip.y4m)
    t = EN
    verifier = Recording(engines)
    with serving(tmp_path, LIVE_CHALLENGE, verifier) as server:
        bind_through_the_api(server, data_dir, clip.portrait.read_bytes(), tmp_path)

        home = browsing.context(locale="en-US").new_page()
        home.goto(server.url + "/web/")
        home.get_by_role("link", name=t["lookup.link"]).click()
        home.wait_for_url("**/web/lookup.html")
        page = home
        fill_and_consent(page, t, clip.portrait, shots)
        page.wait_for_function("() => !document.getElementById('capture-start').disabled")
        with page.expect_request(lambda r: r.url.endswith("/challenge")) as asked:
            start = page.get_by_role("button", name=t["capture.start"], exact=True)
            press_start_on_loop(page, clip, start)
        assert asked.value.headers.get("x-lookup-token")
        page.wait_for_timeout(2400)
        shots(page, "lookup-capture-prompt", both=False)
        page.locator("#verdict[data-verdict]").wait_for(timeout=VERDICT_TIMEOUT_MS)
        verdict = page.locator("#verdict").get_attribute("data-verdict")
        if verdict != "passed" and verifier.clips:  # kept in pytest's tmp dir to look at
            (tmp_path / "refused-upload.webm").write_bytes(verifier.clips[-1])
        assert verdict == "passed", (
            verifier.last(),
            record_phase(page),
            page.locator("#step-result").inner_text(),
        )
        item = page.locator("#lookup-numbers li")
        assert item.count() == 1
        text = item.inner_text()
        assert MSISDN[-4:] in text and MSISDN not in page.content()
        assert "*" in text and "Outlet A" in text
        assert ID_NUMBER not in page.content().replace(f'value="{ID_NUMBER}"', "")
        shots(page, "lookup-numbers")
        no_sideways_scroll(page)

        item.locator("button", has_text=t["lookup.not_mine"]).click()
        page.get_by_label(t["lookup.dispute.note"]).fill("I never opened this number")
        page.get_by_role("button", name=t["lookup.dispute.send"]).click()
        page.locator("#lookup-numbers .dispute-opened").wait_for()
        assert page.get_by_role("button", name=t["lookup.not_mine"]).count() == 0
        shots(page, "lookup-dispute-opened")

        boss = browsing.context(locale="en-US").new_page()
        sign_in(boss, server, "supervisor_a", t)
        boss.get_by_role("heading", name=t["lookup.disputes.heading"]).wait_for()
        row = boss.locator("#dispute-rows tr")
        row.first.wait_for()
        assert row.count() == 1
        assert MSISDN[-4:] in row.inner_text() and "I never opened this number" in row.inner_text()
        assert "clerk_a" in row.inner_text()
        shots(boss, "supervisor-disputes")
        boss.get_by_role("button", name=t["lookup.disputes.answer"]).click()
        boss.get_by_label(t["lookup.disputes.text"]).fill("Checked the registration: not theirs.")
        boss.get_by_role("button", name=t["lookup.disputes.upheld"]).click()
        boss.locator("#dispute-status [data-outcome='upheld']").wait_for()
        boss.locator("#disputes-empty").wait_for()
        shots(boss, "supervisor-dispute-answered", both=False)
    assert_local_only(browsing)


# ------------------------------------------------------------------ the page alone, in zh-CN

NUMBERS = [
    {
        "ref": "r1",
        "msisdn": "*******5678",
        "outlet": "营业厅 A",
        "bound_at": "2026-11-30T09:15:00+00:00",
        "disputed": False,
    },
    {
        "ref": "r2",
        "msisdn": "*******4321",
        "outlet": "营业厅 B",
        "bound_at": "2026-10-02T14:00:00+00:00",
        "disputed": True,
    },
]


def route_lookup(page: Any, answers: list[dict[str, Any]], seen: list[Any]) -> None:
    """The look-up's API, answered by the test: one capture answer per capture."""

    def created(route: Any) -> None:
        seen.append(route.request)
        route.fulfill(
            status=201,
            json={
                "id": "L1",
                "token": "tok-1",
                "expires_at": "2099-01-01T00:00:00Z",
                "attempts_left": 3,
            },
        )

    def challenge(route: Any) -> None:
        seen.append(route.request)
        route.fulfill(
            json={
                "steps": [{"action": "blink", "prompt_s": 0.3, "window_end_s": 1.2}],
                "capture_s": 1.5,
                "nonce": "n1",
                "issued_at": "2026-12-02T10:00:00Z",
                "expires_at": "2026-12-02T10:00:30Z",
                "answer_by": "2026-12-02T10:01:00Z",
                "valid_s": 30,
                "attempts_left": 3,
            }
        )

    def capture(route: Any) -> None:
        seen.append(route.request)
        route.fulfill(json=answers.pop(0))

    def dispute(route: Any) -> None:
        seen.append(route.request)
        body = route.request.post_data_json
        route.fulfill(
            status=201,
            json={
                "id": "D1",
                "state": "open",
                "msisdn": "*******5678",
                "outlet": "营业厅 A",
                "opened_at": "2026-12-02T10:02:00Z",
                "ref": body["ref"],
            },
        )

    page.route("**/api/v1/citizen/lookups", created)
    page.route("**/api/v1/citizen/lookups/*/challenge", challenge)
    page.route("**/api/v1/citizen/lookups/*/capture", capture)
    page.route("**/api/v1/citizen/lookups/*/disputes", dispute)


def route_disputes(page: Any) -> list[Any]:
    """The supervisor's disputes, answered by the test: one open, none once answered."""
    answered: list[Any] = []
    dispute = {
        "id": "D1",
        "state": "open",
        "outlet_id": "o1",
        "outlet": "Outlet A",
        "msisdn": "*******5678",
        "session_id": "s1",
        "clerk": "clerk_a",
        "bound_at": "2026-11-30T09:15:00+00:00",
        "opened_at": "2026-12-02T10:02:00+00:00",
        "note": "不是我办理的",
        "outcome": None,
        "answer": None,
        "answered_by": None,
        "answered_at": None,
    }

    def listing(route: Any) -> None:
        route.fulfill(json=[] if answered else [dispute])

    def answer(route: Any) -> None:
        answered.append(route.request.post_data_json)
        route.fulfill(json={**dispute, "state": "answered", **answered[-1]})

    page.route("**/api/v1/disputes?*", listing)
    page.route("**/api/v1/disputes/*/answer", answer)
    return answered


def test_the_look_up_page_in_chinese_refuses_alike_then_shows_and_flags(
    tmp_path: Path, browser_on: Any, shots: Shots
) -> None:
    browsing: Browsing = browser_on(grey_clip(tmp_path / "grey.y4m"))
    t = ZH
    refused = {"verdict": "refused", "numbers": [], "reasons": ["FACE_MISMATCH"]}
    answers = [
        {**refused, "attempts_left": 2},
        {**refused, "attempts_left": 1, "reasons": ["CHALLENGE_INCOMPLETE"]},
        {"verdict": "passed", "attempts_left": 1, "numbers": NUMBERS},
    ]
    seen: list[Any] = []
    with desk_serving(tmp_path) as desk:
        page = browsing.context(locale="zh-CN").new_page()
        route_lookup(page, answers, seen)
        page.goto(desk.server.url + "/web/lookup.html")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        page.get_by_role("button", name=t["lookup.card.next"]).click()
        assert page.locator("#lookup-id-error").inner_text() == t["lookup.card.id_missing"]
        fill_and_consent(page, t, desk.portrait, shots)
        sent = seen[0].post_data_buffer
        assert ID_NUMBER.encode() in sent and b'name="biometric_consent"\r\n\r\ntrue' in sent

        bodies = []
        for attempt in range(2):
            page.wait_for_function("() => !document.getElementById('capture-start').disabled")
            if attempt == 0:
                shots(page, "lookup-capture")
            page.get_by_role("button", name=t["capture.start"], exact=True).click()
            page.locator("#verdict[data-verdict='refused']").wait_for(timeout=30_000)
            bodies.append(page.locator("#verdict").inner_text())
            bodies.append(page.locator("#lookup-result-body").inner_text())
            assert page.locator("#lookup-numbers li").count() == 0
            assert "FACE_MISMATCH" not in page.content()  # no reason told
            if attempt == 0:
                shots(page, "lookup-refused")
            page.get_by_role("button", name=t["lookup.retry"]).click()
        # the same sentences whatever the answer's reasons
        assert bodies[0] == bodies[2] == t["lookup.result.refused"]
        assert bodies[1] == bodies[3] == t["lookup.result.refused.body"]

        page.wait_for_function("() => !document.getElementById('capture-start').disabled")
        page.get_by_role("button", name=t["capture.start"], exact=True).click()
        page.locator("#verdict[data-verdict='passed']").wait_for(timeout=30_000)
        items = page.locator("#lookup-numbers li")
        assert items.count() == 2
        assert (
            "*******5678" in items.nth(0).inner_text() and "营业厅 A" in items.nth(0).inner_text()
        )
        assert items.nth(1).get_by_text(t["lookup.dispute.already"]).is_visible()
        assert items.nth(1).get_by_role("button").count() == 0
        shots(page, "lookup-numbers")
        no_sideways_scroll(page)
        page.set_viewport_size({"width": 1280, "height": 800})

        items.nth(0).get_by_role(
            "button", name=t["lookup.not_mine.label"].format(msisdn="*******5678")
        ).click()
        page.get_by_label(t["lookup.dispute.note"]).fill("不是我办理的")
        shots(page, "lookup-dispute-form", both=False)
        page.get_by_role("button", name=t["lookup.dispute.send"]).click()
        items.nth(0).locator(".dispute-opened").wait_for()
        assert "D1" in items.nth(0).inner_text()
        shots(page, "lookup-dispute-opened")
        dispute = next(r for r in seen if r.url.endswith("/disputes"))
        assert dispute.post_data_json == {"ref": "r1", "note": "不是我办理的"}
        # every call after the first carries the look-up's token, never a staff bearer
        for request in seen[1:]:
            assert request.headers.get("x-lookup-token") == "tok-1", request.url
            assert "authorization" not in request.headers

        boss = browsing.context(locale="zh-CN").new_page()
        answered = route_disputes(boss)
        sign_in(boss, desk.server, "supervisor_a", t)
        row = boss.locator("#dispute-rows tr")
        row.first.wait_for()
        assert "*******5678" in row.inner_text() and "不是我办理的" in row.inner_text()
        boss.get_by_role(
            "button", name=t["lookup.disputes.answer_case"].format(msisdn="*******5678")
        ).click()
        boss.get_by_role("button", name=t["lookup.disputes.dismissed"]).click()
        assert (
            boss.locator("#dispute-answer-error").inner_text() == t["lookup.disputes.text.missing"]
        )
        boss.get_by_label(t["lookup.disputes.text"]).fill("经核查为本人办理")
        shots(boss, "supervisor-dispute-answer")
        boss.get_by_role("button", name=t["lookup.disputes.dismissed"]).click()
        boss.locator("#dispute-status [data-outcome='dismissed']").wait_for()
        boss.locator("#disputes-empty").wait_for()  # asked again: none left open
        assert answered == [{"outcome": "dismissed", "answer": "经核查为本人办理"}]
    assert browsing.foreign_hosts() == []
    assert browsing.console_errors == [], browsing.console_errors
