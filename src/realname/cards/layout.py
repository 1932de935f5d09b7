"""From the text lines on a rectified card side to its fields, by content first, layout second.

The light-blue labels (姓名, 民族, 出生 ...) are often missed, split or merged into the value by
the OCR, so a field is found by what it looks like: the ID number is the run of 18 digits (or
17 and an X), the birth date the line shaped like ``1995 年 7 月 17 日``, the sex row the one that
holds 男 or 女, the validity the line shaped like ``2010.01.01-2030.01.01``. The rows keep their
printed order (name, sex and ethnicity, birth date, address, number), so what is left is found
between them: the name above the sex row, the address between the birth date and the number.
A label that was read is stripped from the front of its value, with or without its spaces.

Which side a set of lines is, and whether the card lies upside down in the rectified image, are
decided from the same content: the number and the name's row on the front, the title and the
validity on the back. RapidOCR reads an upside-down line correctly (its direction classifier
turns each line), so an upside-down side is put right by turning its boxes, not by reading again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from realname.cards.checks import parse_birth_line, parse_validity
from realname.cards.reading import CARD_HEIGHT, CARD_WIDTH, CardField, Side

__all__ = ["SideText", "TextLine", "back_fields", "classify_side", "front_fields"]

_NUMBER_RUN = re.compile(r"[0-9X]{15,}")
_FRONT_WORDS = ("姓名", "性别", "民族", "出生", "住址", "公民身份", "号码")
_BACK_WORDS = ("中华人民共和国", "居民身份证", "签发机关", "有效期限")
_SEX = re.compile(r"[男女]")
#: What a printed name never holds (digits, punctuation the OCR adds from the background); a
#: Latin name keeps its letters.
_NOT_IN_NAMES = re.compile(r"[0-9:：;；,，.。!！?？|()（）\[\]]")
#: An issuing authority is a public security office's Chinese name: Latin letters and digits
#: beside it come from the background.
_NOT_IN_AUTHORITIES = re.compile(r"[A-Za-z0-9:：;；,，.。|]")
_PORTRAIT_LEFT = 0.60  # the printed portrait: right of this fraction of the width
_PORTRAIT_BOTTOM = 0.80  # and above this fraction of the height (the number row is below)
_ROW_OVERLAP = 0.5  # two boxes whose vertical overlap is this much of the lower one share a row
_MIDDLE = 0.5

#: Two-character labels whose first character the OCR may misread (佳址 for 住址, 岀生 for 出生)
#: while the second is right; not the name's, whose second character may be the name's own.
_MISREAD_LABELS = frozenset({"sex", "ethnicity", "birth_date", "address"})
_KEPT_TAIL = 2  # a long label whose last two characters were read right is the label
_LABELS = {
    "name": ("姓名",),
    "sex": ("性别",),
    "ethnicity": ("民族",),
    "birth_date": ("出生",),
    "address": ("住址",),
    "id_number": ("公民身份证号码", "公民身份号码", "身份号码", "号码"),
    "issuing_authority": ("签发机关",),
    "valid": ("有效期限", "有效期"),
}


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line the OCR read: its text (NFKC), score and box (x, y, w, h) on the side."""

    text: str
    score: float
    box: tuple[float, float, float, float]

    @property
    def cy(self) -> float:
        return self.box[1] + self.box[3] / 2

    @property
    def cx(self) -> float:
        return self.box[0] + self.box[2] / 2

    def turned(self) -> TextLine:
        """The same line on the side turned by 180 degrees."""
        x, y, w, h = self.box
        return TextLine(self.text, self.score, (CARD_WIDTH - x - w, CARD_HEIGHT - y - h, w, h))


@dataclass(frozen=True, slots=True)
class SideText:
    side: Side
    upside_down: bool
    lines: tuple[TextLine, ...]  # upright
    evidence: int  # how many lines say which side it is


def _compact(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "")


def _number_run(text: str) -> str | None:
    runs = _NUMBER_RUN.findall(_compact(text).upper().replace("×", "X"))
    return max(runs, key=len) if runs else None


