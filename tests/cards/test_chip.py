"""The chip reader's JSON: our format, the SDKs' key spellings, and every refusal."""

import base64
import json

import pytest

from realname.cards.chip import ALIASES, CHIP_FORMAT, ETHNICITY_CODES, parse_chip_json
from realname.cards.reading import FIELD_NAMES
from realname.errors import ChipDataError
from realname.identity.idcard import check_character

BODY = "51370119950717634"
NUMBER = BODY + check_character(BODY)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(64))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
BMP = b"BM" + b"\x00" * 30


def ours(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "format": CHIP_FORMAT,
        "name": "张三",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "19950717",
        "address": "四川省成都市武侯区益州大道中段722号",
        "id_number": NUMBER,
        "issuing_authority": "成都市公安局武侯分局",
        "valid_from": "20100101",
        "valid_until": "20201212",
        "portrait": base64.b64encode(JPEG).decode(),
    }
    data.update(changes)
    return data


def test_our_format_is_read_into_canonical_fields() -> None:
    chip = parse_chip_json(json.dumps(ours(), ensure_ascii=False))
    assert chip.source_format == CHIP_FORMAT
    assert chip.fields == {
        "name": "张三",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1995-07-17",
        "address": "四川省成都市武侯区益州大道中段722号",
        "id_number": NUMBER,
        "issuing_authority": "成都市公安局武侯分局",
        "valid_from": "2010-01-01",
        "valid_until": "2020-12-12",
    }
    assert chip.portrait == JPEG
    assert chip.ignored_keys == ()


def test_bytes_str_and_mapping_give_the_same_card() -> None:
    text = json.dumps(ours(), ensure_ascii=False)
    a = parse_chip_json(text)
    b = parse_chip_json(text.encode("utf-8"))
    c = parse_chip_json(ours())
    d = parse_chip_json(b"\xef\xbb\xbf" + text.encode("utf-8"))  # a BOM
    assert a == b == c == d


def test_only_name_and_number_are_required() -> None:
    chip = parse_chip_json({"format": CHIP_FORMAT, "name": "李四", "id_number": NUMBER})
    assert chip.fields == {"name": "李四", "id_number": NUMBER}
    assert chip.portrait == b""
    for missing in ("name", "id_number"):
        data = ours()
        del data[missing]
        with pytest.raises(ChipDataError, match=missing):
            parse_chip_json(data)
    with pytest.raises(ChipDataError, match="name and id_number"):
        parse_chip_json({"format": CHIP_FORMAT})
    with pytest.raises(ChipDataError, match="name"):
        parse_chip_json(ours(name="  "))


def test_null_and_empty_values_are_absent() -> None:
    chip = parse_chip_json(ours(address=None, ethnicity="", portrait=None))
    assert "address" not in chip.fields and "ethnicity" not in chip.fields
    assert chip.portrait == b""


def test_long_term_and_iso_and_dotted_dates() -> None:
    chip = parse_chip_json(
        ours(valid_until="长期", birth_date="1995-07-17", valid_from="2010.01.01")
    )
    assert chip.fields["valid_until"] == "长期"
    assert chip.fields["birth_date"] == "1995-07-17"
    assert chip.fields["valid_from"] == "2010-01-01"
    assert parse_chip_json(ours(valid_until="long-term")).fields["valid_until"] == "长期"


@pytest.mark.parametrize(
    ("key", "value"),
    [("birth_date", "1995-02-30"), ("valid_from", "soon"), ("valid_until", "20201312")],
)
def test_a_date_that_is_not_a_date_is_refused(key: str, value: str) -> None:
    with pytest.raises(ChipDataError, match=key):
        parse_chip_json(ours(**{key: value}))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", "男"),
        ("2", "女"),
        (1, "男"),
        (2, "女"),
        ("male", "男"),
        ("Female", "女"),
        ("女性", "女"),
    ],
)
def test_sex_codes_and_words(value: object, expected: str) -> None:
    assert parse_chip_json(ours(sex=value)).fields["sex"] == expected


@pytest.mark.parametrize("value", ["0", "9", "unknown", True])
def test_a_sex_that_is_neither_is_refused(value: object) -> None:
    with pytest.raises(ChipDataError, match="sex"):
        parse_chip_json(ours(sex=value))


