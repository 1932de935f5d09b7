"""One canonical form per identifier: every digit form that folds under NFKC gives the same
identifier; every other form is refused with the identifier's code."""

from __future__ import annotations

import pytest

from realname.errors import IdNumberError, InputError, MsisdnError, UsernameError
from realname.identity.idcard import check_character, parse_id_number
from realname.identity.identifiers import (
    canonical_id_number,
    canonical_msisdn,
    canonical_text,
    canonical_username,
)
from realname.identity.rules import parse_msisdn

ID = "110101199003074573"
assert check_character(ID[:17]) == ID[17]

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EXTENDED_ARABIC = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
MATHEMATICAL = str.maketrans("0123456789", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗")  # NFKC folds these to ASCII
SUPERSCRIPT_ONE = "¹"  # NFKC folds to "1"
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")


def test_full_width_and_mathematical_digits_fold_to_the_same_id_number() -> None:
    assert canonical_id_number(ID.translate(FULL_WIDTH)) == ID
    assert canonical_id_number(ID[:16] + "７" + ID[17]) == ID
    assert canonical_id_number(ID.translate(MATHEMATICAL)) == ID
    assert parse_id_number(ID[:16] + "７3").number == ID


def test_an_id_number_ending_in_x_has_one_form() -> None:
    first = "11010119900307002"
    number = first + check_character(first)
    assert number.endswith("X")
    for form in (number, number.lower(), number[:17] + "Ｘ", number[:17] + "ｘ"):
        assert canonical_id_number(form) == number


def test_spaces_in_an_id_number_are_dropped_ideographic_ones_too() -> None:
    assert canonical_id_number(" 110101 19900307 4573 ") == ID
    assert canonical_id_number("110101\u300019900307\u30004573") == ID


@pytest.mark.parametrize("table", [ARABIC_INDIC, EXTENDED_ARABIC, DEVANAGARI])
def test_other_scripts_digits_are_refused_in_id_numbers(table: dict[int, str]) -> None:
    with pytest.raises(IdNumberError, match="contains U\\+0"):
        canonical_id_number(ID.translate(table))
    with pytest.raises(IdNumberError):
        canonical_id_number(ID[:10] + ID[10:].translate(table))


@pytest.mark.parametrize("char", ZERO_WIDTH)
def test_zero_width_characters_are_refused_in_id_numbers(char: str) -> None:
    with pytest.raises(IdNumberError) as caught:
        canonical_id_number(ID[:9] + char + ID[9:])
    assert f"U+{ord(char):04X}" in caught.value.detail
    assert ID not in caught.value.detail  # the number itself is never echoed


def test_a_superscript_digit_folds_and_other_noise_is_refused() -> None:
    assert canonical_id_number(SUPERSCRIPT_ONE + ID[1:]) == ID
    for bad in (ID[:17] + "Y", ID + "1", ID[:17], "1101011990030745-3", "\t" + ID):
        with pytest.raises(IdNumberError):
            canonical_id_number(bad)


MSISDN = "13700000000"


@pytest.mark.parametrize(
    "form",
    [
        MSISDN,
        MSISDN.translate(FULL_WIDTH),
        "13７００００００００",
        "+86 137-0000-0000",
        "＋８６ １３７ ００００ ００００",
        "0086 13700000000",
        "86-137.0000.0000",
        "(137) 0000 0000",
        "137\u30000000\u30000000",
        MSISDN.translate(MATHEMATICAL),
    ],
)
def test_every_folding_form_of_a_mobile_number_is_the_same_number(form: str) -> None:
    assert canonical_msisdn(form) == MSISDN
    assert parse_msisdn(form) == MSISDN


@pytest.mark.parametrize(
    "form",
    [
        MSISDN.translate(ARABIC_INDIC),
        "137" + "0000000".translate(EXTENDED_ARABIC) + "0",
        MSISDN.translate(DEVANAGARI),
        *(MSISDN[:5] + z + MSISDN[5:] for z in ZERO_WIDTH),
        "1370000000",
        "12700000000",
        "137000000000",
        "+1 13700000000",
        "1370000000O",
        "",
    ],
)
def test_other_mobile_number_forms_are_refused(form: str) -> None:
    with pytest.raises(MsisdnError):
        canonical_msisdn(form)


def test_usernames_fold_to_lower_case_ascii() -> None:
    assert canonical_username("Clerk_A") == "clerk_a"
    assert canonical_username("ｃｌｅｒｋ＿ａ") == "clerk_a"
    assert canonical_username("  demo-clerk ") == "demo-clerk"
    for bad in ("clerk\u200ba", "clérk", "клерк", "", "a" * 101, "-clerk", "clerk a"):
        with pytest.raises(UsernameError):
            canonical_username(bad)


def test_free_text_is_normalised_and_refuses_invisible_characters() -> None:
    assert canonical_text(" 张　三 ", "the name", max_length=10) == "张 三"
    assert canonical_text("阿依古丽·买买提", "the name", max_length=20) == "阿依古丽·买买提"
    assert canonical_text("", "the address", max_length=10, required=False) == ""
    for bad in ("张\u200b三", "张\x00三", "张\u202e三", "\ue000"):
        with pytest.raises(InputError, match="invisible or control"):
            canonical_text(bad, "the name", max_length=10)
    with pytest.raises(InputError, match="empty"):
        canonical_text(" \u3000 ", "the name", max_length=10)
    with pytest.raises(InputError, match="more than 3"):
        canonical_text("张三丰李", "the name", max_length=3)
