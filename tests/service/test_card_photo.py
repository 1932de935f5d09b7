"""``POST .../id-card/photo`` (a photographed card read, nothing stored), the card step's
``portrait_source``, ``ocr_corrected`` and chip-reader JSON, with a fake card reader."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from realname.cards.reading import CardField, CardSide, Disagreement, IdCardReading
from realname.errors import CardNotFoundError, MultipleCardsError
from realname.service.app import create_app
from realname.service.store.models import AuditRow
from tests.service.conftest import (
    Clock,
    Service,
    card_form,
    make_id,
    make_settings,
    populate,
    portrait_png,
)
from tests.service.fakes import FakeVerifier

NUMBER = make_id()
READ = {
    "name": "张三",
    "sex": "男",
    "ethnicity": "汉",
    "birth_date": "1990-03-07",
    "address": "北京市东城区某街1号",
    "id_number": NUMBER,
    "issuing_authority": "北京市公安局东城分局",
    "valid_from": "2020-01-01",
    "valid_until": "长期",
}


class FakeCardReader:
    """Reads every photo as the card READ (or raises ``error``); records what it was given."""

    name = "fake-reader"
    version = "1"

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.calls: list[tuple[int, Mapping[str, str] | None]] = []

    def load(self) -> None:
        pass

    def read(
        self,
        images: Sequence[np.ndarray],
        *,
        today: date,
        given: Mapping[str, str] | None = None,
        given_source: str = "typed",
    ) -> IdCardReading:
        self.calls.append((len(images), given))
        if self.error is not None:
            raise self.error
        fields = tuple(CardField(k, v, 0.97, "front", (10, 20, 100, 30)) for k, v in READ.items())
        disagreements = tuple(
            Disagreement(k, READ.get(k), v, "typed")
            for k, v in (given or {}).items()
            if READ.get(k) != v
        )
        quad = ((0.0, 0.0), (856.0, 0.0), (856.0, 540.0), (0.0, 540.0))
        return IdCardReading(
            fields=fields,
            sides=(CardSide("front", 0, quad), CardSide("back", 180, quad)),
            reasons=tuple(f"PHOTO_DISAGREES_{d.field.upper()}" for d in disagreements),
            engine=self.name,
            version=self.version,
            timings=(("read", 0.1),),
            portrait=np.full((390, 308, 3), 200, np.uint8),
            disagreements=disagreements,
        )


@pytest.fixture
def reader() -> FakeCardReader:
    return FakeCardReader()


@pytest.fixture
def svc(database_url: str, reader: FakeCardReader) -> Iterator[Service]:
    verifier = FakeVerifier()
    app = create_app(
        make_settings(database_url),
        verifier=verifier,
        enroller=verifier.enrol,
        card_reader=reader,
        clock=Clock(),
        periodic_tasks=False,
    )
    with TestClient(app) as client:
        s = Service(client, app.state.ctx, Clock(), verifier)
        populate(s.ctx)
        s.headers["clerk_a"] = s.login("clerk_a")
        s.headers["clerk_b"] = s.login("clerk_b")
        yield s
        verifier.release.set()


def _photo(svc: Service, sid: str, who: str = "clerk_a", **extra: Any) -> Any:
    files = {"front": ("front.png", portrait_png(1), "image/png")}
    if extra.pop("back", False):
        files["back"] = ("back.png", portrait_png(2), "image/png")
    return svc.client.post(
        f"/api/v1/sessions/{sid}/id-card/photo", files=files, data=extra, headers=svc.headers[who]
    )


def _audit(svc: Service, action: str) -> list[AuditRow]:
    with svc.ctx.database.transaction() as session:
        rows = session.query(AuditRow).filter(AuditRow.action == action).all()
        for row in rows:
            session.expunge(row)
        return rows


def test_a_card_photo_is_read_field_by_field_and_nothing_of_it_is_stored(svc, reader) -> None:
    sid = svc.start()["id"]
    r = _photo(svc, sid, back=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {f["name"]: f["text"] for f in body["fields"]} == READ
    assert all(f["confidence"] == 0.97 for f in body["fields"])
    assert [s["side"] for s in body["sides"]] == ["front", "back"]
    assert body["portrait"].startswith("data:image/png;base64,")
    assert base64.b64decode(body["portrait"].split(",", 1)[1])[:4] == b"\x89PNG"
    assert reader.calls == [(2, None)]
    row = svc.row(sid)
    assert row.state == "awaiting_card" and row.card_enc is None and row.portrait_enc is None
    (entry,) = _audit(svc, "id_card.photo_read")
    text = entry.objects
    assert "name" in text and "id_number" in text  # the field names ...
    for value in ("张三", NUMBER, "北京市东城区某街1号"):  # ... never their values
        assert value not in text


def test_typed_fields_are_compared_with_the_photo(svc, reader) -> None:
    sid = svc.start()["id"]
    r = _photo(svc, sid, name="李四", id_number=NUMBER)
    assert r.status_code == 200, r.text
    assert r.json()["disagreements"] == [
        {"field": "name", "read": "张三", "given": "李四", "source": "typed"}
    ]
    assert "PHOTO_DISAGREES_NAME" in r.json()["reasons"]
    assert reader.calls[-1][1] == {"name": "李四", "id_number": NUMBER}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CardNotFoundError("no card"), "CARD_NOT_FOUND"),
        (MultipleCardsError("two cards", fronts=2, backs=0), "MULTIPLE_CARDS"),
    ],
)
def test_a_photo_without_one_card_is_a_problem_with_its_code(svc, reader, error, code) -> None:
    sid = svc.start()["id"]
    reader.error = error
    r = _photo(svc, sid)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    assert "Traceback" not in r.text
    assert svc.row(sid).state == "awaiting_card"


def test_bad_uploads_are_refused_before_any_reading(svc, reader) -> None:
    sid = svc.start()["id"]
    r = svc.client.post(
        f"/api/v1/sessions/{sid}/id-card/photo",
        files={"back": ("b.png", portrait_png(), "image/png")},
        headers=svc.headers["clerk_a"],
    )
    assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID"
    r = svc.client.post(
        f"/api/v1/sessions/{sid}/id-card/photo",
        files={"front": ("f.png", b"not an image at all", "image/png")},
        headers=svc.headers["clerk_a"],
    )
    assert r.status_code in (400, 415) and r.json()["code"].startswith("IMAGE_")
    assert reader.calls == []


def test_another_outlets_session_is_not_found_and_a_read_card_is_not_read_again(svc) -> None:
    sid = svc.start()["id"]
    assert _photo(svc, sid, who="clerk_b").status_code == 404
    assert svc.card(sid).status_code == 200
    r = _photo(svc, sid)
    assert r.status_code == 409 and r.json()["code"] == "CARD_ALREADY_READ"


def test_the_printed_portrait_is_kept_as_such_and_corrections_are_audited_by_name(svc) -> None:
    sid = svc.start()["id"]
    form = card_form(portrait_source="printed", ocr_corrected="name,address")
    r = svc.client.put(
        f"/api/v1/sessions/{sid}/id-card",
        data=form,
        files={"portrait": ("p.png", portrait_png(), "image/png")},
        headers=svc.headers["clerk_a"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["portrait_source"] == "printed"
    assert svc.row(sid).portrait_source == "printed"
    (entry,) = _audit(svc, "id_card.corrected")
    assert json.loads(entry.objects)["fields"] == "name,address"
    assert "张三" not in entry.objects


def test_a_chip_portrait_is_the_default_and_an_unknown_corrected_field_is_refused(svc) -> None:
    sid = svc.start()["id"]
    r = svc.card(sid, ocr_corrected="name,shoe_size")
    assert r.status_code == 422 and r.json()["code"] == "REQUEST_INVALID"
    r = svc.card(sid)
    assert r.status_code == 200 and r.json()["portrait_source"] == "chip"


def test_a_chip_readers_json_fills_the_card_and_gives_its_portrait(svc) -> None:
    sid = svc.start()["id"]
    chip = {
        "Name": "张三",
        "Sex": "1",
        "Nation": "01",
        "Born": "19900307",
        "Address": "北京市东城区某街1号",
        "IDCardNo": NUMBER,
        "GrantDept": "北京市公安局东城分局",
        "UserLifeBegin": "20200101",
        "UserLifeEnd": "长期",
        "PhotoBuffer": base64.b64encode(portrait_png()).decode(),
    }
    r = svc.client.put(
        f"/api/v1/sessions/{sid}/id-card",
        data={"guardian_consent": "false"},
        files={
            "chip": ("chip.json", json.dumps(chip, ensure_ascii=False).encode(), "application/json")
        },
        headers=svc.headers["clerk_a"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "awaiting_capture"
    assert r.json()["name_masked"] == "张*"


def test_a_chip_answer_that_is_not_the_format_is_refused_with_its_code(svc) -> None:
    sid = svc.start()["id"]
    r = svc.client.put(
        f"/api/v1/sessions/{sid}/id-card",
        data={"guardian_consent": "false"},
        files={"chip": ("chip.json", b"{not json", "application/json")},
        headers=svc.headers["clerk_a"],
    )
    assert r.status_code == 422 and r.json()["code"] == "CHIP_DATA_INVALID"
    assert svc.row(sid).state == "awaiting_card"


def test_a_server_without_a_card_reader_says_so(database_url: str) -> None:
    verifier = FakeVerifier()
    app = create_app(
        make_settings(database_url),
        verifier=verifier,
        enroller=verifier.enrol,
        periodic_tasks=False,
    )
    with TestClient(app) as client:
        s = Service(client, app.state.ctx, Clock(), verifier)
        populate(s.ctx)
        s.headers["clerk_a"] = s.login("clerk_a")
        sid = s.start()["id"]
        r = _photo(s, sid)
        assert r.status_code == 501 and r.json()["code"] == "CARD_READER_OFF"
        verifier.release.set()
