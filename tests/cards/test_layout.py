"""Fields from text lines by content, whatever the OCR did with the labels."""

from realname.cards.layout import TextLine, back_fields, classify_side, front_fields


def _line(text: str, x: float, y: float, w: float = 200, h: float = 30, score=0.99) -> TextLine:
    return TextLine(text, score, (x, y, w, h))


FRONT = [
    _line("姓名张三", 55, 90),
    _line("性别男", 55, 155, 120),
    _line("民族汉", 250, 152, 120),
    _line("出生 1995 年 7 月 17 日", 55, 220, 380),
    _line("住址四川省成都市武侯区益州", 55, 285, 420),
    _line("大道中段722号复城国际", 150, 330, 330),
    _line("公民身份号码", 58, 453, 180),
    _line("513701199507176346", 276, 451, 420),
]


def _values(fields) -> dict[str, str]:
    return {f.name: f.text for f in fields}


def test_a_front_read_with_its_labels() -> None:
    side = classify_side(FRONT)
    assert side is not None and side.side == "front" and not side.upside_down
    assert _values(front_fields(side.lines)) == {
        "name": "张三",
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": "1995-07-17",
        "address": "四川省成都市武侯区益州大道中段722号复城国际",
        "id_number": "513701199507176346",
    }


def test_labels_missed_split_or_merged_give_the_same_fields() -> None:
    lines = [
        _line("姓", 55, 90, 20),
        _line("张三", 150, 90, 80),
        _line("男 民族 汉", 150, 155, 220),  # the sex label missed, the row merged
        _line("1995年7月17日", 150, 220, 300),
        _line("四川省成都市武侯区益州", 150, 285, 380),
        _line("大道中段722号复城国际", 150, 330, 330),
        _line("513701199507176346", 276, 451, 420),
    ]
    values = _values(front_fields(lines))
    assert values["name"] == "张三"
    assert values["sex"] == "男" and values["ethnicity"] == "汉"
    assert values["birth_date"] == "1995-07-17"
    assert values["address"] == "四川省成都市武侯区益州大道中段722号复城国际"


def test_an_upside_down_front_is_turned_by_its_boxes() -> None:
    turned = [ln.turned() for ln in FRONT]
    side = classify_side(turned)
    assert side is not None and side.upside_down
    assert _values(front_fields(side.lines))["address"].startswith("四川省")


def test_text_in_the_portrait_is_not_read_as_a_field() -> None:
    lines = [*FRONT, _line("HELLO", 600, 250, 150)]
    assert "HELLO" not in "".join(_values(front_fields(lines)).values())


def test_a_back_gives_the_authority_and_the_validity() -> None:
    lines = [
        _line("中华人民共和国", 285, 52, 300, 40),
        _line("居民身份证", 248, 135, 380, 70),
        _line("签发机关", 198, 388, 120),
        _line("四川省成都市公安局", 343, 384, 300),
        _line("锦江分局", 343, 420, 150),
        _line("有效期限 2010.01.01-长期", 199, 455, 420),
    ]
    side = classify_side(lines)
    assert side is not None and side.side == "back" and not side.upside_down
    assert _values(back_fields(side.lines)) == {
        "issuing_authority": "四川省成都市公安局锦江分局",
        "valid_from": "2010-01-01",
        "valid_until": "长期",
    }


def test_lines_with_nothing_of_a_card_are_no_side() -> None:
    assert classify_side([_line("HELLO WORLD", 10, 10), _line("12345", 10, 60)]) is None


def test_misread_labels_and_background_text_are_left_out_of_the_values() -> None:
    back = [
        _line("中华人民共和国", 285, 52, 300, 40),
        _line("居民身份证", 248, 135, 380, 70),
        _line("警发机关武汉市公安局武昌区分局OPEN", 198, 388, 520),  # 签 misread; clutter
        _line("有效期限 2010.01.01-2030.01.01", 199, 455, 420),
    ]
    assert _values(back_fields(back))["issuing_authority"] == "武汉市公安局武昌区分局"
    front = [
        _line("6陶建旭", 150, 90, 100),
        _line("性别男", 55, 155, 120),
        _line("出生1980年1月2日", 55, 220, 300),
        _line("佳址四川省成都市武侯区", 55, 285, 380),  # 住 misread as 佳
        _line("110101198001020011", 276, 451, 420),
    ]
    values = _values(front_fields(front))
    assert values["name"] == "陶建旭"
    assert values["address"] == "四川省成都市武侯区"
