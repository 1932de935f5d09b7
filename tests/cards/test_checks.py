"""Cross-checks of a card's fields: every reason code, the age rule, the printed dates."""

from datetime import date

import pytest

from realname.cards.checks import (
    DISAGREEMENT_CODES,
    check_fields,
    compare_fields,
    default_validity_rule,
    disagreement_reasons,
    parse_birth_line,
    parse_date,
    parse_validity,
)
from realname.cards.reading import FIELD_NAMES, Disagreement
from realname.errors import PolicyError
from realname.identity.idcard import check_character
from realname.policy import ValidityRule

TODAY = date(2026, 12, 2)
BOTH = {"front", "back"}


def number(born: str, sequence: str = "123", region: str = "110101") -> str:
    body = region + born + sequence
    return body + check_character(body)


def card(**changes: str) -> dict[str, str]:
    """A consistent card: a man born 1990-03-07, a 20-year card issued at 30."""
    values = {
        "name": "张三",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1990-03-07",
        "address": "北京市东城区某某胡同1号",
        "id_number": number("19900307"),
        "issuing_authority": "北京市公安局东城分局",
        "valid_from": "2020-05-01",
        "valid_until": "2040-05-01",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v != "<absent>"}


def test_a_consistent_card_has_no_reasons() -> None:
    assert check_fields(card(), sides=BOTH, today=TODAY) == ()


def test_missing_sides_are_reported_and_their_fields_are_not() -> None:
    front_only = {k: v for k, v in card().items() if k not in ("issuing_authority",)}
    assert check_fields(front_only, sides={"front"}, today=TODAY) == ("CARD_BACK_MISSING",)
    assert check_fields(card(), sides={"back"}, today=TODAY) == ("CARD_FRONT_MISSING",)
    assert check_fields({}, sides=set(), today=TODAY) == (
        "CARD_FRONT_MISSING",
        "CARD_BACK_MISSING",
    )


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_each_missing_field_of_a_present_side_is_not_read(name: str) -> None:
    reasons = check_fields(card(**{name: "<absent>"}), sides=BOTH, today=TODAY)
    assert reasons[0] == f"{name.upper()}_NOT_READ"
    assert check_fields(card(**{name: "  "}), sides=BOTH, today=TODAY)[0] == reasons[0]


def test_reasons_come_in_a_stable_order() -> None:
    values = card(name="<absent>", address="<absent>", valid_until="2010-01-01")
    assert check_fields(values, sides={"front", "back"}, today=TODAY) == (
        "NAME_NOT_READ",
        "ADDRESS_NOT_READ",
        "CARD_VALIDITY_INCONSISTENT",
        "CARD_EXPIRED",
    )


@pytest.mark.parametrize("text", ["11010119900307123", "1101011990030712345", "11010119900307123Y"])
def test_a_number_of_the_wrong_form_is_malformed(text: str) -> None:
    assert "ID_NUMBER_MALFORMED" in check_fields(card(id_number=text), sides=BOTH, today=TODAY)


def test_a_failing_check_character_is_reported_and_not_corrected() -> None:
    good = number("19900307")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    reasons = check_fields(card(id_number=bad, sex="女"), sides=BOTH, today=TODAY)
    # the number is not trusted: its sex is not compared with the printed one
    assert reasons == ("ID_NUMBER_CHECK_FAILED",)


def test_a_lower_case_x_and_full_width_digits_are_the_same_number() -> None:
    for born in ("19900307", "19900308", "19900309", "19900310", "19900311", "19900312"):
        n = number(born, "121")
        if n.endswith("X"):
            break
    else:
        pytest.fail("no number with an X check character")
    values = card(id_number=n.lower(), birth_date=f"{born[:4]}-{born[4:6]}-{born[6:]}")
    assert check_fields(values, sides=BOTH, today=TODAY) == ()


@pytest.mark.parametrize("born", ["19900230", "19901301", "18991231", "20271201"])
def test_an_impossible_or_implausible_date_inside_the_number(born: str) -> None:
    reasons = check_fields(card(id_number=number(born)), sides=BOTH, today=TODAY)
    assert reasons[0] == "ID_NUMBER_DATE_INVALID"
    assert "CARD_BIRTH_DATE_MISMATCH" not in reasons


