"""Cross-checks of an ID card's fields, as reason codes, and the parsing of its printed dates.

:func:`check_fields` checks one card's fields (canonical text, see :mod:`realname.cards.reading`)
and returns reason codes in a stable order:

1. sides: ``CARD_FRONT_MISSING``, ``CARD_BACK_MISSING``;
2. completeness, per present side, in :data:`FIELD_NAMES` order: ``<FIELD>_NOT_READ``;
3. the number: ``ID_NUMBER_MALFORMED`` (not 17 digits and a digit or ``X``),
   ``ID_NUMBER_CHECK_FAILED`` (reported as read, never corrected; its date and sex are then not
   trusted for the checks below), ``ID_NUMBER_DATE_INVALID`` (no such date, or implausible);
4. printed against number: ``CARD_BIRTH_DATE_MISMATCH``, ``CARD_SEX_MISMATCH``;
5. validity: ``VALIDITY_MALFORMED``, ``CARD_VALIDITY_INCONSISTENT``, ``CARD_ISSUED_BEFORE_BIRTH``,
   ``VALIDITY_LENGTH_MISMATCH`` (the period's length against the holder's age at issue,
   :class:`ValidityRule`), ``CARD_EXPIRED``, ``CARD_NOT_YET_VALID``.

:func:`compare_fields` lists the fields that another source (typed by the clerk, or a chip
reader) gives differently from the photo, and :data:`DISAGREEMENT_CODES` names a reason for each.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from realname.cards.reading import BACK_FIELDS, FIELD_NAMES, FRONT_FIELDS, Disagreement
from realname.errors import IdNumberError, PolicyError
from realname.identity.idcard import MIN_BIRTH_YEAR, check_character
from realname.identity.identifiers import canonical_id_number
from realname.policy import ValidityRule, load_policy

__all__ = [
    "DISAGREEMENT_CODES",
    "LONG_TERM",
    "check_fields",
    "compare_fields",
    "default_validity_rule",
    "disagreement_reasons",
    "is_long_term",
    "parse_birth_line",
    "parse_date",
    "parse_validity",
]

LONG_TERM = "长期"  # the printed valid_until of a long-term card


def default_validity_rule() -> ValidityRule:
    """The packaged policy's validity rule (``cards.validity``: the law's age bands)."""
    return _packaged_rule()


@functools.cache
def _packaged_rule() -> ValidityRule:
    cards = load_policy().cards
    if cards is None:
        raise PolicyError("the packaged policy has no cards section")
    return cards.validity


DISAGREEMENT_CODES: dict[str, str] = {f: f"PHOTO_DISAGREES_{f.upper()}" for f in FIELD_NAMES}

# --- dates ----------------------------------------------------------------------------------

_DATE_SEP = r"[.\-/·•・,。、]"
_DATE_FORMS = (
    re.compile(rf"(\d{{4}}){_DATE_SEP}?(\d{{2}}){_DATE_SEP}?(\d{{2}})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)
_RANGE_SEP = r"[\-—–~至到一_‐‑‒―−]*"
_VALIDITY = re.compile(
    rf"(?<!\d)(\d{{4}}){_DATE_SEP}?(\d{{2}}){_DATE_SEP}?(\d{{2}}){_RANGE_SEP}"
    rf"(长期|長期|(\d{{4}}){_DATE_SEP}?(\d{{2}}){_DATE_SEP}?(\d{{2}})(?!\d))"
)
_BIRTH = (
    re.compile(r"(?<!\d)(\d{4})\D{1,2}(\d{1,2})\D{1,2}(\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"),
)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_LONG_TERM_WORDS = frozenset({LONG_TERM, "長期", "longterm"})


def _compact(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse_date(text: str) -> date | None:
    """A date written ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY.MM.DD`` (or with ``/``, ``·``) or
    ``YYYY年M月D日``, spaces and full-width forms tolerated; None if it is not one."""
    compact = _compact(text)
    for form in _DATE_FORMS:
        m = form.fullmatch(compact)
        if m:
            return _date(m[1], m[2], m[3])
    return None


def _iso(text: str) -> date | None:
    """A canonical ISO date ``YYYY-MM-DD`` (what a reading holds), else None."""
    try:
        return date.fromisoformat(text) if _ISO.fullmatch(text) else None
    except ValueError:
        return None


def is_long_term(text: str) -> bool:
    """``长期`` (or ``long-term``, ``long term``, ``長期``)."""
    return _compact(text).lower().replace("-", "").replace("_", "") in _LONG_TERM_WORDS


def parse_validity(text: str) -> tuple[str, str] | None:
    """A printed validity period (``2010.01.01-2020.12.12``, ``2010.01.01-长期``) as (ISO from,
    ISO until or ``长期``), with OCR's variants: full-width forms, ``·`` for dots, missing dots,
    ``- — – ~ 至 一`` as the separator, spaces. None if there is none or a date does not exist."""
    m = _VALIDITY.search(_compact(text))
    if not m:
        return None
    start = _date(m[1], m[2], m[3])
    if start is None:
        return None
    if m[4] in (LONG_TERM, "長期"):
        return start.isoformat(), LONG_TERM
    end = _date(m[5], m[6], m[7])
    return None if end is None else (start.isoformat(), end.isoformat())


def parse_birth_line(text: str) -> str | None:
    """The printed birth date (``1995 年 7 月 17 日``, OCR spaces and misread 年/月 tolerated)
    as ISO ``1995-07-17``; None if there is none or it is not a plausible date."""
    compact = _compact(text)
    for form in _BIRTH:
        m = form.search(compact)
        if m:
            born = _date(m[1], m[2], m[3])
            if born is not None and born.year >= MIN_BIRTH_YEAR:
                return born.isoformat()
    return None


# --- check_fields ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NumberFacts:
    birth_date: date
    sex: str  # 男 or 女


def _completeness(values: Mapping[str, str], sides: Collection[str]) -> list[str]:
    reasons = [f"CARD_{s.upper()}_MISSING" for s in ("front", "back") if s not in sides]
    for side, names in (("front", FRONT_FIELDS), ("back", BACK_FIELDS)):
        if side in sides:
            reasons.extend(f"{n.upper()}_NOT_READ" for n in names if not values.get(n, "").strip())
    return reasons


def _number_checks(text: str, today: date) -> tuple[list[str], _NumberFacts | None]:
    if not text.strip():
        return [], None
    try:
        number = canonical_id_number(text)
    except IdNumberError:
        return ["ID_NUMBER_MALFORMED"], None
    if check_character(number[:17]) != number[17]:
        return ["ID_NUMBER_CHECK_FAILED"], None
    born = _date(number[6:10], number[10:12], number[12:14])
    if born is None or born > today or born.year < MIN_BIRTH_YEAR:
        return ["ID_NUMBER_DATE_INVALID"], None
    return [], _NumberFacts(born, "男" if int(number[14:17]) % 2 else "女")


_SEX_WORDS = {"男": "男", "male": "男", "m": "男", "女": "女", "female": "女", "f": "女"}


def _sex(text: str) -> str | None:
    return _SEX_WORDS.get(_compact(text).lower().removesuffix("性"))


def _printed_checks(values: Mapping[str, str], facts: _NumberFacts | None) -> list[str]:
    reasons: list[str] = []
    if facts is None:
        return reasons
    printed_birth = values.get("birth_date", "")
    if printed_birth.strip() and _iso(printed_birth.strip()) != facts.birth_date:
        reasons.append("CARD_BIRTH_DATE_MISMATCH")
    printed_sex = values.get("sex", "")
    if printed_sex.strip() and _sex(printed_sex) != facts.sex:
        reasons.append("CARD_SEX_MISMATCH")
    return reasons


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _anniversaries(start: date, years: int) -> set[date]:
    """``start`` plus ``years``: the same month and day; 29 Feb into a common year gives
    28 Feb or 1 Mar (issuers differ)."""
    exact = _date(str(start.year + years), str(start.month), str(start.day))
    if exact is not None:
        return {exact}
    return {date(start.year + years, 2, 28), date(start.year + years, 3, 1)}


def _length_matches(start: date, until: date | None, born: date, rule: ValidityRule) -> bool:
    years = rule.years_for(_age_on(born, start))
    if years is None or until is None:
        return years is None and until is None
    return until in _anniversaries(start, years)


def _validity_checks(
    values: Mapping[str, str], born: date | None, today: date, rule: ValidityRule
) -> list[str]:
    from_text, until_text = values.get("valid_from", ""), values.get("valid_until", "")
    from_text, until_text = from_text.strip(), until_text.strip()
    start = _iso(from_text) if from_text else None
    long_term = until_text == LONG_TERM
    until = _iso(until_text) if until_text and not long_term else None
    malformed = (from_text and start is None) or (until_text and not long_term and until is None)
    reasons = ["VALIDITY_MALFORMED"] if malformed else []
    if start is not None and until is not None and until < start:
        reasons.append("CARD_VALIDITY_INCONSISTENT")
    if start is not None and born is not None and start < born:
        reasons.append("CARD_ISSUED_BEFORE_BIRTH")
    elif (
        start is not None
        and born is not None
        and (until is not None or long_term)
        and (until is None or until >= start)
        and not _length_matches(start, until, born, rule)
    ):
        reasons.append("VALIDITY_LENGTH_MISMATCH")
    if until is not None and until < today:
        reasons.append("CARD_EXPIRED")
    if start is not None and start > today:
        reasons.append("CARD_NOT_YET_VALID")
    return reasons


def check_fields(
    values: Mapping[str, str],
    *,
    sides: Collection[str],
    today: date,
    rule: ValidityRule | None = None,
) -> tuple[str, ...]:
    """Reason codes of one card's fields (see the module docstring for the codes and their
    order); empty when every check passes. ``values`` are canonical text (dates ISO,
    ``valid_until`` ISO or ``长期``). ``sides``: the sides that were read. The holder's
    birth date for the validity checks is the number's (when it checks out), else the printed
    one."""
    reasons = _completeness(values, sides)
    number_reasons, facts = _number_checks(values.get("id_number", ""), today)
    reasons.extend(number_reasons)
    reasons.extend(_printed_checks(values, facts))
    born = facts.birth_date if facts is not None else _iso(values.get("birth_date", "").strip())
    reasons.extend(_validity_checks(values, born, today, rule or default_validity_rule()))
    return tuple(reasons)


# --- compare_fields -------------------------------------------------------------------------

_DATE_FIELDS = frozenset({"birth_date", "valid_from"})
_MIDDLE_DOTS = str.maketrans({c: "·" for c in "•・‧∙⋅．."})


def _canonical(name: str, text: str) -> str:
    """The form two readings of one field are compared in."""
    compact = _compact(text)
    if name == "id_number":
        return compact.upper()
    if name == "sex":
        return _sex(compact) or compact.lower()
    if name == "valid_until" and (not compact or is_long_term(compact)):
        return LONG_TERM
    if name in _DATE_FIELDS or name == "valid_until":
        parsed = parse_date(compact)
        return parsed.isoformat() if parsed is not None else compact
    if name == "ethnicity":
        compact = compact.removesuffix("族") or compact
    return compact.translate(_MIDDLE_DOTS).casefold()


def _given(name: str, given: Mapping[str, str]) -> str | None:
    """The other source's text for a field, or None when it gives none. An empty
    ``valid_until`` that is given means a long-term card (as the service's form has it)."""
    if name not in given:
        return None
    text = given[name]
    if not text.strip() and name != "valid_until":
        return None
    return text


def compare_fields(
    read: Mapping[str, str], given: Mapping[str, str], source: Literal["typed", "chip"]
) -> tuple[Disagreement, ...]:
    """Fields that ``given`` gives (non-empty) and the photo read differently or did not read
    (``read=None``), in :data:`FIELD_NAMES` order, compared in canonical form: NFKC without
    spaces, case folded, the ID number upper-cased, dates as dates (ISO, ``YYYYMMDD``,
    ``YYYY.MM.DD``), ``长期``/``long-term``/empty alike for ``valid_until``, 男/女 as
    male/female."""
    found: list[Disagreement] = []
    for name in FIELD_NAMES:
        other = _given(name, given)
        if other is None:
            continue
        photo = read.get(name)
        if photo is not None and not photo.strip():
            photo = None
        if photo is None or _canonical(name, photo) != _canonical(name, other):
            found.append(Disagreement(field=name, read=photo, given=other, source=source))
    return tuple(found)


def disagreement_reasons(ds: Iterable[Disagreement]) -> tuple[str, ...]:
    """One reason per field that disagrees (:data:`DISAGREEMENT_CODES`), in field order."""
    fields = {d.field for d in ds}
    return tuple(DISAGREEMENT_CODES[f] for f in FIELD_NAMES if f in fields)