def test_the_56_ethnicity_codes() -> None:
    assert len(ETHNICITY_CODES) == 56
    assert len(set(ETHNICITY_CODES.values())) == 56
    assert ETHNICITY_CODES["01"] == "汉" and ETHNICITY_CODES["56"] == "基诺"
    assert ETHNICITY_CODES["10"] == "朝鲜" and ETHNICITY_CODES["29"] == "柯尔克孜"
    for code, name in ETHNICITY_CODES.items():
        assert parse_chip_json(ours(ethnicity=code)).fields["ethnicity"] == name
    assert parse_chip_json(ours(ethnicity=3)).fields["ethnicity"] == "回"
    assert parse_chip_json(ours(ethnicity="汉族")).fields["ethnicity"] == "汉"
    assert parse_chip_json(ours(ethnicity="蒙古族")).fields["ethnicity"] == "蒙古"
    with pytest.raises(ChipDataError, match="GB 3304"):
        parse_chip_json(ours(ethnicity="57"))


SDK_SPELLINGS = {
    "name": ["Name", "name", "partyName", "PartyName"],
    "sex": ["Sex", "gender", "SexCode"],
    "ethnicity": ["Nation", "nation", "folk", "NationCode"],
    "birth_date": ["Born", "birth", "birthday", "BirthDate", "birth_date"],
    "address": ["Address", "address"],
    "id_number": ["IDCardNo", "CardNo", "certNumber", "idnum", "IDNumber", "id_number"],
    "issuing_authority": ["GrantDept", "Police", "signingOrganization", "issuingAuthority"],
    "valid_from": ["UserLifeBegin", "effectedDate", "validStart"],
    "valid_until": ["UserLifeEnd", "expiredDate", "validEnd"],
    "portrait": ["PhotoBuffer", "photo", "Base64Photo", "picture"],
}

SDK_VALUES = {
    "name": "王五",
    "sex": "1",
    "ethnicity": "01",
    "birth_date": "19950717",
    "address": "北京市",
    "id_number": NUMBER,
    "issuing_authority": "北京市公安局",
    "valid_from": "20100101",
    "valid_until": "20201212",
    "portrait": base64.b64encode(BMP).decode(),
}


@pytest.mark.parametrize(
    ("field", "spelling"), [(f, s) for f, spellings in SDK_SPELLINGS.items() for s in spellings]
)
def test_each_sdk_spelling_is_an_alias(field: str, spelling: str) -> None:
    data = {SDK_SPELLINGS[f][0] if f != field else spelling: v for f, v in SDK_VALUES.items()}
    chip = parse_chip_json(data)
    assert chip.source_format == "sdk"
    assert chip.portrait == BMP
    assert chip.fields["sex"] == "男" and chip.fields["ethnicity"] == "汉"
    assert chip.fields["valid_until"] == "2020-12-12"
    assert set(chip.fields) == set(FIELD_NAMES)


def test_every_alias_names_a_known_field() -> None:
    assert set(ALIASES) <= {*FIELD_NAMES, "portrait", "validity"}
    assert all(a == a.lower() and "_" not in a for spellings in ALIASES.values() for a in spellings)


def test_an_sdk_answer_keeps_unknown_keys_aside_and_is_unwrapped() -> None:
    answer = {
        "code": 0,
        "msg": "ok",
        "data": {"partyName": "王五", "certNumber": NUMBER, "DN": "x"},
    }
    chip = parse_chip_json(answer)
    assert chip.fields == {"name": "王五", "id_number": NUMBER}
    assert chip.ignored_keys == ("DN",)
    flat = parse_chip_json({"Name": "王五", "IDCardNo": NUMBER, "retCode": "0x90"})
    assert flat.ignored_keys == ("retCode",)


def test_an_sdk_period_in_one_field() -> None:
    chip = parse_chip_json({"Name": "王五", "IDCardNo": NUMBER, "validDate": "2010.01.01-长期"})
    assert chip.fields["valid_from"] == "2010-01-01" and chip.fields["valid_until"] == "长期"
    same = {"Name": "王五", "IDCardNo": NUMBER, "UserLife": "20100101-20201212"}
    assert parse_chip_json({**same, "UserLifeEnd": "2020-12-12"}).fields["valid_until"] == (
        "2020-12-12"
    )
    with pytest.raises(ChipDataError, match="disagrees"):
        parse_chip_json({**same, "UserLifeEnd": "2021-12-12"})
    with pytest.raises(ChipDataError, match="validity period"):
        parse_chip_json({**same, "UserLife": "2010"})