def classify_side(lines: Sequence[TextLine]) -> SideText | None:
    """Which side the lines are from and whether it lies upside down; None: neither."""
    front = [ln for ln in lines if _number_run(ln.text) or _has(ln.text, _FRONT_WORDS)]
    back = [
        ln for ln in lines if _has(ln.text, _BACK_WORDS) or parse_validity(_strip(ln.text, "valid"))
    ]
    if not front and not back:
        return None
    side: Side = "front" if len(front) >= len(back) else "back"
    anchors = front if side == "front" else back
    low = sum(1 for ln in anchors if _is_low(ln, side))
    upside_down = low < len(anchors) - low
    upright = tuple(ln.turned() for ln in lines) if upside_down else tuple(lines)
    return SideText(side, upside_down, upright, len(anchors))


def _is_low(line: TextLine, side: Side) -> bool:
    """Whether an anchor line lies where it is printed on an upright card: the number (and
    validity, authority) low; the name, sex, birth, title rows high."""
    lower_half = line.cy > CARD_HEIGHT * _MIDDLE
    if side == "front":
        printed_low = bool(_number_run(line.text)) or _has(line.text, ("公民身份", "号码"))
    else:
        printed_low = not _has(line.text, ("中华人民共和国", "居民身份证"))
    return lower_half == printed_low


def _has(text: str, words: Sequence[str]) -> bool:
    compact = _compact(text)
    return any(w in compact for w in words)


def _strip(text: str, field: str) -> str:
    """The value with its label (and any part of the label the OCR kept) taken off its front."""
    compact = _compact(text)
    for label in _LABELS[field]:
        at = compact.find(label)
        if at != -1 and at <= 1:
            return compact[at + len(label) :]
    label = _LABELS[field][0]
    if field in _MISREAD_LABELS and len(compact) > len(label) and compact[1] == label[1]:
        return compact[2:]  # 佳址 for 住址: the label's first character misread
    tail = label[-_KEPT_TAIL:]
    if len(label) > _KEPT_TAIL and compact[len(label) - _KEPT_TAIL : len(label)] == tail:
        return compact[len(label) :]  # 警发机关 for 签发机关: the label's end read right
    # a label read only in part (姓 or 名 of 姓名): its characters
    cut = 0
    while cut < min(len(label), len(compact) - 1) and compact[cut] in label:
        cut += 1
    return compact[cut:]


def _rows(lines: Sequence[TextLine]) -> list[list[TextLine]]:
    """Lines grouped into printed rows (top to bottom), each row left to right."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: ln.cy):
        if rows:
            last = rows[-1][-1]
            top = max(last.box[1], line.box[1])
            bottom = min(last.box[1] + last.box[3], line.box[1] + line.box[3])
            if bottom - top > _ROW_OVERLAP * min(last.box[3], line.box[3]):
                rows[-1].append(line)
                continue
        rows.append([line])
    return [sorted(r, key=lambda ln: ln.box[0]) for r in rows]


def _field(name: str, text: str, lines: Sequence[TextLine], side: Side) -> CardField:
    x0 = min(ln.box[0] for ln in lines)
    y0 = min(ln.box[1] for ln in lines)
    x1 = max(ln.box[0] + ln.box[2] for ln in lines)
    y1 = max(ln.box[1] + ln.box[3] for ln in lines)
    score = min(ln.score for ln in lines)
    return CardField(name, text, float(score), side, (x0, y0, x1 - x0, y1 - y0))


def _row_text(row: Sequence[TextLine]) -> str:
    return "".join(_compact(ln.text) for ln in row)


def _outside_portrait(line: TextLine) -> bool:
    return not (line.cx > CARD_WIDTH * _PORTRAIT_LEFT and line.cy < CARD_HEIGHT * _PORTRAIT_BOTTOM)


def _find_row(rows: Sequence[Sequence[TextLine]], test: Callable[[str], bool]) -> int | None:
    return next((i for i, row in enumerate(rows) if test(_row_text(row))), None)


def front_fields(lines: Sequence[TextLine]) -> list[CardField]:
    """The front's fields that could be read (a field not found is left out)."""
    rows = _rows([ln for ln in lines if _outside_portrait(ln) or _number_run(ln.text)])
    fields: list[CardField] = []
    number_at = _find_row(rows, lambda t: _number_run(t) is not None)
    if number_at is not None:
        run = _number_run(_row_text(rows[number_at]))
        assert run is not None
        fields.append(_field("id_number", run, rows[number_at], "front"))
    birth_at = _find_row(rows, lambda t: parse_birth_line(_strip(t, "birth_date")) is not None)
    if birth_at is not None:
        iso = parse_birth_line(_strip(_row_text(rows[birth_at]), "birth_date"))
        assert iso is not None
        fields.append(_field("birth_date", iso, rows[birth_at], "front"))
    limit = birth_at if birth_at is not None else number_at
    sex_at = _find_row(rows[:limit], lambda t: bool(_SEX.search(_strip(t, "sex")[:2])))
    if sex_at is not None:
        fields.extend(_sex_row(rows[sex_at]))
    name_rows = rows[: sex_at if sex_at is not None else (birth_at or 0)]
    if name_rows:
        name = _NOT_IN_NAMES.sub("", _strip(_row_text(name_rows[-1]), "name"))
        if name:
            fields.append(_field("name", name, name_rows[-1], "front"))
    if birth_at is not None:
        end = number_at if number_at is not None else len(rows)
        fields.extend(_address(rows[birth_at + 1 : end]))
    return fields


