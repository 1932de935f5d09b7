"""Reading the resident ID card: a photographed card read by OCR, a chip reader's answer, the
printed portrait, and the cross-checks between them.

:func:`create_card_reader` builds a reader by name (``rapidocr``); constructing it does nothing,
its ``load()`` loads the models once. See :mod:`realname.cards.reading` for what a reading holds.
"""

from __future__ import annotations

from collections.abc import Callable

from realname.cards.base import IdCardReader
from realname.cards.rapidocr_reader import RapidOcrCardReader
from realname.cards.reading import CardField, CardSide, Disagreement, IdCardReading
from realname.errors import UnknownEngineError

__all__ = [
    "CARD_READERS",
    "CardField",
    "CardSide",
    "Disagreement",
    "IdCardReader",
    "IdCardReading",
    "RapidOcrCardReader",
    "create_card_reader",
]

CARD_READERS: dict[str, Callable[[], IdCardReader]] = {"rapidocr": RapidOcrCardReader}


def create_card_reader(name: str) -> IdCardReader:
    try:
        factory = CARD_READERS[name]
    except KeyError:
        known = ", ".join(sorted(CARD_READERS))
        raise UnknownEngineError(
            f"unknown card reader {name!r}; known: {known}", name=name
        ) from None
    return factory()
