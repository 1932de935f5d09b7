"""The RapidOCR card reader on generated cards (made-up people rendered and photographed at test
time), the network unreachable, and the bad photos of issue 14."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import cv2
import numpy as np
import pytest

from realname.cards import create_card_reader
from realname.cards.base import IdCardReader
from realname.errors import CardNotFoundError, CardUnreadableError, MultipleCardsError
from realname.evaluation import cardgen

TODAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def reader() -> IdCardReader:
    loaded = create_card_reader("rapidocr")
    loaded.load()
    return loaded


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return cardgen.default_portrait()


def _card(seed: int, portrait: np.ndarray, **kwargs):
    rng = np.random.default_rng(seed)
    person = cardgen.make_person(rng, today=TODAY, **kwargs)
    return person, cardgen.render_front(person, portrait), cardgen.render_back(person), rng


def test_a_photographed_card_reads_every_field(reader, portrait) -> None:
    person, front, back, rng = _card(1, portrait)
    photos = [
        cardgen.photograph(front, "moderate", rng)[0],
        cardgen.photograph(back, "moderate", rng)[0],
    ]
    reading = reader.read(photos, today=TODAY)
    assert dict(reading.values()) == person.values()
    assert reading.passed, reading.reasons
    assert {s.side for s in reading.sides} == {"front", "back"}
    assert reading.portrait is not None and reading.portrait.shape[0] > 200
    assert reading.engine == "rapidocr" and reading.version == "3.10.0"
    assert all(0.0 <= f.confidence <= 1.0 for f in reading.fields)


@pytest.mark.parametrize(
    "turn", [cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE]
)
def test_a_card_turned_in_the_photo_reads_the_same_and_says_how_far(reader, portrait, turn) -> None:
    person, front, _, rng = _card(2, portrait)
    photo, _ = cardgen.photograph(front, "moderate", rng)
    reading = reader.read([cv2.rotate(photo, turn)], today=TODAY)
    assert reading.value("id_number") == person.id_number
    assert reading.value("name") == person.name
    expected = {
        cv2.ROTATE_180: 180,
        cv2.ROTATE_90_CLOCKWISE: 90,
        cv2.ROTATE_90_COUNTERCLOCKWISE: 270,
    }
    assert reading.sides[0].orientation == expected[turn]


def test_the_back_alone_is_read_and_the_missing_front_is_a_reason(reader, portrait) -> None:
    person, _, back, rng = _card(3, portrait)
    reading = reader.read([cardgen.photograph(back, "moderate", rng)[0]], today=TODAY)
    assert reading.value("valid_from") == person.values()["valid_from"]
    assert "CARD_FRONT_MISSING" in reading.reasons
    assert reading.portrait is None


def test_a_number_whose_check_character_fails_is_reported_as_read_never_corrected(
    reader, portrait
) -> None:
    person, _, _, _rng = _card(4, portrait)
    last = person.id_number[-1]
    wrong = person.id_number[:-1] + ("0" if last != "0" else "1")
    forged = cardgen.SyntheticPerson(**{**person.__dict__, "id_number": wrong})
    reading = reader.read([cardgen.render_front(forged, portrait)], today=TODAY)
    assert reading.value("id_number") == wrong
    assert "ID_NUMBER_CHECK_FAILED" in reading.reasons


def test_an_expired_card_is_a_reason(reader, portrait) -> None:
    _person, front, back, _ = _card(5, portrait, expired=True)
    reading = reader.read([front, back], today=TODAY)
    assert "CARD_EXPIRED" in reading.reasons


def test_typed_fields_that_disagree_with_the_photo_are_listed(reader, portrait) -> None:
    person, front, back, _ = _card(6, portrait)
    typed = {**person.values(), "name": "王小明"}
    reading = reader.read([front, back], today=TODAY, given=typed, given_source="typed")
    assert [d.field for d in reading.disagreements] == ["name"]
    assert reading.disagreements[0].read == person.name


def test_not_a_card_is_card_not_found(reader) -> None:
    from skimage import data

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    with pytest.raises(CardUnreadableError):
        reader.read([photo], today=TODAY)
    with pytest.raises(CardNotFoundError):
        reader.read([np.full((480, 640, 3), 128, np.uint8)], today=TODAY)


def test_a_card_too_blurred_to_read_is_refused_clearly(reader, portrait) -> None:
    _, front, _, rng = _card(7, portrait)
    photo, _ = cardgen.photograph(front, "moderate", rng)
    with pytest.raises(CardUnreadableError):
        reader.read([cv2.GaussianBlur(photo, (0, 0), 12)], today=TODAY)


def test_two_cards_in_one_photo_are_refused(reader, portrait) -> None:
    _, a, _, rng = _card(8, portrait)
    _, b, _, _ = _card(9, portrait)
    with pytest.raises(MultipleCardsError):
        reader.read([cardgen.two_cards_photo(a, b, rng)], today=TODAY)


_OFFLINE = """
import socket, sys
def refused(*args, **kwargs):
    raise OSError("network unreachable (test)")
socket.socket.connect = refused
socket.create_connection = refused
socket.getaddrinfo = refused
from datetime import date
import numpy as np
from realname.cards import create_card_reader
from realname.evaluation import cardgen
reader = create_card_reader("rapidocr")
reader.load()
rng = np.random.default_rng(11)
person = cardgen.make_person(rng, today=date(2026, 12, 2))
card = cardgen.render_front(person, cardgen.default_portrait())
reading = reader.read([card], today=date(2026, 12, 2))
assert reading.value("id_number") == person.id_number, reading.values()
print("read offline")
"""


def test_the_reader_loads_and_reads_with_the_network_unreachable() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "read offline" in done.stdout
