"""Every identifier field in its odd Unicode forms: full-width digits are the same identifier
(so the cap, the lock-out and one-ID-per-number hold); other scripts' digits and zero-width
characters are refused with the identifier's code."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.service.conftest import Service, make_id
from tests.service.invariant import assert_invariants

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EXTENDED_ARABIC = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ZERO_WIDTH = "\u200b"
ID = make_id()


def _one_full_width_digit(number: str, at: int = 16) -> str:
    return number[:at] + number[at].translate(FULL_WIDTH) + number[at + 1 :]


def _passed(service: Service, id_number: str) -> str:
    """A passed session for ``ID`` (born 1990-03-07, male) typed as ``id_number``."""
    s = service.start()
    assert service.card(s["id"], id_number=id_number).status_code == 200
    r = service.capture(s["id"], service.nonce(s["id"]))
    assert r.json()["verdict"] == "passed"
    return str(s["id"])


def test_a_full_width_digit_does_not_make_a_sixth_number(service: Service) -> None:
    for i in range(5):
        assert service.bind(service.passed_session(ID), f"1381234567{i}").status_code == 201
    for form in (
        _one_full_width_digit(ID),
        ID.translate(FULL_WIDTH),
        f"{ID[:6]} {ID[6:14]} {ID[14:]}",
    ):
        sid = _passed(service, form)
        r = service.bind(sid, "13912345678")
        assert r.status_code == 409 and r.json()["code"] == "NUMBER_CAP_REACHED", form
        listed = service.client.get(
            f"/api/v1/subscriptions?session_id={sid}", headers=service.headers["clerk_a"]
        ).json()
        assert listed["active_numbers"] == 5
    assert_invariants(service.ctx)


def test_a_locked_id_stays_locked_in_full_width(service: Service) -> None:
    for _ in range(2):
        s = service.start()
        service.card(s["id"])
        for _ in range(3):
            again = service.challenge(s["id"])  # 429 ID_LOCKED once the ID is locked
            if again.status_code != 200:
                break
            r = service.capture(s["id"], again.json()["nonce"], clip=b"FAIL").json()
            if not r["attempts_left"]:
                break
    s = service.start()
    r = service.card(s["id"], id_number=ID)
    assert r.status_code == 429 and r.json()["code"] == "ID_LOCKED"
    s = service.start()
    r = service.card(s["id"], id_number=_one_full_width_digit(ID, 5))
    assert r.status_code == 429 and r.json()["code"] == "ID_LOCKED"


def test_an_active_number_in_full_width_is_taken(service: Service) -> None:
    assert service.bind(service.passed_session(), "13700000000").status_code == 201
    other = service.passed_session(make_id(birth="19851111", sequence="222"))
    for form in ("13７００００００００", "13700000000".translate(FULL_WIDTH), "+86 137 0000 0000"):
        r = service.bind(other, form)
        assert r.status_code == 409 and r.json()["code"] == "NUMBER_TAKEN", form
    assert_invariants(service.ctx)


@pytest.mark.parametrize(
    "form",
    [
        ID.translate(ARABIC_INDIC),
        ID[:8] + ID[8:].translate(EXTENDED_ARABIC),
        ID[:6] + ZERO_WIDTH + ID[6:],
        ID[:17] + "\u2060" + ID[17],
        ID + "\ufeff",
    ],
)
def test_an_id_number_in_another_script_or_with_zero_width_is_refused(
    service: Service, form: str
) -> None:
    s = service.start()
    r = service.card(s["id"], id_number=form)
    assert r.status_code == 422 and r.json()["code"] == "ID_NUMBER_INVALID", r.text
    assert ID not in r.text
    assert service.card(s["id"]).status_code == 200  # nothing was lost: the session goes on


@pytest.mark.parametrize(
    "form",
    [
        "13700000000".translate(ARABIC_INDIC),
        "137" + "00000000".translate(EXTENDED_ARABIC),
        "137" + ZERO_WIDTH + "00000000",
        "13700000000\u200d",
    ],
)
def test_a_mobile_number_in_another_script_or_with_zero_width_is_refused(
    service: Service, form: str
) -> None:
    sid = service.passed_session()
    r = service.bind(sid, form)
    assert r.status_code == 422 and r.json()["code"] == "MSISDN_INVALID", r.text
    r = service.client.delete(
        f"/api/v1/subscriptions/{quote(form)}?reason=moved", headers=service.headers["clerk_a"]
    )
    assert r.status_code == 422 and r.json()["code"] == "MSISDN_INVALID", r.text
    assert service.bind(sid, "13700000000").status_code == 201  # the session is still usable


def test_deregistering_a_full_width_form_ends_the_number(service: Service) -> None:
    assert service.bind(service.passed_session(), "13700000000").status_code == 201
    r = service.client.delete(
        f"/api/v1/subscriptions/{quote('13７００００００００')}?reason=moved",
        headers=service.headers["clerk_a"],
    )
    assert r.status_code == 200 and r.json()["msisdn_masked"] == "137****0000"
    assert service.bind(service.passed_session(), "13700000000").status_code == 201


def test_a_name_with_an_invisible_character_is_refused(service: Service) -> None:
    s = service.start()
    r = service.card(s["id"], name="张\u200b三")
    assert r.status_code == 400 and r.json()["code"] == "INPUT_INVALID"
    assert "U+200B" in r.json()["detail"]
    assert service.card(s["id"], name="张　三").status_code == 200


def test_a_session_id_in_another_form_finds_nothing_and_changes_nothing(
    service: Service,
) -> None:
    sid = service.passed_session()
    for form in (sid.upper(), sid.translate(FULL_WIDTH), sid[:8] + ZERO_WIDTH + sid[8:]):
        r = service.bind(form, "13700000000")
        assert r.status_code in (404, 422) and r.json()["code"] in ("NOT_FOUND", "REQUEST_INVALID")
        r = service.client.get(
            f"/api/v1/sessions/{quote(form)}", headers=service.headers["clerk_a"]
        )
        assert r.status_code == 404
    assert service.bind(sid, "13700000000").status_code == 201


def test_an_outlet_name_has_one_form(service: Service) -> None:
    admin = service.headers["admin"]
    r = service.client.post("/api/v1/outlets", json={"name": "Ｏｕｔｌｅｔ　Ａ"}, headers=admin)
    assert r.status_code == 409  # the same name as "Outlet A" once folded
    r = service.client.post("/api/v1/outlets", json={"name": "Outlet\u200bC"}, headers=admin)
    assert r.status_code == 400 and "U+200B" in r.json()["detail"]
