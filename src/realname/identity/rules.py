"""Real-name rules that do not need a database: the ID card at the counter and the number.

* The card must be valid today (its validity period on the chip; ``长期`` cards have no end).
* A customer under 14 needs a recorded guardian consent (2025 face recognition measures).
* A mobile number is an 11-digit mainland number: ``1`` then ``3``-``9`` then 9 digits.

A rule that is not met is a result with reason codes, so that the service can record it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from realname.identity.idcard import IdNumber, parse_id_number
from realname.identity.identifiers import canonical_msisdn

__all__ = ["GUARDIAN_AGE", "IdCardCheck", "check_id_card", "parse_msisdn"]

GUARDIAN_AGE = 14


def parse_msisdn(text: str) -> str:
    """An 11-digit mainland mobile number in its canonical form, with an optional +86/0086/86
    prefix and separators (:func:`realname.identity.identifiers.canonical_msisdn`)."""
    return canonical_msisdn(text)


@dataclass(frozen=True, slots=True)
class IdCardCheck:
    passed: bool
    reasons: tuple[str, ...]
    id_number: IdNumber
    age: int
    needs_guardian: bool


def check_id_card(
    number: str,
    valid_from: date,
    valid_until: date | None,
    *,
    today: date,
    guardian_consent: bool = False,
) -> IdCardCheck:
    """Check a card read at the counter. ``valid_until`` None: a long-term (长期) card."""
    parsed = parse_id_number(number, today=today)
    reasons: list[str] = []
    if valid_from > today:
        reasons.append("CARD_NOT_YET_VALID")
    if valid_until is not None and valid_until < today:
        reasons.append("CARD_EXPIRED")
    if valid_until is not None and valid_until < valid_from:
        reasons.append("CARD_VALIDITY_INCONSISTENT")
    if valid_from < parsed.birth_date:
        reasons.append("CARD_ISSUED_BEFORE_BIRTH")
    age = parsed.age_on(today)
    needs_guardian = age < GUARDIAN_AGE
    if needs_guardian and not guardian_consent:
        reasons.append("GUARDIAN_CONSENT_REQUIRED")
    return IdCardCheck(not reasons, tuple(reasons), parsed, age, needs_guardian)
