"""The two card samples of ../shared/data/cn_id_card_synthetic read as they are printed (each
image holds the front above the back, as a photocopy does), with what must be flagged: the
colour card's number says a woman (sequence 634, even) while the card says 男, the greyscale
card's made-up number fails its check character, and both cards ran out in 2020."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from realname.cards import create_card_reader
from realname.evaluation.idcard_eval import SAMPLES
from realname.media.image import load_image

pytestmark = pytest.mark.data

TODAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def reader():
    loaded = create_card_reader("rapidocr")
    loaded.load()
    return loaded


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_sample_card_reads_as_printed_and_is_flagged(data_dir: Path, reader, name: str) -> None:
    path = data_dir / "cn_id_card_synthetic" / name
    if not path.is_file():
        pytest.skip(f"{path} is not in this data folder")
    reading = reader.read([load_image(path)], today=TODAY)
    assert {s.side for s in reading.sides} == {"front", "back"}
    assert dict(reading.values()) == SAMPLES[name]["fields"]
    for reason in SAMPLES[name]["reasons"]:
        assert reason in reading.reasons
    assert reading.portrait is not None