def test_printed_birth_date_and_sex_against_the_number() -> None:
    reasons = check_fields(card(birth_date="1990-03-08"), sides=BOTH, today=TODAY)
    assert reasons == ("CARD_BIRTH_DATE_MISMATCH",)
    woman = number("19900307", "124")  # even sequence: a woman
    assert check_fields(card(id_number=woman), sides=BOTH, today=TODAY) == ("CARD_SEX_MISMATCH",)
    assert check_fields(card(id_number=woman, sex="女"), sides=BOTH, today=TODAY) == ()


def test_the_sample_card_whose_number_says_female_is_flagged() -> None:
    values = {
        "name": "张三",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1995-07-17",
        "address": "四川省成都市武侯区益州大道中段722号复城国际",
        "id_number": "513701199507176346",
        "issuing_authority": "四川省成都市锦江分局",
        "valid_from": "2010-01-01",
        "valid_until": "2020-12-12",
    }
    reasons = check_fields(values, sides=BOTH, today=TODAY)
    assert "CARD_SEX_MISMATCH" in reasons and "CARD_EXPIRED" in reasons
    assert "ID_NUMBER_CHECK_FAILED" not in reasons


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [("2020/05/01", "2040-05-01"), ("2020-05-01", "someday"), ("2020-02-30", "2040-02-28")],
)
def test_a_malformed_validity(valid_from: str, valid_until: str) -> None:
    values = card(valid_from=valid_from, valid_until=valid_until)
    assert "VALIDITY_MALFORMED" in check_fields(values, sides=BOTH, today=TODAY)


def test_the_checks_take_canonical_iso_dates_only() -> None:
    values = card(valid_from="2020.05.01", valid_until="20400501")
    assert check_fields(values, sides=BOTH, today=TODAY) == ("VALIDITY_MALFORMED",)
    printed = check_fields(card(birth_date="1990.03.07"), sides=BOTH, today=TODAY)
    assert printed == ("CARD_BIRTH_DATE_MISMATCH",)
    assert check_fields(card(valid_until="long-term"), sides=BOTH, today=TODAY) == (
        "VALIDITY_MALFORMED",
    )


def test_validity_ending_before_it_starts_and_a_card_issued_before_birth() -> None:
    assert check_fields(card(valid_until="2019-05-01"), sides=BOTH, today=date(2019, 1, 1)) == (
        "CARD_VALIDITY_INCONSISTENT",
        "CARD_NOT_YET_VALID",
    )
    values = card(valid_from="1985-01-01", valid_until="1990-01-01")
    reasons = check_fields(values, sides=BOTH, today=TODAY)
    assert reasons == ("CARD_ISSUED_BEFORE_BIRTH", "CARD_EXPIRED")


def test_an_expired_card_and_one_not_yet_valid() -> None:
    assert check_fields(card(), sides=BOTH, today=date(2040, 5, 1)) == ()  # its last day
    assert check_fields(card(), sides=BOTH, today=date(2040, 5, 2)) == ("CARD_EXPIRED",)
    assert check_fields(card(), sides=BOTH, today=date(2020, 4, 30)) == ("CARD_NOT_YET_VALID",)


def test_an_under_16_card_lasts_5_years() -> None:
    child = card(
        birth_date="2015-06-01",
        id_number=number("20150601"),
        valid_from="2024-03-01",
        valid_until="2029-03-01",
    )
    assert check_fields(child, sides=BOTH, today=TODAY) == ()
    ten_years = {**child, "valid_until": "2034-03-01"}
    assert check_fields(ten_years, sides=BOTH, today=TODAY) == ("VALIDITY_LENGTH_MISMATCH",)


@pytest.mark.parametrize(
    ("born", "years", "matches"),
    [
        ("2004-05-02", 5, True),  # 15 on the day of issue (2020-05-01)
        ("2004-05-01", 5, False),  # 16 that day: a 10-year card
        ("2004-05-01", 10, True),
        ("1994-05-02", 10, True),  # 25
        ("1994-05-01", 20, True),  # 26
        ("1994-05-01", 10, False),
        ("1974-05-02", 20, True),  # 45
    ],
)
def test_the_age_bands_at_their_edges(born: str, years: int, matches: bool) -> None:
    values = card(
        birth_date=born,
        id_number=number(born.replace("-", "")),
        valid_until=f"{2020 + years}-05-01",
    )
    reasons = check_fields(values, sides=BOTH, today=date(2021, 1, 1))
    assert reasons == (() if matches else ("VALIDITY_LENGTH_MISMATCH",))