def test_one_field_given_twice_differently_is_refused() -> None:
    with pytest.raises(ChipDataError, match="twice"):
        parse_chip_json({"Name": "王五", "partyName": "赵六", "IDCardNo": NUMBER})
    assert (
        parse_chip_json({"Name": "王五", "partyName": "王五", "IDCardNo": NUMBER}).fields["name"]
        == "王五"
    )
    with pytest.raises(ChipDataError, match="twice"):
        parse_chip_json('{"Name": "王五", "Name": "赵六", "IDCardNo": "' + NUMBER + '"}')


def test_our_format_refuses_unknown_keys_and_versions() -> None:
    with pytest.raises(ChipDataError, match="unknown key 'id_numbr'"):
        parse_chip_json(ours(id_numbr="x"))
    with pytest.raises(ChipDataError, match="unknown key 'Name'"):
        parse_chip_json(ours(Name="王五"))  # aliases are for SDK answers, not our format
    with pytest.raises(ChipDataError, match="realname-chip/2"):
        parse_chip_json(ours(format="realname-chip/2"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not valid JSON"),
        ("", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[1, 2]", "must be a JSON object, not list"),
        ('"text"', "must be a JSON object, not str"),
        ('{"name": NaN}', "NaN"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ],
)
def test_what_is_not_a_json_object_is_refused(data: bytes | str, message: str) -> None:
    with pytest.raises(ChipDataError, match=message):
        parse_chip_json(data, max_bytes=1_000_000)


def test_too_big_is_refused_before_parsing() -> None:
    with pytest.raises(ChipDataError, match="over the limit of 100"):
        parse_chip_json(b"{" + b" " * 200 + b"}", max_bytes=100)
    big = ours(portrait="A" * 2_000_004)
    with pytest.raises(ChipDataError, match="over the limit"):
        parse_chip_json(big)


def test_a_value_that_is_not_text_is_refused() -> None:
    for value in ([1], {"a": 1}, 1.5, False):
        with pytest.raises(ChipDataError, match="name must be text"):
            parse_chip_json(ours(name=value))


@pytest.mark.parametrize("odd", ["\u200b", "\u202e", "\x00", "\ufeff", "\ue000"])
def test_odd_unicode_is_refused(odd: str) -> None:
    with pytest.raises(ChipDataError, match="invisible or control"):
        parse_chip_json(ours(name=f"张{odd}三"))
    with pytest.raises(ChipDataError, match="address"):
        parse_chip_json(ours(address=f"北京{odd}市"))


def test_the_number_is_canonicalised_or_refused() -> None:
    low = NUMBER[:-1] + "x" if NUMBER.endswith("X") else NUMBER
    assert parse_chip_json(ours(id_number=" " + low + " ")).fields["id_number"] == NUMBER
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in NUMBER)
    assert parse_chip_json(ours(id_number=full_width)).fields["id_number"] == NUMBER
    with pytest.raises(ChipDataError, match="id_number"):
        parse_chip_json(ours(id_number=NUMBER[:-1]))
    with pytest.raises(ChipDataError, match="U\\+200B"):
        parse_chip_json(ours(id_number=NUMBER[:5] + "\u200b" + NUMBER[5:]))


def test_text_is_nfkc_and_trimmed() -> None:
    chip = parse_chip_json(ours(name="  张三 ", address="北京市东城区１号  "))
    assert chip.fields["name"] == "张三" and chip.fields["address"] == "北京市东城区1号"


@pytest.mark.parametrize("image", [JPEG, PNG, BMP])
def test_portrait_forms(image: bytes) -> None:
    b64 = base64.b64encode(image).decode()
    assert parse_chip_json(ours(portrait=b64)).portrait == image
    uri = "data:image/jpeg;base64," + b64
    assert parse_chip_json(ours(portrait=uri)).portrait == image
    wrapped = "\n".join(b64[i : i + 16] for i in range(0, len(b64), 16))
    assert parse_chip_json(ours(portrait=wrapped)).portrait == image
    assert parse_chip_json(ours(portrait=b64.rstrip("="))).portrait == image
    urlsafe = base64.urlsafe_b64encode(image).decode()
    assert parse_chip_json(ours(portrait=urlsafe)).portrait == image


def test_bad_portraits_are_refused() -> None:
    with pytest.raises(ChipDataError, match="not valid base64"):
        parse_chip_json(ours(portrait="@@@not base64@@@"))
    with pytest.raises(ChipDataError, match="WLT"):
        parse_chip_json(ours(portrait=base64.b64encode(b"WLfW" + b"\x00" * 100).decode()))