def _sex_row(row: Sequence[TextLine]) -> list[CardField]:
    text = _row_text(row)
    after_label = _strip(text, "sex")
    found = _SEX.search(after_label[:2])
    assert found is not None
    fields = [_field("sex", found.group(), row, "front")]
    rest = after_label[found.end() :]
    at = rest.find("民族")
    ethnicity = rest[at + 2 :] if at != -1 else _strip(rest, "ethnicity")
    ethnicity = ethnicity.strip("：:")
    if ethnicity:
        eth_lines = [ln for ln in row if "民族" in _compact(ln.text) or ln is row[-1]]
        fields.append(_field("ethnicity", ethnicity, eth_lines, "front"))
    return fields


def _address(rows: Sequence[Sequence[TextLine]]) -> list[CardField]:
    parts: list[str] = []
    used: list[TextLine] = []
    for row in rows:
        text = _row_text(row)
        if _has(text, ("公民身份", "号码")) and len(text) <= len("公民身份证号码"):
            continue
        value = _strip(text, "address") if not parts else text
        if value:
            parts.append(value)
            used.extend(row)
    return [_field("address", "".join(parts), used, "front")] if parts else []


def back_fields(lines: Sequence[TextLine]) -> list[CardField]:
    """The back's fields that could be read: the issuing authority and the validity period."""
    rows = _rows(lines)
    fields: list[CardField] = []
    valid_at = _find_row(rows, lambda t: parse_validity(_strip(t, "valid")) is not None)
    if valid_at is not None:
        period = parse_validity(_strip(_row_text(rows[valid_at]), "valid"))
        assert period is not None
        fields.append(_field("valid_from", period[0], rows[valid_at], "back"))
        fields.append(_field("valid_until", period[1], rows[valid_at], "back"))
    title_at = _find_row(rows, lambda t: _has(t, ("居民身份证",)))
    start = title_at + 1 if title_at is not None else 0
    end = valid_at if valid_at is not None else len(rows)
    parts: list[str] = []
    used: list[TextLine] = []
    for row in rows[start:end]:
        text = _row_text(row)
        value = _strip(text, "issuing_authority") if not parts else text
        if value and not _has(value, _BACK_WORDS):
            parts.append(value)
            used.extend(row)
    if parts:
        authority = _NOT_IN_AUTHORITIES.sub("", "".join(parts))
        if authority:
            fields.append(_field("issuing_authority", authority, used, "back"))
    return fields
