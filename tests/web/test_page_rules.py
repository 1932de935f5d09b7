"""The desk page checks what the service checks, with the service's own rules
(``GET /api/v1/rules``, read once per load), and a page whose dictionary cannot be loaded says
so instead of staying blank. A real chromium on the app with the fake verifier (no data, no
camera clip): the checks run in the page's own modules and its card form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from realname.errors import IdNumberError, MsisdnError, RealnameError
from realname.identity.idcard import MIN_BIRTH_YEAR, parse_id_number
from realname.identity.identifiers import canonical_msisdn
from realname.policy import load_policy
from realname.service.api.web import STATIC_DIR
from realname.service.app import create_app
from tests.service.conftest import PASSWORD, card_form, make_id, make_settings, populate
from tests.service.fakes import FakeVerifier
from tests.web.conftest import Browsing, LiveServer, start_server

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])"
)

EN = json.loads((STATIC_DIR / "i18n" / "en.json").read_text(encoding="utf-8"))
ZH = json.loads((STATIC_DIR / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))

# Typed numbers, each judged by the page's module and by realname.identity (the service).
NUMBERS = [
    "+86 138 0013 8000",
    "0086 13800138000",
    "8613800138000",
    "13800138000",
    "138-0013-8000",
    "(138) 0013.8000",
    "+86 12800138000",
    "12800138000",
    "1380013800",
    "861380013800",
    "+1 13800138000",
    "１３８００１３８０００",  # full-width digits
    "138\u200b00138000",  # a zero-width space
    "13800138000x",
]
ENDS_IN_X = next(n for n in (make_id(sequence=f"{i:03d}") for i in range(1000)) if n.endswith("X"))
ID_NUMBERS = [
    make_id(),
    ENDS_IN_X,
    ENDS_IN_X.lower(),
    make_id(birth=f"{MIN_BIRTH_YEAR - 1}1231"),
    make_id(birth=f"{MIN_BIRTH_YEAR}0101"),
    make_id(birth="20990101"),
    make_id(birth="19900230"),
    make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1"),  # a wrong check character
    make_id()[:6] + " " + make_id()[6:14] + " " + make_id()[14:],  # with spaces
    make_id().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}),  # full-width
    make_id()[:17],
    make_id() + "1",
    "A" + make_id()[1:],
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    app = create_app(
        make_settings(f"sqlite:///{tmp_path / 'realname.db'}"),
        verifier=FakeVerifier(),
        periodic_tasks=False,
    )
    live = start_server(app)
    try:
        populate(app.state.ctx)
        yield live
    finally:
        live.stop()


@pytest.fixture
def browsing(browser_on: Any) -> Browsing:
    result: Browsing = browser_on(None)
    return result


def open_desk(browsing: Browsing, server: LiveServer, t: dict[str, str], locale: str) -> Any:
    page = browsing.context(locale=locale).new_page()
    page.goto(server.url + "/")
    page.get_by_label(t["signin.username"]).fill("clerk_a")
    page.get_by_label(t["signin.password"]).fill(PASSWORD)
    page.get_by_role("button", name=t["signin.submit"], exact=True).click()
    page.get_by_role("heading", name=t["consent.heading"]).wait_for()
    return page


def page_rules(page: Any) -> dict[str, Any]:
    rules: dict[str, Any] = page.evaluate(
        "async () => (await import('/web/js/rules.js')).loadRules()"
    )
    return rules


def service_accepts(check: Any, value: str) -> str | None:
    """The canonical form the service reads, or None where it refuses."""
    try:
        return str(check(value))
    except RealnameError:
        return None


def test_the_rules_are_read_once_and_the_framing_limits_are_the_policys(
    browsing: Browsing, server: LiveServer
) -> None:
    page = open_desk(browsing, server, EN, "en")
    rules = page_rules(page)
    policy = load_policy()
    assert policy.liveness is not None
    framing, quality = policy.liveness.framing, policy.quality
    assert rules["framing"] == {
        "min_brightness": quality.min_brightness,
        "max_brightness": quality.max_brightness,
        "max_clipped_fraction": quality.max_clipped_fraction,
        "min_face_width": framing.min_face_width,
        "max_face_width": framing.max_face_width,
        "max_centre_offset": framing.max_centre_offset,
    }
    asked = [u for u in browsing.urls if u.endswith("/api/v1/rules")]
    assert len(asked) == 1, asked  # once per load, then kept

    # The page's own framing check, on stills just inside and just outside the policy's
    # brightness limits (a checkerboard of +-20 grey levels, so that it is not flat).
    advice = page.evaluate(
        """async (levels) => {
          const { Camera } = await import('/web/js/capture.js');
          const { loadRules } = await import('/web/js/rules.js');
          const camera = new Camera(document.createElement('video'), (await loadRules()).framing);
          const out = [];
          for (const level of levels) {
            const still = document.createElement('canvas');
            still.width = 640; still.height = 480;
            const ctx = still.getContext('2d');
            for (let y = 0; y < 480; y += 8) for (let x = 0; x < 640; x += 8) {
              const v = level + (((x + y) / 8) % 2 ? 20 : -20);
              ctx.fillStyle = `rgb(${v},${v},${v})`;
              ctx.fillRect(x, y, 8, 8);
            }
            still.videoWidth = 640; still.videoHeight = 480;
            camera.video = still;
            out.push(await camera.framing());
          }
          return out;
        }""",
        [
            quality.min_brightness - 4,
            quality.min_brightness + 4,
            quality.max_brightness - 4,
            quality.max_brightness + 4,
        ],
    )
    assert advice == ["dark", "ok", "ok", "bright"]
    assert browsing.console_errors == []


def test_the_desk_checks_mobile_numbers_as_the_service_does(
    browsing: Browsing, server: LiveServer
) -> None:
    page = open_desk(browsing, server, ZH, "zh-CN")
    judged = page.evaluate(
        """async (numbers) => {
          const { msisdnProblem } = await import('/web/js/desk/number.js');
          const { loadRules } = await import('/web/js/rules.js');
          const rule = (await loadRules()).msisdn;
          return numbers.map((n) => msisdnProblem(n, rule));
        }""",
        NUMBERS,
    )
    for typed, (problem, digits) in zip(NUMBERS, judged, strict=True):
        canonical = service_accepts(canonical_msisdn, typed)
        assert (problem == "") == (canonical is not None), (typed, problem)
        if canonical is not None:
            assert digits == canonical, typed
    accepted = dict(zip(NUMBERS, judged, strict=True))
    assert accepted["+86 138 0013 8000"] == ["", "13800138000"]
    assert accepted["0086 13800138000"] == ["", "13800138000"]
    # A refusal carries the service's problem code.
    assert page_rules(page)["msisdn"]["error_code"] == MsisdnError.code
    assert browsing.console_errors == []


def test_the_desk_checks_id_numbers_as_the_service_does(
    browsing: Browsing, server: LiveServer
) -> None:
    page = open_desk(browsing, server, EN, "en")
    judged = page.evaluate(
        """async (numbers) => {
          const { idNumberProblem } = await import('/web/js/desk/card.js');
          const { loadRules } = await import('/web/js/rules.js');
          const rule = (await loadRules()).id_number;
          return numbers.map((n) => idNumberProblem(n, rule));
        }""",
        ID_NUMBERS,
    )
    for typed, problem in zip(ID_NUMBERS, judged, strict=True):
        accepted = service_accepts(parse_id_number, typed) is not None
        assert (problem == "") == accepted, (typed, problem)


def test_an_id_number_born_before_1900_is_refused_by_the_form_as_by_the_service(
    browsing: Browsing, server: LiveServer, tmp_path: Path
) -> None:
    t = EN
    page = open_desk(browsing, server, t, "en")
    sessions: list[dict[str, Any]] = []
    page.on(
        "response",
        lambda r: sessions.append(r.json()) if r.url.endswith("/api/v1/sessions") else None,
    )
    cards: list[str] = []
    page.on("request", lambda r: cards.append(r.url) if r.url.endswith("/id-card") else None)
    page.get_by_role("button", name=t["consent.accept"]).click()
    page.get_by_role("heading", name=t["card.heading"]).wait_for()

    year = page_rules(page)["id_number"]["min_birth_year"]
    assert year == MIN_BIRTH_YEAR
    old = make_id(birth=f"{year - 1}1231")
    with pytest.raises(IdNumberError) as refused:
        parse_id_number(old)
    field = page.get_by_label(t["card.id_number"])
    field.fill(old)
    field.blur()
    hint = page.locator("#card-id-error")
    hint.filter(has_text=t["card.id_number.invalid_date"].format(year=year)).wait_for()
    assert hint.get_attribute("data-code") == refused.value.code

    # The whole card, sent: the page refuses it as the service would, and sends nothing.
    portrait = tmp_path / "portrait.png"
    ok, png = cv2.imencode(".png", np.full((126, 102, 3), 128, np.uint8))
    assert ok
    portrait.write_bytes(png.tobytes())
    page.get_by_label(t["card.name"]).fill("张三")
    page.get_by_label(t["card.sex"]).select_option("男")
    page.get_by_label(t["card.birth_date"]).fill(f"{year - 1}-12-31")
    page.get_by_label(t["card.valid_from"]).fill("2020-01-01")
    page.get_by_label(t["card.long_term"]).check()
    page.get_by_label(t["card.portrait"]).set_input_files(str(portrait))
    page.get_by_role("button", name=t["card.submit"]).click()
    error = page.locator("#card-error")
    error.filter(has_text=t[f"error.{refused.value.code}"]).wait_for()
    assert error.get_attribute("data-code") == refused.value.code
    assert cards == []

    # The service, asked directly with this session and the same number, gives that code.
    token = page.evaluate("() => sessionStorage.getItem('realname.token')")
    form: dict[str, Any] = dict(
        card_form(id_number=old, birth_date=f"{year - 1}-12-31"),
        portrait={"name": "portrait.png", "mimeType": "image/png", "buffer": png.tobytes()},
    )
    answer = page.request.put(
        f"{server.url}/api/v1/sessions/{sessions[0]['id']}/id-card",
        headers={"Authorization": f"Bearer {token}"},
        multipart=form,
    )
    assert answer.status == 422
    assert answer.json()["code"] == refused.value.code

    # A number of the earliest year is accepted (the hint clears).
    field.fill(make_id(birth=f"{year}0101"))
    field.blur()
    assert hint.text_content() == ""
    assert hint.get_attribute("data-code") is None


@pytest.mark.parametrize("failure", ["abort", "500"])
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_dictionary_that_cannot_be_loaded_is_said_in_both_languages(
    browsing: Browsing, server: LiveServer, failure: str, locale: str
) -> None:
    page = open_desk(browsing, server, ZH if locale == "zh-CN" else EN, locale)

    def fail(route: Any) -> None:
        if failure == "abort":
            route.abort()
        else:
            route.fulfill(status=500, body="")

    page.route("**/web/i18n/*.json", fail)
    for url in ("/web/desk.html", "/web/", "/web/reviews.html"):
        page.goto(server.url + url)
        message = page.locator("#page-error[role=alert]")
        message.wait_for()
        assert message.is_visible()
        paragraphs = message.locator("p")
        assert paragraphs.count() == 2
        langs = [paragraphs.nth(i).get_attribute("lang") for i in range(2)]
        assert langs[0] == locale and sorted(langs) == ["en", "zh-CN"], url
        for i in range(2):
            assert len(paragraphs.nth(i).inner_text().strip()) > 20, url
