"""One canonical form for every identifier, before it is validated, indexed, stored or compared.

A clerk's keyboard, a card reader's driver or a hostile client may send the same digits in
other forms: full-width (``１３８``), with an ideographic space, with a zero-width space, or in
another script's digits (Arabic-Indic ``١٣٨``). Two forms of one number must never look like two
numbers (an HMAC of each would differ, so a 6th number would pass a cap of 5). The rule, in this
one place:

1. Unicode NFKC: compatibility forms fold to their plain form (full-width ``１`` -> ``1``,
   ``Ｘ`` -> ``X``, the ideographic space -> a space).
2. Formatting that people type is dropped: spaces (and, in mobile numbers, hyphens, dots and
   parentheses, and a ``+86``/``0086``/``86`` country prefix).
3. What is left must be ASCII of the identifier's alphabet; anything else (a zero-width or other
   invisible character, another script's digits, letters) is refused with the identifier's
   error code and the offending character named by its code point, never echoed as typed.

ID numbers: 17 ASCII digits and a digit or ``X`` (upper case). Mobile numbers: 11 ASCII digits.
Usernames: lower case ``a-z 0-9 . _ -``. Free text (names, addresses, outlet names): NFKC,
trimmed, with no control, format (zero-width), private-use or unassigned characters.
"""

from __future__ import annotations

import re
import unicodedata

from realname.errors import IdNumberError, InputError, MsisdnError, RealnameError, UsernameError

__all__ = [
    "ID_NUMBER_ALPHABET",
    "ID_NUMBER_FORM",
    "ID_NUMBER_LENGTH",
    "MSISDN_FORM",
    "MSISDN_LENGTH",
    "MSISDN_PREFIXES",
    "MSISDN_SEPARATORS",
    "canonical_id_number",
    "canonical_msisdn",
    "canonical_text",
    "canonical_username",
]

_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_MSISDN = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}", re.ASCII)
_MSISDN_SEPARATORS = re.compile(r"[ \-.()]")
_MSISDN_PREFIXES = ("+86", "0086", "86")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

# The rules above, public for the pages (``GET /api/v1/rules``): the browser checks what the
# server checks, from this one source.
ID_NUMBER_LENGTH = 18
ID_NUMBER_ALPHABET = "0123456789X"
ID_NUMBER_FORM = _ID_NUMBER.pattern
MSISDN_LENGTH = 11
MSISDN_FORM = _MSISDN.pattern
MSISDN_SEPARATORS = _MSISDN_SEPARATORS.pattern
MSISDN_PREFIXES = _MSISDN_PREFIXES
MAX_USERNAME_LENGTH = 100  # characters of a staff username (the column is sized for it)


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _first_foreign(text: str, allowed: str) -> str | None:
    return next((c for c in text if c not in allowed), None)


def _nfkc(text: str, error: type[RealnameError], what: str) -> str:
    if not isinstance(text, str):
        raise error(f"{what} must be text")
    return unicodedata.normalize("NFKC", text)


def canonical_id_number(text: str) -> str:
    """The canonical 18-character form of a resident ID number, or :class:`IdNumberError`.

    Only the form is checked here (length and alphabet);
    :func:`realname.identity.idcard.parse_id_number`
    checks the check character and the birth date on this form.
    """
    number = _nfkc(text, IdNumberError, "an ID number").replace(" ", "").upper()
    foreign = _first_foreign(number, ID_NUMBER_ALPHABET)
    if foreign is not None:
        raise IdNumberError(
            f"an ID number holds only the digits 0-9 and X; it contains {_describe(foreign)}"
        )
    if len(number) != ID_NUMBER_LENGTH:
        raise IdNumberError(f"an ID number has {ID_NUMBER_LENGTH} characters, not {len(number)}")
    if not _ID_NUMBER.fullmatch(number):
        raise IdNumberError("an ID number is 17 digits and a digit or X")
    return number


def canonical_msisdn(text: str) -> str:
    """The canonical 11-digit form of a mainland mobile number, or :class:`MsisdnError`.

    Accepted decorations: spaces, hyphens, dots, parentheses, and a ``+86``, ``0086`` or ``86``
    prefix before the 11 digits.
    """
    digits = _MSISDN_SEPARATORS.sub("", _nfkc(text, MsisdnError, "a mobile number"))
    for prefix in _MSISDN_PREFIXES:
        if digits.startswith(prefix) and len(digits) == MSISDN_LENGTH + len(prefix):
            digits = digits[len(prefix) :]
            break
    foreign = _first_foreign(digits, "0123456789")
    if foreign is not None:
        raise MsisdnError(
            f"a mobile number holds only the digits 0-9; it contains {_describe(foreign)}"
        )
    if not _MSISDN.fullmatch(digits):
        raise MsisdnError("a mainland mobile number has 11 digits and starts with 13-19")
    return digits


def canonical_username(text: str) -> str:
    """The canonical form of a staff username (NFKC, trimmed, lower case), or
    :class:`UsernameError`."""
    name = _nfkc(text, UsernameError, "a username").strip().lower()
    if not 1 <= len(name) <= MAX_USERNAME_LENGTH:
        raise UsernameError(f"a username has 1 to {MAX_USERNAME_LENGTH} characters")
    foreign = _first_foreign(name, "abcdefghijklmnopqrstuvwxyz0123456789._-")
    if foreign is not None:
        raise UsernameError(
            f"a username holds only a-z, 0-9, '.', '_' and '-'; it contains {_describe(foreign)}"
        )
    if not _USERNAME.fullmatch(name):
        raise UsernameError("a username starts with a letter or a digit")
    return name


def canonical_text(
    text: str,
    what: str,
    *,
    max_length: int,
    required: bool = True,
    error: type[RealnameError] = InputError,
) -> str:
    """Free text (a name, an address, an outlet name): NFKC, trimmed, inner runs of white space
    made one space; refused if it holds a control, zero-width, private-use or unassigned
    character, or is empty (when ``required``) or longer than ``max_length``."""
    value = " ".join(_nfkc(text, error, what).split())
    bad = next((c for c in value if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        raise error(f"{what} contains an invisible or control character ({_describe(bad)})")
    if required and not value:
        raise error(f"{what} is empty")
    if len(value) > max_length:
        raise error(f"{what} has more than {max_length} characters")
    return value