def test_a_card_issued_at_46_is_long_term_and_at_45_is_not() -> None:
    at_46 = card(birth_date="1974-05-01", id_number=number("19740501"), valid_until="长期")
    assert check_fields(at_46, sides=BOTH, today=TODAY) == ()
    dated_at_46 = {**at_46, "valid_until": "2040-05-01"}
    assert check_fields(dated_at_46, sides=BOTH, today=TODAY) == ("VALIDITY_LENGTH_MISMATCH",)
    at_45 = card(birth_date="1974-05-02", id_number=number("19740502"), valid_until="长期")
    assert check_fields(at_45, sides=BOTH, today=TODAY) == ("VALIDITY_LENGTH_MISMATCH",)
    assert check_fields(card(valid_until="长期"), sides=BOTH, today=TODAY) == (
        "VALIDITY_LENGTH_MISMATCH",
    )


def test_a_29_february_issue_ends_on_28_february_or_1_march() -> None:
    at_32 = card(birth_date="1980-01-01", id_number=number("19800101"), valid_from="2012-02-29")
    assert check_fields({**at_32, "valid_until": "2032-02-29"}, sides=BOTH, today=TODAY) == ()
    leap_off = check_fields({**at_32, "valid_until": "2032-03-01"}, sides=BOTH, today=TODAY)
    assert leap_off == ("VALIDITY_LENGTH_MISMATCH",)  # 2032 is a leap year: 29 Feb exactly
    young = card(birth_date="2000-01-01", id_number=number("20000101"), valid_from="2012-02-29")
    for end in ("2017-02-28", "2017-03-01"):
        assert check_fields({**young, "valid_until": end}, sides=BOTH, today=TODAY) == (
            "CARD_EXPIRED",
        )
    reasons = check_fields({**young, "valid_until": "2017-03-02"}, sides=BOTH, today=TODAY)
    assert reasons == ("VALIDITY_LENGTH_MISMATCH", "CARD_EXPIRED")


def test_without_a_trusted_number_the_printed_birth_date_is_used() -> None:
    values = card(id_number="<absent>", birth_date="2015-06-01", valid_until="2040-05-01")
    assert check_fields(values, sides=BOTH, today=TODAY) == (
        "ID_NUMBER_NOT_READ",
        "VALIDITY_LENGTH_MISMATCH",
    )


def test_the_rule_is_data_with_its_provenance() -> None:
    rule = default_validity_rule()  # the packaged policy's cards.validity
    assert rule.years_for(15) == 5
    assert rule.years_for(16) == 10
    assert rule.years_for(45) == 20
    assert rule.years_for(46) is None
    assert "居民身份证法" in rule.provenance["law"]
    with pytest.raises(PolicyError):
        ValidityRule(bands=((0, 16, 5), (17, 46, 10)), long_term_from_age=46)
    with pytest.raises(PolicyError):
        ValidityRule(bands=((0, 16, 5),), long_term_from_age=46)
    strict = ValidityRule(bands=((0, 200, 10),), long_term_from_age=200)
    assert check_fields(card(valid_until="2030-05-01"), sides=BOTH, today=TODAY, rule=strict) == ()


