"""RapidOCR (PP-OCRv6 detection and recognition, bundled in the ``rapidocr`` wheel) as the ID card
reader.

Only RapidOCR's default configuration is used: its bundled models, never another (choosing one
downloads it), and never ``result.vis()`` (it fetches a font). A photo is read in three stages:

1. **locate** (:func:`realname.cards.locate.find_card_quads`): the card outlines in the photo;
2. **ocr**: each outline rectified to 856x540 and read; the lines tell the side and whether it
   lies upside down (:func:`realname.cards.layout.classify_side`). A photo in which no outline
   gives a side is read whole, as a scan cropped to the card;
3. **parse**: the fields (:mod:`realname.cards.layout`), the cross-checks and the comparison with
   what was typed or read from the chip (:mod:`realname.cards.checks`), and the printed portrait
   (:mod:`realname.cards.portrait`).
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from typing import Any, Literal

import cv2
import numpy as np

from realname.cards.checks import check_fields, compare_fields, disagreement_reasons
from realname.cards.layout import SideText, TextLine, back_fields, classify_side, front_fields
from realname.cards.locate import find_card_quads, order_corners, rectify, turn_degrees
from realname.cards.portrait import crop_portrait
from realname.cards.reading import (
    CARD_HEIGHT,
    CARD_WIDTH,
    CardField,
    CardSide,
    IdCardReading,
    Image,
)
from realname.engines.models import ENGINE_MODELS, resolve_model
from realname.errors import (
    CardNotFoundError,
    CardUnreadableError,
    ExtraNotInstalledError,
    MultipleCardsError,
)

__all__ = ["RapidOcrCardReader"]

_MAX_OUTLINES = 4  # outlines read per photo, best first
_WEAKER_OUTLINE = 0.25  # an outline scoring below this fraction of the best one is not read
_SECOND_CARD = 0.4  # after a whole side, an outline this strong (of the best) is still read
_SAME_SIDE_OVERLAP = 0.2  # outlines in one photo sharing this much of the smaller: one card


@dataclass(frozen=True, slots=True)
class _Found:
    text: SideText
    card: Image  # the rectified side, upright
    side: CardSide
    image_index: int
    fields: tuple[CardField, ...]  # parsed once from ``text``

    def value(self, name: str) -> str | None:
        return next((f.text for f in self.fields if f.name == name), None)


class RapidOcrCardReader:
    """Reads photographed resident ID cards (front and back) with RapidOCR."""

    name = "rapidocr"

    def __init__(self) -> None:
        self.version = "unloaded"
        self._engine: Any = None

    def load(self) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError:  # pragma: no cover - a broken installation
            raise ExtraNotInstalledError("rapidocr is not installed", package="rapidocr") from None
        for key in ENGINE_MODELS[self.name]:  # the bundled files we measured, SHA-256 pinned
            resolve_model(key)
        self.version = metadata.version("rapidocr")
        self._engine = RapidOCR(params={"Global.log_level": "error"})
        warm = np.full((CARD_HEIGHT, CARD_WIDTH, 3), 255, np.uint8)
        cv2.putText(warm, "513701 19950717", (40, 300), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 4)
        self._engine(warm)  # RapidOCR loads each model on first use

    def _lines(self, card: Image) -> list[TextLine]:
        if self._engine is None:
            self.load()
        result = self._engine(card)
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            pts = np.asarray(box, dtype=np.float32)
            x0, y0 = pts.min(axis=0)
            x1, y1 = pts.max(axis=0)
            bbox = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
            lines.append(TextLine(unicodedata.normalize("NFKC", text), float(score), bbox))
        return lines

    def _read_outline(self, image: Image, corners: np.ndarray, index: int) -> _Found | None:
        card = rectify(image, corners)
        text = classify_side(self._lines(card))
        if text is None:
            return None
        if text.upside_down:
            card = np.asarray(cv2.rotate(card, cv2.ROTATE_180), dtype=np.uint8)
            corners = np.roll(corners, -2, axis=0)
        sharpness = float(cv2.Laplacian(cv2.cvtColor(card, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())
        quad = tuple((float(x), float(y)) for x, y in corners)
        side = CardSide(text.side, turn_degrees(corners), quad, sharpness)  # type: ignore[arg-type]
        parse = front_fields if text.side == "front" else back_fields
        return _Found(text, card, side, index, tuple(parse(text.lines)))

    def _sides_in(self, image: Image, index: int) -> tuple[list[_Found], bool]:
        """The sides read in one photo, and whether any card-shaped outline was seen."""
        quads = find_card_quads(image, limit=_MAX_OUTLINES)
        found: list[_Found] = []
        best = quads[0].score if quads else 0.0
        for quad in quads:
            if quad.score < _WEAKER_OUTLINE * best:
                break
            whole = [f for f in found if _key_field(f)]
            if whole and quad.score < _SECOND_CARD * best:
                break  # one side read whole: only a strong outline may be a second card
            if any(_overlap(quad.corners, f.side.quad) for f in whole):
                continue  # part of a side already read whole: not read again
            side = self._read_outline(image, quad.corners, index)
            if side is not None:
                found.append(side)
        if not found:  # a scan or a photo cropped to the card: the whole image
            h, w = image.shape[:2]
            frame = order_corners([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
            side = self._read_outline(image, frame, index)
            if side is not None:
                found.append(side)
        return found, bool(quads)

    def read(
        self,
        images: Sequence[Image],
        *,
        today: date,
        given: Mapping[str, str] | None = None,
        given_source: Literal["typed", "chip"] = "typed",
    ) -> IdCardReading:
        started = time.perf_counter()
        per_photo = [self._sides_in(image, i) for i, image in enumerate(images)]
        found = [f for sides, _ in per_photo for f in sides]
        read_s = time.perf_counter() - started
        if not found and any(outline for _, outline in per_photo):
            raise CardUnreadableError(
                "a card-shaped outline was found but none of its text could be read: the card "
                "is too small in the photo, too blurred, too dark or covered by glare; "
                "photograph it again, closer and steady"
            )
        if not found:
            raise CardNotFoundError(
                "no ID card could be read in the photo: it is not a card, or the card is too "
                "small, too blurred or too dark for its text to be found"
            )
        parse_started = time.perf_counter()
        fronts = _distinct([f for f in found if f.side.side == "front"])
        backs = _distinct([f for f in found if f.side.side == "back"])
        if len(fronts) > 1 or len(backs) > 1:
            raise MultipleCardsError(
                f"the photo holds {len(fronts)} card fronts and {len(backs)} backs: "
                "photograph one card at a time",
                fronts=len(fronts),
                backs=len(backs),
            )
        fields: list[CardField] = []
        portrait = None
        if fronts:
            fields.extend(fronts[0].fields)
            portrait = crop_portrait(fronts[0].card)
        if backs:
            fields.extend(backs[0].fields)
        values = {f.name: f.text for f in fields}
        sides = tuple(f.side for f in (*fronts, *backs))
        reasons = list(check_fields(values, sides={s.side for s in sides}, today=today))
        disagreements = compare_fields(values, given or {}, given_source) if given else ()
        reasons.extend(disagreement_reasons(disagreements))
        parse_s = time.perf_counter() - parse_started
        return IdCardReading(
            fields=tuple(fields),
            sides=sides,
            reasons=tuple(reasons),
            engine=self.name,
            version=self.version,
            timings=(("read", read_s), ("parse", parse_s)),
            portrait=portrait,
            disagreements=tuple(disagreements),
        )


def _distinct(found: list[_Found]) -> list[_Found]:
    """One entry per physical side: the same side read from two photos (the clerk sent the
    front twice) or twice from one photo counts once, when it gives the same ID number or,
    without one, overlaps in the same photo."""
    complete = [f for f in found if _key_field(f)]
    if complete:  # a part of a card (an outline that cut it) is no card of its own
        found = complete
    kept: list[_Found] = []
    for f in found:
        if not any(_same(f, k) for k in kept):
            kept.append(f)
    return kept


def _overlap(a: Any, b: Any) -> bool:
    """Whether two outlines in one photo share more than ``_SAME_SIDE_OVERLAP`` of the
    smaller one's area."""
    qa = np.asarray(a, np.float32).reshape(4, 2)
    qb = np.asarray(b, np.float32).reshape(4, 2)
    inter, _ = cv2.intersectConvexConvex(qa, qb)
    smaller = min(cv2.contourArea(qa), cv2.contourArea(qb))
    return bool(smaller > 0 and inter / smaller > _SAME_SIDE_OVERLAP)


def _key_field(found: _Found) -> bool:
    """Whether a side read shows what every whole side shows: the front its ID number, the
    back its validity period."""
    key = "id_number" if found.side.side == "front" else "valid_from"
    return found.value(key) is not None


def _same(a: _Found, b: _Found) -> bool:
    """Whether two sides read are one physical side: overlapping outlines in one photo; across
    photos, the same ID number (a front) or any back (two photos of backs that differ would
    be two cards, but a back carries nothing that tells two cards apart)."""
    if a.image_index == b.image_index:
        return _overlap(a.side.quad, b.side.quad)
    na, nb = a.value("id_number"), b.value("id_number")  # None on a back
    if na and nb:
        return na == nb
    return True
