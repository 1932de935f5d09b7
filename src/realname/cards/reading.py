"""What reading an ID card returns: the fields, the sides found, cross-check reasons, timings.

A reading explains itself like the other results: the engine and its version, what each stage
took, and reason codes. A field that could not be read is absent (never guessed); a number whose
check character fails is reported as read, with ``ID_NUMBER_CHECK_FAILED``, never "corrected".

Field names (:data:`FIELD_NAMES`) and their canonical text:

* ``name``, ``ethnicity`` (``汉``), ``address`` (lines joined, no spaces),
  ``issuing_authority``: NFKC text as printed.
* ``sex``: ``男`` or ``女`` as printed.
* ``birth_date``, ``valid_from``: ISO dates ``YYYY-MM-DD``.
* ``valid_until``: an ISO date, or ``长期`` for a long-term card.
* ``id_number``: 18 characters, 17 digits and a digit or ``X``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "BACK_FIELDS",
    "CARD_HEIGHT",
    "CARD_WIDTH",
    "FIELD_NAMES",
    "FRONT_FIELDS",
    "CardField",
    "CardSide",
    "Disagreement",
    "IdCardReading",
    "Side",
]

#: The rectified card (ID-1, 85.6 x 54 mm, at 10 pixels per millimetre).
CARD_WIDTH = 856
CARD_HEIGHT = 540

Side = Literal["front", "back"]
Box = tuple[float, float, float, float]  # x, y, width, height in the rectified card
Point = tuple[float, float]
Image = npt.NDArray[np.uint8]

FRONT_FIELDS = ("name", "sex", "ethnicity", "birth_date", "address", "id_number")
BACK_FIELDS = ("issuing_authority", "valid_from", "valid_until")
FIELD_NAMES = FRONT_FIELDS + BACK_FIELDS


@dataclass(frozen=True, slots=True)
class CardField:
    """One field as read: its canonical text, the OCR's confidence (0-1; the lowest of the
    lines it was joined from) and its box on the rectified side it was read from."""

    name: str
    text: str
    confidence: float
    side: Side
    box: Box

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "side": self.side,
            "box": [round(v, 1) for v in self.box],
        }


@dataclass(frozen=True, slots=True)
class CardSide:
    """One side of a card found in the photo: which side, how far the photo had it turned
    (clockwise degrees: 0, 90, 180 or 270), and its corners in the photo (top-left, top-right,
    bottom-right, bottom-left of the upright card)."""

    side: Side
    orientation: int
    quad: tuple[Point, Point, Point, Point]
    sharpness: float = 0.0  # variance of the Laplacian of the rectified side

    def to_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "orientation": self.orientation,
            "quad": [[round(x, 1), round(y, 1)] for x, y in self.quad],
            "sharpness": round(self.sharpness, 1),
        }


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A field that the card photo and another source (typed by the clerk, or a chip reader)
    give differently. ``read`` is the photo's text (``None``: not read), ``given`` the other's."""

    field: str
    read: str | None
    given: str
    source: Literal["typed", "chip"]

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "read": self.read, "given": self.given, "source": self.source}


@dataclass(frozen=True, slots=True, eq=False)
class IdCardReading:
    """A card photo read. ``reasons`` are cross-check and completeness codes (see
    :mod:`realname.cards.checks`); ``passed`` is true when there are none."""

    fields: tuple[CardField, ...]
    sides: tuple[CardSide, ...]
    reasons: tuple[str, ...]
    engine: str
    version: str
    timings: tuple[tuple[str, float], ...] = ()  # (stage, seconds)
    portrait: Image | None = field(default=None, repr=False)  # the printed photo, BGR
    disagreements: tuple[Disagreement, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.reasons

    def field(self, name: str) -> CardField | None:
        return next((f for f in self.fields if f.name == name), None)

    def value(self, name: str) -> str | None:
        found = self.field(name)
        return None if found is None else found.text

    def values(self) -> Mapping[str, str]:
        return {f.name: f.text for f in self.fields}

    @property
    def elapsed_s(self) -> float:
        return sum(s for _, s in self.timings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the portrait's pixels (``portrait``: true when found)."""
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "fields": [f.to_dict() for f in self.fields],
            "sides": [s.to_dict() for s in self.sides],
            "disagreements": [d.to_dict() for d in self.disagreements],
            "portrait": self.portrait is not None,
            "engine": self.engine,
            "version": self.version,
            "timings": {stage: round(s, 4) for stage, s in self.timings},
        }

    def explain(self) -> str:
        lines = [
            f"ID card read by {self.engine} {self.version} in {self.elapsed_s:.2f} s: "
            + ("all checks passed" if self.passed else "reasons " + ", ".join(self.reasons))
        ]
        for s in self.sides:
            lines.append(f"  {s.side} side, turned {s.orientation} degrees")
        for f in self.fields:
            lines.append(f"  {f.name}: {f.text} (confidence {f.confidence:.2f})")
        for d in self.disagreements:
            lines.append(f"  {d.field}: the photo reads {d.read!r}, the {d.source} {d.given!r}")
        return "\n".join(lines)
