"""``realname eval idcard``: how well photographed ID cards are read.

Over generated cards (:mod:`realname.evaluation.cardgen`: made-up people, rendered front and
back, each side "photographed" at a distortion level) and the card samples of the data folder:

* the exact-match rate of every field, and of the ID number on its own;
* the rate of wrong numbers that passed the check character (must be 0: a misread number that
  still checks would register the card under someone else's number);
* the rate of photos in which no card was found (CARD_NOT_FOUND) or two were (MULTIPLE_CARDS);
* the time per photo (median and 95th percentile, wall seconds, models loaded).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np

from realname.cards.base import IdCardReader
from realname.cards.reading import FIELD_NAMES, IdCardReading
from realname.errors import CardUnreadableError, IdNumberError
from realname.evaluation import cardgen
from realname.identity.idcard import parse_id_number
from realname.media.image import load_image

__all__ = [
    "SAMPLES",
    "CardEval",
    "evaluate_generated",
    "evaluate_samples",
]

Level = Literal["moderate", "hard"]
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class CardEval:
    """The counts of one evaluation (a level of generated cards, or the data samples)."""

    name: str
    cards: int = 0
    exact: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELD_NAMES, 0))
    wrong_number_checks: int = 0  # a misread number whose check character passes
    unreadable: dict[str, int] = field(default_factory=dict)  # error code -> photos
    photo_s: list[float] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)  # the first few, for the report

    def rate(self, name: str) -> float:
        return self.exact[name] / self.cards if self.cards else float("nan")

    def summary(self) -> dict[str, Any]:
        times = sorted(self.photo_s)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else float("nan")
        return {
            "name": self.name,
            "cards": self.cards,
            "field_exact": {k: self.rate(k) for k in FIELD_NAMES},
            "number_exact": self.rate("id_number"),
            "all_fields_exact": min((self.rate(k) for k in FIELD_NAMES), default=float("nan")),
            "wrong_number_passed_check": self.wrong_number_checks,
            "wrong_number_passed_check_rate": (
                self.wrong_number_checks / self.cards if self.cards else float("nan")
            ),
            "unreadable": dict(self.unreadable),
            "photo_s_median": statistics.median(times) if times else float("nan"),
            "photo_s_p95": p95,
            "misses": self.misses[:10],
        }


def _number_checks(text: str | None, today: date) -> bool:
    if text is None:
        return False
    try:
        parse_id_number(text, today=today)
    except IdNumberError:
        return False
    return True


def _score(
    result: CardEval, truth: Mapping[str, str], reading: IdCardReading | None, today: date
) -> None:
    result.cards += 1
    read = reading.values() if reading is not None else {}
    wrong = [k for k in FIELD_NAMES if k in truth and read.get(k) != truth[k]]
    for k in FIELD_NAMES:
        if k in truth and read.get(k) == truth[k]:
            result.exact[k] += 1
    number = read.get("id_number")
    if number is not None and number != truth.get("id_number") and _number_checks(number, today):
        result.wrong_number_checks += 1
    if wrong and len(result.misses) < 10:
        result.misses.append({k: {"truth": truth[k], "read": read.get(k)} for k in wrong})


def _read(
    reader: IdCardReader, photos: list[np.ndarray], today: date, result: CardEval
) -> IdCardReading | None:
    started = time.perf_counter()
    try:
        reading = reader.read(photos, today=today)
    except CardUnreadableError as exc:
        result.unreadable[exc.code] = result.unreadable.get(exc.code, 0) + 1
        reading = None
    result.photo_s.append((time.perf_counter() - started) / len(photos))
    return reading


def evaluate_generated(
    reader: IdCardReader,
    count: int,
    level: Level,
    *,
    seed: int = 0,
    today: date,
    progress: Progress | None = None,
) -> CardEval:
    """``count`` generated people, each card's front and back photographed at ``level`` and
    read together (two photos per card)."""
    rng = np.random.default_rng([seed, 0 if level == "moderate" else 1])
    portrait = cardgen.default_portrait()
    result = CardEval(f"generated-{level}")
    for done in range(1, count + 1):
        person = cardgen.make_person(rng, today=today)
        front, _ = cardgen.photograph(cardgen.render_front(person, portrait), level, rng)
        back, _ = cardgen.photograph(cardgen.render_back(person), level, rng)
        reading = _read(reader, [front, back], today, result)
        _score(result, person.values(), reading, today)
        if progress is not None:
            progress(done, count)
    return result


#: The printed text of the card samples in the data folder (``cn_id_card_synthetic``), as a
#: careful reader transcribes it from the images, and the reason each must be flagged with.
SAMPLES: dict[str, dict[str, Any]] = {
    "bzsome_synthetic_card_front_back_color.png": {
        "fields": {
            "name": "张三",
            "sex": "男",
            "ethnicity": "汉",
            "birth_date": "1995-07-17",
            "address": "四川省成都市武侯区益州大道中段722号复城国际",
            "id_number": "513701199507176346",
            "issuing_authority": "四川省成都市锦江分局",
            "valid_from": "2010-01-01",
            "valid_until": "2020-12-12",
        },
        # the number's sequence 634 is even (a woman) while the card says 男
        "reasons": ("CARD_SEX_MISMATCH", "CARD_EXPIRED"),
    },
    "airob0t_synthetic_card_front_back_bw.png": {
        "fields": {
            "name": "AIRobot",
            "sex": "男",
            "ethnicity": "瓦尔肯",
            "birth_date": "1999-09-09",
            "address": "加利福尼亚州旧金山市星际舰队总部",
            "id_number": "123456789012345678",
            "issuing_authority": "星际联邦星舰学院",
            "valid_from": "2010-01-01",
            "valid_until": "2020-01-01",
        },
        # a made-up number whose check character fails; a card of 2010-2020
        "reasons": ("ID_NUMBER_CHECK_FAILED", "CARD_EXPIRED"),
    },
}


def evaluate_samples(
    reader: IdCardReader, data: Path, *, today: date
) -> tuple[CardEval, list[dict[str, Any]]]:
    """The card samples of ``data/cn_id_card_synthetic`` read whole (each image holds the
    front and the back), and for each the reasons expected and found."""
    folder = data / "cn_id_card_synthetic"
    result = CardEval("data-samples")
    details = []
    for name, expected in SAMPLES.items():
        path = folder / name
        if not path.is_file():
            continue
        reading = _read(reader, [load_image(path)], today, result)
        _score(result, expected["fields"], reading, today)
        found = reading.reasons if reading is not None else ()
        details.append(
            {
                "file": name,
                "reasons": list(found),
                "expected_reasons": list(expected["reasons"]),
                "flagged": all(r in found for r in expected["reasons"]),
            }
        )
    return result, details
