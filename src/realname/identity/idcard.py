"""Resident identity card numbers (GB 11643-1999): parse, validate, mask.

An 18-character number: a 6-digit region code, the birth date (YYYYMMDD), a 3-digit sequence
(odd for men, even for women) and a check character computed with ISO 7064 MOD 11-2 (weights
7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; the weighted sum mod 11 indexes ``"10X98765432"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from realname.errors import IdNumberError
from realname.identity.identifiers import canonical_id_number

__all__ = [
    "MIN_BIRTH_YEAR",
    "IdNumber",
    "check_character",
    "mask_id_number",
    "mask_name",
    "parse_id_number",
]

MIN_BIRTH_YEAR = 1900  # an earlier birth date inside a number is not plausible

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_BODY_DIGITS = len(_WEIGHTS)  # the 17 digits the check character is computed from
_SHOWN = 4  # characters shown at each end of a masked number


def check_character(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) != _BODY_DIGITS or not all("0" <= c <= "9" for c in first17):
        raise IdNumberError("the first 17 characters of an ID number must be ASCII digits")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True, slots=True)
class IdNumber:
    number: str
    region: str
    birth_date: date
    sequence: str
    sex: Literal["male", "female"]

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)


def parse_id_number(text: str, *, today: date | None = None) -> IdNumber:
    """Validate and parse an 18-character ID number, in its canonical form
    (:func:`realname.identity.identifiers.canonical_id_number`: full-width forms fold, a lower-case
    ``x`` is upper-cased, spaces are dropped, anything else is refused)."""
    number = canonical_id_number(text)
    expected = check_character(number[:17])
    if number[17] != expected:
        raise IdNumberError("the check character does not match (mistyped number)")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError("the birth date inside the ID number does not exist") from None
    if born > (today or date.today()) or born.year < MIN_BIRTH_YEAR:
        raise IdNumberError("the birth date inside the ID number is not plausible")
    sequence = number[14:17]
    return IdNumber(
        number=number,
        region=number[:6],
        birth_date=born,
        sequence=sequence,
        sex="male" if int(sequence) % 2 else "female",
    )


def mask_id_number(number: str) -> str:
    """``110101199003074578`` -> ``1101**********457X``-style: first 4 and last 4 shown."""
    if len(number) <= 2 * _SHOWN:
        return "*" * len(number)
    return number[:_SHOWN] + "*" * (len(number) - 2 * _SHOWN) + number[-_SHOWN:]


def mask_name(name: str) -> str:
    """``张三`` -> ``张*``, ``欧阳娜娜`` -> ``欧***``: the first character, then one ``*`` per
    other character (spaces kept, so that a Latin name keeps its shape); one character: ``*``."""
    chars = name.strip()
    if len(chars) <= 1:
        return "*" * len(chars)
    return chars[0] + "".join(" " if c == " " else "*" for c in chars[1:])
