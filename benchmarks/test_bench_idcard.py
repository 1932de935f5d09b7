"""Reading one photographed ID card side, models loaded (``make bench``). The target (issue 14):
a median of at most 1.5 s wall on this 2-core machine; read the report. Both cores are used,
as the service's worker uses them (RapidOCR's onnxruntime sessions)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from realname.cards import create_card_reader
from realname.cards.base import IdCardReader
from realname.evaluation import cardgen

TODAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def reader() -> IdCardReader:
    loaded = create_card_reader("rapidocr")
    loaded.load()
    return loaded


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    person = cardgen.make_person(rng, today=TODAY)
    portrait = cardgen.default_portrait()
    front, _ = cardgen.photograph(cardgen.render_front(person, portrait), "moderate", rng)
    back, _ = cardgen.photograph(cardgen.render_back(person), "moderate", rng)
    return {"front": front, "back": back}


@pytest.mark.parametrize("side", ["front", "back"])
def test_read_one_card_photo(
    benchmark: Any, reader: IdCardReader, photos: dict[str, np.ndarray], side: str
) -> None:
    reading = benchmark.pedantic(
        reader.read, args=([photos[side]],), kwargs={"today": TODAY}, rounds=7, iterations=1
    )
    assert reading.sides and reading.sides[0].side == side
