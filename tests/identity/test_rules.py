from datetime import date

import pytest

from realname.errors import InputError
from realname.identity.idcard import check_character
from realname.identity.rules import check_id_card, parse_msisdn

TODAY = date(2026, 11, 28)


def number(birth: str, sequence: str = "457") -> str:
    first17 = "110101" + birth + sequence
    return first17 + check_character(first17)


ADULT = number("19900307")
CHILD = number("20150601")


def test_a_valid_card_of_an_adult_passes() -> None:
    result = check_id_card(ADULT, date(2020, 1, 1), date(2040, 1, 1), today=TODAY)
    assert result.passed and result.reasons == () and result.age == 36
    assert check_id_card(ADULT, date(2020, 1, 1), None, today=TODAY).passed  # long-term card


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "reason"),
    [
        (date(2006, 1, 1), date(2026, 1, 1), "CARD_EXPIRED"),
        (date(2027, 1, 1), date(2047, 1, 1), "CARD_NOT_YET_VALID"),
        (date(2020, 1, 1), date(2019, 1, 1), "CARD_VALIDITY_INCONSISTENT"),
        (date(1980, 1, 1), None, "CARD_ISSUED_BEFORE_BIRTH"),
    ],
)
def test_card_validity_problems_are_reasons(
    valid_from: date, valid_until: date | None, reason: str
) -> None:
    result = check_id_card(ADULT, valid_from, valid_until, today=TODAY)
    assert not result.passed and reason in result.reasons


def test_under_14_needs_a_guardian_consent() -> None:
    refused = check_id_card(CHILD, date(2020, 1, 1), date(2030, 1, 1), today=TODAY)
    assert refused.needs_guardian and refused.reasons == ("GUARDIAN_CONSENT_REQUIRED",)
    allowed = check_id_card(
        CHILD, date(2020, 1, 1), date(2030, 1, 1), today=TODAY, guardian_consent=True
    )
    assert allowed.passed and allowed.age == 11


def test_turning_14_today_needs_no_guardian() -> None:
    fourteen = number("20121128")
    assert not check_id_card(fourteen, date(2020, 1, 1), None, today=TODAY).needs_guardian


def test_mobile_numbers() -> None:
    assert parse_msisdn("138 0013 8000") == "13800138000"
    assert parse_msisdn("+86 199-0000-1111") == "19900001111"
    for bad in ("12800138000", "1380013800", "138001380000", "abc"):
        with pytest.raises(InputError) as info:
            parse_msisdn(bad)
        assert info.value.code == "MSISDN_INVALID"