# --- parsing printed dates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010.01.01-2020.12.12", ("2010-01-01", "2020-12-12")),
        ("2010.01.01-长期", ("2010-01-01", "长期")),
        ("2010．01．01－2020．12．12", ("2010-01-01", "2020-12-12")),
        ("2010·01·01—2020·12·12", ("2010-01-01", "2020-12-12")),
        ("2010.01.01–2020.12.12", ("2010-01-01", "2020-12-12")),
        ("2010.01.01~2020.12.12", ("2010-01-01", "2020-12-12")),
        ("2010.01.01至2020.12.12", ("2010-01-01", "2020-12-12")),
        ("2010.01.01一2020.12.12", ("2010-01-01", "2020-12-12")),
        ("2010 . 01 . 01 - 2020 . 12 . 12", ("2010-01-01", "2020-12-12")),
        ("20100101-20201212", ("2010-01-01", "2020-12-12")),
        ("有效期限2010.01.01-2020.12.12", ("2010-01-01", "2020-12-12")),
        ("2010.01.01 - 长期", ("2010-01-01", "长期")),
    ],
)
def test_validity_lines_as_ocr_reads_them(text: str, expected: tuple[str, str]) -> None:
    assert parse_validity(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2010.01.01", "2010.13.01-2020.12.12", "2010.01.01-2020.02.30", "四川省成都市"]
)
def test_malformed_validity_lines(text: str) -> None:
    assert parse_validity(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1995 年 7 月 17 日", "1995-07-17"),
        ("1995年7月17日", "1995-07-17"),
        ("出生1995年07月17日", "1995-07-17"),
        ("1995 车 7 月 17 日", "1995-07-17"),  # 年 misread
        ("19950717", "1995-07-17"),
        ("１９９５年７月１７日", "1995-07-17"),
    ],
)
def test_birth_lines(text: str, expected: str) -> None:
    assert parse_birth_line(text) == expected


@pytest.mark.parametrize("text", ["", "1995年2月30日", "1895年1月1日", "513701199507176346"])
def test_not_birth_lines(text: str) -> None:
    assert parse_birth_line(text) is None


def test_parse_date_forms() -> None:
    assert parse_date("2020-05-01") == date(2020, 5, 1)
    assert parse_date("20200501") == date(2020, 5, 1)
    assert parse_date("2020.05.01") == date(2020, 5, 1)
    assert parse_date("2020年5月1日") == date(2020, 5, 1)
    assert parse_date("2020-5-1x") is None
    assert parse_date("2020-02-30") is None


# --- comparing with what was typed or read from the chip -------------------------------------


def test_equal_sources_do_not_disagree_after_canonicalisation() -> None:
    read = card()
    given = {
        "name": "张 三",
        "sex": "male",
        "ethnicity": "汉族",
        "birth_date": "19900307",
        "address": "北京市东城区某某胡同１号",
        "id_number": read["id_number"].lower(),
        "issuing_authority": "北京市公安局东城分局 ",
        "valid_from": "2020.05.01",
        "valid_until": "2040-05-01",
    }
    assert compare_fields(read, given, "typed") == ()


def test_long_term_spellings_are_alike() -> None:
    read = card(valid_until="长期")
    for until in ("长期", "long-term", "Long term", ""):
        assert compare_fields(read, {"valid_until": until}, "chip") == ()
    assert compare_fields(card(), {"valid_until": ""}, "typed") == (
        Disagreement("valid_until", "2040-05-01", "", "typed"),
    )


def test_disagreements_list_each_differing_or_unread_field() -> None:
    read = card(address="<absent>")
    given = {
        "name": "李四",
        "sex": "女",
        "address": "北京市",
        "id_number": number("19900307", "125"),
        "ethnicity": "",  # not given: not compared
    }
    found = compare_fields(read, given, "chip")
    assert [d.field for d in found] == ["name", "sex", "address", "id_number"]
    assert found[2] == Disagreement("address", None, "北京市", "chip")
    assert all(d.source == "chip" for d in found)
    assert disagreement_reasons(found) == (
        "PHOTO_DISAGREES_NAME",
        "PHOTO_DISAGREES_SEX",
        "PHOTO_DISAGREES_ADDRESS",
        "PHOTO_DISAGREES_ID_NUMBER",
    )


def test_dates_are_compared_as_dates() -> None:
    assert compare_fields(card(), {"valid_from": "2020.05.02"}, "typed")[0].field == "valid_from"
    assert compare_fields(card(), {"birth_date": "1990.03.07"}, "typed") == ()


def test_every_field_has_a_disagreement_code() -> None:
    assert set(DISAGREEMENT_CODES) == set(FIELD_NAMES)
    assert DISAGREEMENT_CODES["name"] == "PHOTO_DISAGREES_NAME"
    assert DISAGREEMENT_CODES["valid_until"] == "PHOTO_DISAGREES_VALID_UNTIL"
    twice = [Disagreement("name", "a", "b", "typed"), Disagreement("name", "a", "c", "chip")]
    assert disagreement_reasons(twice) == ("PHOTO_DISAGREES_NAME",)
