"""The desk's card step with a photographed card (issue 14, item 5), in a real chromium: the
clerk uploads a photo of a generated card (front and back, made at test time), the real
RapidOCR reader fills the form field by field with its confidence, the clerk corrects one field,
chooses the printed portrait as the reference and completes the registration. The verifier is
scripted (tests/web/test_desk_flow.py); the card reading is not. Screenshots are kept under the
artefacts."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from realname.cards import create_card_reader
from realname.cards.base import IdCardReader
from realname.service.app import create_app
from realname.service.context import CHINA, ServiceContext
from realname.service.store.models import AuditRow, RegistrationSession
from tests.service.conftest import make_settings, populate, portrait_png
from tests.web.conftest import Browsing, LiveServer, Shots, start_server
from tests.web.test_desk_flow import (
    EN,
    STEP_TIMEOUT_MS,
    ZH,
    Routes,
    ScriptedVerifier,
    grey_clip,
    press_start,
    route_desk,
    sign_in,
    start_ready,
    wait_verdict,
)

cardgen = pytest.importorskip("realname.evaluation.cardgen", reason="the card generator")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])"
)

CORRECTED_ADDRESS_SUFFIX = "附1号"  # what the clerk adds to the address read
TYPED_NAME = "王五"  # typed before the photo was read: not the card's name


@pytest.fixture(scope="module")
def reader() -> IdCardReader:
    found = create_card_reader("rapidocr")
    found.load()  # about 4 s, once for the module
    return found


@dataclasses.dataclass
class CardDesk:
    server: LiveServer
    ctx: ServiceContext
    verifier: ScriptedVerifier
    person: Any
    front: Path
    back: Path


@contextmanager
def serving(tmp_path: Path, reader: IdCardReader) -> Iterator[CardDesk]:
    verifier = ScriptedVerifier()
    app = create_app(
        make_settings(f"sqlite:///{tmp_path / 'realname.db'}"),
        verifier=verifier,
        card_reader=reader,
        periodic_tasks=False,
    )
    server = start_server(app)
    rng = np.random.default_rng(14)
    today = datetime.now(CHINA).date()
    person = cardgen.make_person(rng, today=today)
    front, _ = cardgen.photograph(
        cardgen.render_front(person, cardgen.default_portrait()), "moderate", rng
    )
    back, _ = cardgen.photograph(cardgen.render_back(person), "moderate", rng)
    paths = tmp_path / "front.jpg", tmp_path / "back.jpg"
    for path, image in zip(paths, (front, back), strict=True):
        assert cv2.imwrite(str(path), image)
    try:
        populate(app.state.ctx)
        yield CardDesk(server, app.state.ctx, verifier, person, *paths)
    finally:
        server.stop()


@pytest.fixture
def browsing(browser_on: Any, tmp_path: Path) -> Browsing:
    result: Browsing = browser_on(grey_clip(tmp_path / "grey.y4m"))
    return result


def card_put(page: Any) -> dict[str, str]:
    """The form fields of the next PUT .../id-card the page sends (files: their names)."""
    sent: dict[str, str] = {}

    def on_request(request: Any) -> None:
        if request.method == "PUT" and request.url.endswith("/id-card"):
            body = request.post_data_buffer or b""
            for part in body.split(b"\r\n--"):
                head, _, value = part.partition(b"\r\n\r\n")
                if b'name="' not in head:
                    continue
                name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
                if b"filename=" in head:
                    sent[name] = "file:" + head.split(b'filename="', 1)[1].split(b'"')[0].decode()
                else:
                    sent[name] = value.decode("utf-8", "replace")

    page.on("request", on_request)
    return sent


@pytest.mark.parametrize("t", [EN, ZH], ids=["en", "zh-CN"])
def test_a_clerk_reads_a_card_photo_corrects_a_field_and_registers_on_the_printed_portrait(
    tmp_path: Path, browsing: Browsing, shots: Shots, reader: IdCardReader, t: dict[str, str]
) -> None:
    with serving(tmp_path, reader) as desk:
        locale = "zh-CN" if t is ZH else "en-US"
        page = browsing.context(locale=locale, width=1280, height=800).new_page()
        route_desk(page, Routes())
        sign_in(page, desk.server, "clerk_a", t)
        page.get_by_role("button", name=t["consent.accept"]).click()
        page.get_by_role("heading", name=t["card.heading"]).wait_for()
        # the clerk had begun typing, and mistyped the name: the photo disagrees
        page.get_by_label(t["card.name"]).fill(TYPED_NAME)
        page.get_by_label(t["card.photo.front"]).set_input_files(str(desk.front))
        page.get_by_label(t["card.photo.back"]).set_input_files(str(desk.back))
        page.get_by_role("button", name=t["card.photo.read"]).click()
        want = desk.person.values()
        filled = t["card.photo.filled"].format(count=len(want))
        page.locator("#card-photo-status").filter(has_text=filled).wait_for(timeout=STEP_TIMEOUT_MS)
        # every field filled as printed, each with its confidence beside it
        assert page.get_by_label(t["card.name"]).input_value() == want["name"]
        assert page.get_by_label(t["card.id_number"]).input_value() == want["id_number"]
        assert page.get_by_label(t["card.address"]).input_value() == want["address"]
        assert page.get_by_label(t["card.valid_from"]).input_value() == want["valid_from"]
        if want["valid_until"] == "长期":
            assert page.get_by_label(t["card.long_term"]).is_checked()
        else:
            assert page.get_by_label(t["card.valid_until"]).input_value() == want["valid_until"]
        disagreement = page.locator(".ocr-note.disagrees[data-code='PHOTO_DISAGREES_NAME']")
        expected = t["card.photo.disagrees"].format(read=want["name"], given=TYPED_NAME)
        assert disagreement.inner_text() == expected
        assert page.locator("#card-photo-reasons").is_visible()
        listed = page.locator("#card-photo-reason-list li")
        assert "PHOTO_DISAGREES_NAME" in listed.evaluate_all(
            "(li) => li.map((x) => x.dataset.code)"
        )
        notes = page.locator(".ocr-note[data-confidence]")
        assert notes.count() == len(want)
        low = page.locator(".ocr-note.low")
        for i in range(notes.count()):
            confidence = float(notes.nth(i).get_attribute("data-confidence") or "nan")
            assert 0.0 <= confidence <= 1.0
        assert low.count() == sum(
            1
            for i in range(notes.count())
            if float(notes.nth(i).get_attribute("data-confidence") or 0) < 0.9
        )
        # the printed portrait is offered and chosen: the clerk has no chip portrait
        assert page.locator("#printed-field").is_visible()
        assert page.get_by_label(t["card.printed.use"]).is_checked()
        shots(page, f"card-photo-read-{locale}")
        # the clerk corrects the address
        address = page.get_by_label(t["card.address"])
        address.fill(want["address"] + CORRECTED_ADDRESS_SUFFIX)
        address.blur()
        page.locator(".ocr-corrected-note").first.wait_for()
        shots(page, f"card-photo-corrected-{locale}")
        sent = card_put(page)
        page.get_by_role("button", name=t["card.submit"]).click()
        page.get_by_role("heading", name=t["capture.heading"]).wait_for(timeout=STEP_TIMEOUT_MS)
        start_ready(page)
        press_start(page, t)
        wait_verdict(page, "passed")
        shots(page, f"card-photo-passed-{locale}")
        assert sent["portrait_source"] == "printed"
        assert sent["ocr_corrected"] == "address"
        assert sent["portrait"].startswith("file:")
        with desk.ctx.database.transaction() as session:
            row = session.scalars(select(RegistrationSession)).one()
            assert row.portrait_source == "printed" and row.state == "passed"
            audit = {a.action: a for a in session.scalars(select(AuditRow)).all()}
        read = json.loads(audit["id_card.photo_read"].objects)
        assert set(read["fields"].split(",")) == set(want)
        assert json.loads(audit["id_card.corrected"].objects)["fields"] == "address"
        for entry in (audit["id_card.photo_read"], audit["id_card.corrected"]):
            text = entry.objects
            assert want["name"] not in text and want["id_number"] not in text, text
            assert want["address"] not in text, text


def test_the_supervisor_sees_that_a_review_was_matched_on_the_printed_portrait(
    tmp_path: Path, browsing: Browsing, shots: Shots, reader: IdCardReader
) -> None:
    t = EN
    with serving(tmp_path, reader) as desk:
        page = browsing.context(locale="en-US", width=1280, height=800).new_page()
        route_desk(page, Routes())
        sign_in(page, desk.server, "clerk_a", t)
        page.get_by_role("button", name=t["consent.accept"]).click()
        page.get_by_label(t["card.photo.front"]).set_input_files(str(desk.front))
        page.get_by_role("button", name=t["card.photo.read"]).click()
        page.locator("#printed-field").wait_for(timeout=STEP_TIMEOUT_MS)
        assert page.get_by_label(t["card.printed.use"]).is_checked()
        # the back was not photographed: the validity is typed, and the reading says so
        assert "CARD_BACK_MISSING" in page.locator("#card-photo-reason-list li").evaluate_all(
            "(li) => li.map((x) => x.dataset.code)"
        )
        want = desk.person.values()
        page.get_by_label(t["card.valid_from"]).fill(want["valid_from"])
        if want["valid_until"] == "长期":
            page.get_by_label(t["card.long_term"]).check()
        else:
            page.get_by_label(t["card.valid_until"]).fill(want["valid_until"])
        desk.verifier.shows = b"REVIEW"
        page.get_by_role("button", name=t["card.submit"]).click()
        page.get_by_role("heading", name=t["capture.heading"]).wait_for(timeout=STEP_TIMEOUT_MS)
        press_start(page, t)
        wait_verdict(page, "review")

        boss = browsing.context(locale="en-US").new_page()
        sign_in(boss, desk.server, "supervisor_a", t)
        boss.locator("#review-rows tr").first.wait_for(timeout=15_000)
        boss.get_by_role("button", name=t["reviews.open"]).click()
        boss.locator("#ev-portrait-source").wait_for()
        assert (
            boss.locator("#ev-portrait-source").inner_text() == t["reviews.reference.printed_note"]
        )
        reference = boss.locator("#detail-scores dd[data-key='reviews.reference']")
        assert reference.inner_text() == t["reviews.reference.printed"]
        shots(boss, "review-printed-reference")


def test_a_pasted_chip_answer_is_sent_to_the_service_with_its_portrait(
    tmp_path: Path, browsing: Browsing, shots: Shots, reader: IdCardReader
) -> None:
    t = EN
    with serving(tmp_path, reader) as desk:
        want = desk.person.values()
        answer = {
            "format": "realname-chip/1",
            **want,
            "portrait": base64.b64encode(portrait_png()).decode(),
        }
        page = browsing.context(locale="en-US", width=1280, height=800).new_page()
        route_desk(page, Routes())
        sign_in(page, desk.server, "clerk_a", t)
        page.get_by_role("button", name=t["consent.accept"]).click()
        page.get_by_text(t["card.reader.summary"]).click()
        page.get_by_label(t["card.reader.label"]).fill(json.dumps(answer, ensure_ascii=False))
        page.get_by_role("button", name=t["card.reader.fill"]).click()
        page.get_by_text(t["card.reader.chip"]).wait_for()
        assert page.get_by_label(t["card.name"]).input_value() == want["name"]
        sent = card_put(page)
        page.get_by_role("button", name=t["card.submit"]).click()  # no portrait file: the chip's
        page.get_by_role("heading", name=t["capture.heading"]).wait_for(timeout=STEP_TIMEOUT_MS)
        shots(page, "chip-answer-accepted")
        assert sent["chip"] == "file:chip.json" and "portrait" not in sent
        assert sent["portrait_source"] == "chip"
        with desk.ctx.database.transaction() as session:
            row = session.scalars(select(RegistrationSession)).one()
            assert row.portrait_source == "chip" and row.state == "awaiting_capture"
            assert row.portrait_enc is not None
