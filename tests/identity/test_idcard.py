from datetime import date

import pytest

from realname.errors import IdNumberError
from realname.identity.idcard import check_character, mask_id_number, parse_id_number

# A valid number built for the test: region 110101, born 1990-03-07, sequence 457 (odd: male).
FIRST17 = "11010119900307457"


def valid() -> str:
    return FIRST17 + check_character(FIRST17)


def test_check_character_follows_iso_7064_mod_11_2() -> None:
    # Worked example: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over 11010519491231002
    # give 167; 167 mod 11 = 2 -> "X".
    assert check_character("11010519491231002") == "X"
    assert parse_id_number("11010519491231002x").number.endswith("X")


def test_a_valid_number_parses_into_its_fields() -> None:
    parsed = parse_id_number(valid())
    assert parsed.region == "110101"
    assert parsed.birth_date == date(1990, 3, 7)
    assert parsed.sex == "male"
    assert parsed.age_on(date(2026, 3, 6)) == 35
    assert parsed.age_on(date(2026, 3, 7)) == 36


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1101011990030745",  # too short
        FIRST17 + "Y",  # not a digit or X
        FIRST17[:-1] + "8" + check_character(FIRST17),  # one digit mistyped
        "11010119900230457" + check_character("11010119900230457"),  # 30 February
        "11010130000101457" + check_character("11010130000101457"),  # born in the future
    ],
)
def test_invalid_numbers_are_refused_with_a_stable_code(text: str) -> None:
    with pytest.raises(IdNumberError) as info:
        parse_id_number(text)
    assert info.value.code == "ID_NUMBER_INVALID"


def test_masking_shows_only_the_ends() -> None:
    assert mask_id_number(valid()) == valid()[:4] + "*" * 10 + valid()[-4:]
    assert parse_id_number(valid()).masked.count("*") == 10


def test_a_name_is_masked_to_its_first_character() -> None:
    from realname.identity.idcard import mask_name

    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("王") == "*"
    assert mask_name("Li Wei") == "L* ***"
    assert mask_name("") == ""
