"""Synthetic second-generation resident ID cards (made-up people) and a "photographer" for them.

The card OCR reader (:mod:`realname.cards`) is evaluated and tested on cards made at test time,
never on images of real people's cards:

* :func:`make_person` draws a made-up holder: a common surname and given name, a real region
  code with its province, city and district, an address of realistic length, a birth date, an ID
  number with the sequence's parity for the sex and a valid check character, and a validity
  period by the age rule at issue (under 16: 5 years, 16-25: 10, 26-45: 20, 46 and over: 长期).
* :func:`render_front` and :func:`render_back` draw the two sides at the rectified size
  (:data:`~realname.cards.reading.CARD_WIDTH` x :data:`~realname.cards.reading.CARD_HEIGHT`,
  10 px/mm) with the Debian fonts ``fonts-wqy-microhei`` (Hei: labels and values),
  ``fonts-arphic-gbsn00lp`` (Song: the back's title) and ``fonts-ocr-b`` (the number).
* :func:`photograph` puts a card (rounded corners) on a cluttered background under a
  perspective tilt and an in-plane rotation, with glare, uneven light, blur, noise and JPEG, at
  one of two distortion levels, and returns where the card's corners went;
  :func:`two_cards_photo` puts two cards in one photo.

Every random choice is drawn from the ``rng`` passed in, so the same seed gives byte-identical
images; rendering is deterministic (no randomness of its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from realname.cards.reading import CARD_HEIGHT, CARD_WIDTH
from realname.errors import SetupError
from realname.identity.idcard import check_character

__all__ = [
    "LEVELS",
    "REGIONS",
    "DistortionLevel",
    "FontFile",
    "SyntheticPerson",
    "default_portrait",
    "make_person",
    "photograph",
    "render_back",
    "render_front",
    "two_cards_photo",
    "validity_years",
]

Image = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]
Level = Literal["moderate", "hard"]

# --- fonts -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FontFile:
    """A font the cards are drawn with, and the Debian package that installs it."""

    path: Path
    package: str


HEI_FONT = FontFile(Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), "fonts-wqy-microhei")
SONG_FONT = FontFile(
    Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"), "fonts-arphic-gbsn00lp"
)
OCRB_FONT = FontFile(Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf"), "fonts-ocr-b")


@lru_cache(maxsize=32)
def _font(font: FontFile, size: int) -> ImageFont.FreeTypeFont:
    if not font.path.is_file():
        raise SetupError(
            f"the font {font.path} is missing: install the Debian package {font.package} "
            f"(apt-get install {font.package})",
            font=str(font.path),
            package=font.package,
        )
    return ImageFont.truetype(str(font.path), size)


# --- made-up people ----------------------------------------------------------------------------

#: Real region codes (GB/T 2260) with their province, city and district. A municipality's city
#: is empty (the province is the city).
REGIONS: tuple[tuple[str, str, str, str], ...] = (
    ("110101", "北京市", "", "东城区"),
    ("110105", "北京市", "", "朝阳区"),
    ("110108", "北京市", "", "海淀区"),
    ("120101", "天津市", "", "和平区"),
    ("120104", "天津市", "", "南开区"),
    ("310104", "上海市", "", "徐汇区"),
    ("310106", "上海市", "", "静安区"),
    ("310115", "上海市", "", "浦东新区"),
    ("500103", "重庆市", "", "渝中区"),
    ("500106", "重庆市", "", "沙坪坝区"),
    ("440305", "广东省", "深圳市", "南山区"),
    ("440304", "广东省", "深圳市", "福田区"),
    ("440106", "广东省", "广州市", "天河区"),
    ("440104", "广东省", "广州市", "越秀区"),
    ("510107", "四川省", "成都市", "武侯区"),
    ("510104", "四川省", "成都市", "锦江区"),
    ("330106", "浙江省", "杭州市", "西湖区"),
    ("330102", "浙江省", "杭州市", "上城区"),
    ("320102", "江苏省", "南京市", "玄武区"),
    ("320505", "江苏省", "苏州市", "虎丘区"),
    ("370102", "山东省", "济南市", "历下区"),
    ("370202", "山东省", "青岛市", "市南区"),
    ("420106", "湖北省", "武汉市", "武昌区"),
    ("430104", "湖南省", "长沙市", "岳麓区"),
    ("410105", "河南省", "郑州市", "金水区"),
    ("610113", "陕西省", "西安市", "雁塔区"),
    ("350203", "福建省", "厦门市", "思明区"),
    ("350102", "福建省", "福州市", "鼓楼区"),
    ("210102", "辽宁省", "沈阳市", "和平区"),
    ("220102", "吉林省", "长春市", "南关区"),
    ("230103", "黑龙江省", "哈尔滨市", "南岗区"),
    ("130102", "河北省", "石家庄市", "长安区"),
    ("140105", "山西省", "太原市", "小店区"),
    ("340104", "安徽省", "合肥市", "蜀山区"),
    ("360102", "江西省", "南昌市", "东湖区"),
    ("450103", "广西壮族自治区", "南宁市", "青秀区"),
    ("530102", "云南省", "昆明市", "五华区"),
    ("520102", "贵州省", "贵阳市", "南明区"),
    ("620102", "甘肃省", "兰州市", "城关区"),
    ("650102", "新疆维吾尔自治区", "乌鲁木齐市", "天山区"),
    ("640104", "宁夏回族自治区", "银川市", "兴庆区"),
    ("150102", "内蒙古自治区", "呼和浩特市", "新城区"),
    ("460105", "海南省", "海口市", "秀英区"),
    ("630103", "青海省", "西宁市", "城中区"),
)

_SINGLE_SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
_DOUBLE_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方")
_DOUBLE_SURNAME_SHARE = 0.03
_ONE_CHARACTER_GIVEN_NAME_SHARE = 0.35
_GIVEN_MALE = tuple("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林峰建国志文博晨阳")
_GIVEN_FEMALE = tuple("芳娜敏静丽艳娟霞秀英兰婷雪琳玲颖慧晶倩洁萍燕红梅莉佳怡欣悦彤丹月琪蕾")
_ETHNIC_MINORITIES = ("回", "满", "壮", "维吾尔", "蒙古", "藏", "土家")
_HAN_SHARE = 0.85
_ROADS = (
    "人民路", "解放路", "中山路", "建设路", "和平路", "幸福路", "胜利路", "文化路", "长江路",
    "黄河路", "新华街", "朝阳街", "东风路", "青年路", "北京路", "南京路", "学府路", "科技路",
    "光明街", "益州大道中段", "滨江东路", "花园北路", "体育西路", "工农街", "金沙路", "团结南路",
)  # fmt: skip
_ESTATES = ("阳光", "锦绣", "金色家园", "翠苑", "书香门第", "幸福里", "紫荆", "复城国际", "丽景")
_ADDRESS_MAX_CHARS = 33  # 3 printed lines of 11
_CHILD_SHARE = 0.05
_CHILD_AGES = (5, 15)
_ADULT_AGES = (16, 80)
_FIRST_CARD_YEAR = date(2004, 1, 1)  # second-generation cards were first issued in 2004
_ISSUE_TRIES = 200


@dataclass(frozen=True)
class SyntheticPerson:
    """A made-up card holder. ``valid_until`` is ``None`` for a long-term (长期) card."""

    name: str
    sex: str  # 男 or 女
    ethnicity: str
    birth_date: date
    address: str
    id_number: str
    issuing_authority: str
    valid_from: date
    valid_until: date | None

    def values(self) -> dict[str, str]:
        """The canonical text of every field (:mod:`realname.cards.reading`)."""
        return {
            "name": self.name,
            "sex": self.sex,
            "ethnicity": self.ethnicity,
            "birth_date": self.birth_date.isoformat(),
            "address": self.address,
            "id_number": self.id_number,
            "issuing_authority": self.issuing_authority,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": "长期" if self.valid_until is None else self.valid_until.isoformat(),
        }


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def age_on(birth: date, day: date) -> int:
    """Completed years from ``birth`` to ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def validity_years(age_at_issue: int) -> int | None:
    """The validity period by the holder's age when the card was issued (``None``: 长期)."""
    if age_at_issue < 16:
        return 5
    if age_at_issue <= 25:
        return 10
    if age_at_issue <= 45:
        return 20
    return None


def _valid_until(birth: date, valid_from: date) -> date | None:
    years = validity_years(age_on(birth, valid_from))
    return None if years is None else _add_years(valid_from, years)


def _name(rng: np.random.Generator, male: bool) -> str:
    if rng.random() < _DOUBLE_SURNAME_SHARE:
        surname = _pick(rng, _DOUBLE_SURNAMES)
    else:
        surname = _pick(rng, _SINGLE_SURNAMES)
    given = _GIVEN_MALE if male else _GIVEN_FEMALE
    length = 1 if rng.random() < _ONE_CHARACTER_GIVEN_NAME_SHARE else 2
    return surname + "".join(_pick(rng, given) for _ in range(length))


def _address(rng: np.random.Generator, province: str, city: str, district: str) -> str:
    address = f"{province}{city}{district}{_pick(rng, _ROADS)}{int(rng.integers(1, 1000))}号"
    extra = float(rng.random())
    building, unit = int(rng.integers(1, 30)), int(rng.integers(1, 6))
    room = 100 * int(rng.integers(1, 33)) + int(rng.integers(1, 5))
    if extra < 0.4:  # an estate, building, unit and room
        more = f"{_pick(rng, _ESTATES)}小区{building}栋{unit}单元{room}室"
    elif extra < 0.6:  # a building and room
        more = f"{building}号楼{room}室"
    else:
        more = ""
    return address + more if len(address + more) <= _ADDRESS_MAX_CHARS else address


def _birth_date(rng: np.random.Generator, today: date) -> date:
    low, high = _CHILD_AGES if rng.random() < _CHILD_SHARE else _ADULT_AGES
    age = int(rng.integers(low, high + 1))
    return _add_years(today, -age - 1) + timedelta(days=int(rng.integers(1, 366)))


def _issue(rng: np.random.Generator, birth: date, today: date) -> date:
    """A past issue date of a card still valid on ``today``."""
    earliest = max(birth + timedelta(days=180), _FIRST_CARD_YEAR)
    span = max((today - earliest).days, 2)
    for _ in range(_ISSUE_TRIES):
        valid_from = today - timedelta(days=int(rng.integers(1, min(span, 20 * 366))))
        until = _valid_until(birth, valid_from)
        if until is None or until > today:
            return valid_from
    return today - timedelta(days=1)


def make_person(rng: np.random.Generator, *, today: date, expired: bool = False) -> SyntheticPerson:
    """A made-up holder whose card is valid on ``today`` (``expired``: one that expired)."""
    male = bool(rng.random() < 0.5)
    code, province, city, district = REGIONS[int(rng.integers(len(REGIONS)))]
    if expired:  # a 10-year card issued at 16-25 that ran out 1 to 900 days ago
        valid_from = _add_years(today, -10) - timedelta(days=int(rng.integers(1, 901)))
        age_at_issue = int(rng.integers(16, 26))
        birth = _add_years(valid_from, -age_at_issue - 1) + timedelta(
            days=int(rng.integers(1, 365))
        )
    else:
        birth = _birth_date(rng, today)
        valid_from = _issue(rng, birth, today)
    sequence = 2 * int(rng.integers(0, 500)) + (1 if male else 0)
    first17 = f"{code}{birth:%Y%m%d}{sequence:03d}"
    minority = rng.random() >= _HAN_SHARE
    return SyntheticPerson(
        name=_name(rng, male),
        sex="男" if male else "女",
        ethnicity=_pick(rng, _ETHNIC_MINORITIES) if minority else "汉",
        birth_date=birth,
        address=_address(rng, province, city, district),
        id_number=first17 + check_character(first17),
        issuing_authority=f"{city or province}公安局{district}分局",
        valid_from=valid_from,
        valid_until=_valid_until(birth, valid_from),
    )


# --- rendering ---------------------------------------------------------------------------------

PX_PER_MM = 10
_LABEL_RGB = (0, 130, 200)
_VALUE_RGB = (20, 20, 20)
_LABEL_PX = 28  # Hei, CJK glyphs about 2.6 mm tall
_VALUE_PX = 33  # Hei, about 3 mm
_NUMBER_PX = 44  # OCR-B, digits about 3.6 mm
_NUMBER_PITCH_MM = 2.9  # the number's character pitch
_TITLE_PX = 52  # Song, about 5 mm
_CARD_NAME_PX = 84  # Song, about 8 mm
_ASCENT = 0.86  # the top of a CJK glyph above its baseline, in em
_ADDRESS_LINE_CHARS = 11
_ADDRESS_LINE_MM = 5.0
_PORTRAIT_BOX_MM = (55.0, 6.0, 81.0, 38.0)  # x0, y0, x1, y1
_CORNER_RADIUS_PX = 30  # 3 mm


def _px(mm: float) -> int:
    return round(mm * PX_PER_MM)


@lru_cache(maxsize=1)
def _background() -> Image:
    """The card's light printed background: a pale blue to cream gradient with fine waves."""
    ys, xs = np.mgrid[0:CARD_HEIGHT, 0:CARD_WIDTH].astype(np.float32)
    t = (xs / CARD_WIDTH * 0.6 + ys / CARD_HEIGHT * 0.4)[..., None]
    blue = np.array([246, 236, 222], np.float32)  # BGR, pale blue
    cream = np.array([222, 242, 250], np.float32)  # BGR, cream
    card = (blue * (1 - t) + cream * t).astype(np.uint8)
    x = np.arange(0, CARD_WIDTH, 4, dtype=np.float64)
    for row in range(-10, CARD_HEIGHT + 10, 9):
        y = row + 3.0 * np.sin(2 * math.pi * x / 140.0 + row * 0.07)
        points = np.stack([x, y], axis=1).round().astype(np.int32)
        cv2.polylines(card, [points], False, (226, 218, 208), 1, cv2.LINE_AA)
    for radius in range(40, 400, 14):  # a faint guilloche rosette
        cv2.circle(
            card, (CARD_WIDTH // 2, CARD_HEIGHT // 2), radius, (232, 224, 214), 1, cv2.LINE_AA
        )
    return np.asarray(card, dtype=np.uint8)


def _text(
    draw: ImageDraw.ImageDraw,
    xy_mm: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    rgb: tuple[int, int, int],
    spacing_px: float = 0.0,
) -> float:
    """Draw ``text`` whose glyph tops are at ``xy_mm``; return the x (px) where it ends."""
    x = float(_px(xy_mm[0]))
    baseline = _px(xy_mm[1]) + _ASCENT * font.size
    if not spacing_px:
        draw.text((x, baseline), text, font=font, fill=rgb, anchor="ls")
        return x + font.getlength(text)
    for char in text:
        draw.text((x, baseline), char, font=font, fill=rgb, anchor="ls")
        x += font.getlength(char) + spacing_px
    return x - spacing_px


def _wrap(text: str, font: ImageFont.FreeTypeFont, width_px: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for char in text:
        if line and font.getlength(line + char) > width_px:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines


def _portrait_into(card: Image, portrait: Image) -> None:
    """Paste the portrait, fitted into its box keeping its aspect, its background lightened."""
    x0, y0, x1, y1 = (_px(v) for v in _PORTRAIT_BOX_MM)
    box_w, box_h = x1 - x0, y1 - y0
    scale = min(box_w / portrait.shape[1], box_h / portrait.shape[0])
    w, h = max(1, round(portrait.shape[1] * scale)), max(1, round(portrait.shape[0] * scale))
    face = cv2.resize(portrait, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, int(h * 0.55)), (int(w * 0.42), int(h * 0.5)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(w, h) / 25)[..., None]
    light = face * 0.3 + 255.0 * 0.7
    ox, oy = x0 + (box_w - w) // 2, y0 + (box_h - h) // 2
    under = card[oy : oy + h, ox : ox + w].astype(np.float32)
    pasted = (face * mask + light * (1 - mask)) * 0.92 + under * 0.08
    card[oy : oy + h, ox : ox + w] = np.clip(pasted, 0, 255).astype(np.uint8)


def _front_text(draw: ImageDraw.ImageDraw, person: SyntheticPerson) -> None:
    label = _font(HEI_FONT, _LABEL_PX)
    value = _font(HEI_FONT, _VALUE_PX)
    for text, xy in (("姓名", (6.5, 7.5)), ("性别", (6.5, 14.5)), ("民族", (22.0, 14.5))):
        _text(draw, xy, text, label, _LABEL_RGB, spacing_px=4)
    for text, xy in (("出生", (6.5, 21.0)), ("住址", (6.5, 28.0)), ("公民身份号码", (6.5, 45.0))):
        _text(draw, xy, text, label, _LABEL_RGB, spacing_px=4)
    _text(draw, (16.0, 7.2), person.name, value, _VALUE_RGB, spacing_px=3)
    _text(draw, (16.0, 14.2), person.sex, value, _VALUE_RGB)
    _text(draw, (29.5, 14.2), person.ethnicity, value, _VALUE_RGB)
    born = person.birth_date
    _text(draw, (16.0, 20.7), f"{born.year}", value, _VALUE_RGB)
    _text(draw, (24.5, 21.0), "年", label, _LABEL_RGB)
    _text(draw, (28.6 if born.month > 9 else 29.5, 20.7), f"{born.month}", value, _VALUE_RGB)
    _text(draw, (33.0, 21.0), "月", label, _LABEL_RGB)
    _text(draw, (37.1 if born.day > 9 else 38.0, 20.7), f"{born.day}", value, _VALUE_RGB)
    _text(draw, (41.5, 21.0), "日", label, _LABEL_RGB)
    width = value.getlength("汉") * _ADDRESS_LINE_CHARS + 1
    for i, line in enumerate(_wrap(person.address, value, width)[:3]):
        _text(draw, (16.0, 27.7 + i * _ADDRESS_LINE_MM), line, value, _VALUE_RGB)
    number = _font(OCRB_FONT, _NUMBER_PX)
    baseline = _px(44.5) - number.getbbox("0", anchor="ls")[1]  # the digits' tops at 44.5 mm
    for i, char in enumerate(person.id_number):
        x = _px(28.5 + i * _NUMBER_PITCH_MM)
        draw.text((x, baseline), char, font=number, fill=(0, 0, 0), anchor="ls")


def render_front(person: SyntheticPerson, portrait: Image) -> Image:
    """The front (the holder's side) at 856x540, BGR."""
    card = _background().copy()
    _portrait_into(card, portrait)
    canvas = PILImage.fromarray(cv2.cvtColor(card, cv2.COLOR_BGR2RGB))
    _front_text(ImageDraw.Draw(canvas), person)
    return np.asarray(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR), dtype=np.uint8)


def _emblem(card: Image) -> None:
    """A placeholder for the national emblem: a red disc, a gold ring and gold stars."""
    cx, cy, radius = _px(13.0), _px(11.0), _px(7.0)
    gold = (40, 190, 250)
    cv2.circle(card, (cx, cy), radius, (30, 30, 200), -1, cv2.LINE_AA)
    cv2.circle(card, (cx, cy), radius - 6, gold, 3, cv2.LINE_AA)
    cv2.circle(card, (cx, cy), radius - 14, gold, 1, cv2.LINE_AA)
    stars = (
        (0.0, -0.18, 0.22),
        (-0.3, -0.32, 0.07),
        (-0.38, -0.1, 0.07),
        (0.3, -0.32, 0.07),
        (0.38, -0.1, 0.07),
    )
    for dx, dy, size in stars:
        points = []
        for k in range(10):
            r = radius * size * (1.0 if k % 2 == 0 else 0.4)
            angle = -math.pi / 2 + k * math.pi / 5
            points.append(
                (cx + dx * radius + r * math.cos(angle), cy + dy * radius + r * math.sin(angle))
            )
        cv2.fillPoly(card, [np.array(points).round().astype(np.int32)], gold, cv2.LINE_AA)
    cv2.rectangle(card, (cx - 28, cy + 18), (cx + 28, cy + 34), gold, -1, cv2.LINE_AA)  # a gate
    cv2.ellipse(card, (cx, cy + 30), (radius - 18, 18), 0, 0, 180, gold, 3, cv2.LINE_AA)


def _dotted(day: date) -> str:
    return f"{day:%Y.%m.%d}"


def render_back(person: SyntheticPerson) -> Image:
    """The back (the emblem's side) at 856x540, BGR."""
    card = _background().copy()
    _emblem(card)
    canvas = PILImage.fromarray(cv2.cvtColor(card, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(canvas)
    black = (0, 0, 0)
    _text(draw, (27.0, 6.5), "中华人民共和国", _font(SONG_FONT, _TITLE_PX), black, spacing_px=14)
    _text(draw, (27.0, 16.5), "居民身份证", _font(SONG_FONT, _CARD_NAME_PX), black, spacing_px=22)
    label, value = _font(HEI_FONT, _LABEL_PX), _font(HEI_FONT, _VALUE_PX)
    _text(draw, (16.0, 40.0), "签发机关", label, _LABEL_RGB, spacing_px=4)
    _text(draw, (16.0, 47.0), "有效期限", label, _LABEL_RGB, spacing_px=4)
    until = "长期" if person.valid_until is None else _dotted(person.valid_until)
    _text(draw, (31.0, 39.7), person.issuing_authority, value, _VALUE_RGB)
    _text(draw, (31.0, 46.7), f"{_dotted(person.valid_from)}-{until}", value, _VALUE_RGB)
    return np.asarray(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR), dtype=np.uint8)


def default_portrait() -> Image:
    """A head-and-shoulders crop of scikit-image's astronaut photo (BGR): a package image."""
    from skimage import data  # a dev dependency: imported only when a portrait is needed

    rgb = np.asarray(data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]
    return np.asarray(cv2.cvtColor(rgb[10:290, 120:345], cv2.COLOR_RGB2BGR), dtype=np.uint8)


# --- photographing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DistortionLevel:
    """How hard a photo is: the card's share of the photo's area, the out-of-plane tilt, blur,
    JPEG quality. The in-plane rotation, uneven light and glare are the same at every level."""

    area: tuple[float, float]
    max_tilt_deg: float
    blur_sigma: tuple[float, float]
    jpeg_quality: tuple[int, int]


LEVELS: dict[str, DistortionLevel] = {
    "moderate": DistortionLevel((0.40, 0.80), 15.0, (0.0, 1.5), (40, 70)),
    "hard": DistortionLevel((0.25, 0.40), 25.0, (1.5, 2.5), (20, 40)),
}
_MAX_ROLL_DEG = 12.0
_QUARTER_TURN_SHARE = 0.1
_CAMERA_DISTANCE = 1.3  # the camera's distance and focal length, in card widths
_MARGIN = 0.01  # the card stays this share of the photo's size from its edges
_PLACEMENT_TRIES = 30
_LIGHT_RANGE = (0.6, 1.2)
_GLARE_SHARE = 0.3
_SENSOR_NOISE = 2.5  # std, 0..255
_WORDS = (
    "SALE", "OPEN", "Coffee", "menu", "Invoice", "TOTAL", "receipt", "Hello", "Station", "EXIT",
    "Lorem", "ipsum", "dolor", "amet", "table", "Room", "Paper", "Notes", "Order", "Ticket",
    "Welcome", "Date", "Price", "Book", "Street", "Phone", "Mall", "Bank", "Desk", "office",
)  # fmt: skip
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    b, g, r = rng.integers(0, 256, size=3)
    return int(b), int(g), int(r)


def _smooth(
    rng: np.random.Generator, size: tuple[int, int], cells: int, channels: int
) -> FloatArray:
    """A smooth random field in [0, 1]: a few random cells upsampled."""
    w, h = size
    small = rng.random((cells, cells, channels)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.asarray(big.reshape(h, w, channels), dtype=np.float64)


def _clutter(rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """A cluttered table top: a gradient, a texture, shapes, lines and Latin words."""
    w, h = size
    a, b = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    t = _smooth(rng, (w, h), 3, 1).astype(np.float32)
    grain = (rng.random((h // 8, w // 8)).astype(np.float32) - 0.5) * 40.0
    texture = cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    photo: Image = np.clip(a * (1 - t) + b * t + texture, 0, 255).astype(np.uint8)
    side = min(w, h)
    for _ in range(int(rng.integers(6, 15))):
        centre = (float(rng.uniform(0, w)), float(rng.uniform(0, h)))
        dims = (float(rng.uniform(0.04, 0.25) * side), float(rng.uniform(0.04, 0.25) * side))
        box = cv2.boxPoints((centre, dims, float(rng.uniform(0, 180)))).round().astype(np.int32)
        thickness = -1 if rng.random() < 0.6 else int(rng.integers(2, 8))
        cv2.polylines(photo, [box], True, _colour(rng), max(thickness, 1), cv2.LINE_AA)
        if thickness < 0:
            cv2.fillPoly(photo, [box], _colour(rng), cv2.LINE_AA)
    for _ in range(int(rng.integers(5, 16))):
        p, q = rng.integers(0, (w, h), size=(2, 2))
        thickness = int(rng.integers(1, 7))
        cv2.line(photo, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), _colour(rng), thickness)
    for _ in range(int(rng.integers(3, 9))):
        c = rng.integers(0, (w, h))
        radius, thickness = int(rng.uniform(0.02, 0.12) * side), int(rng.choice([-1, 2, 4]))
        cv2.circle(photo, (int(c[0]), int(c[1])), radius, _colour(rng), thickness, cv2.LINE_AA)
    for _ in range(int(rng.integers(4, 11))):
        words = " ".join(_pick(rng, _WORDS) for _ in range(int(rng.integers(1, 4))))
        if rng.random() < 0.3:
            words += f" {int(rng.integers(1, 10000))}"
        org = (int(rng.integers(0, w - 100)), int(rng.integers(30, h)))
        face, scale = _FONTS[int(rng.integers(len(_FONTS)))], float(rng.uniform(0.8, 2.5))
        colour, thickness = _colour(rng), int(rng.integers(1, 4))
        cv2.putText(photo, words, org, face, scale, colour, thickness, cv2.LINE_AA)
    return photo


def _rotation(axis: FloatArray, angle: float) -> FloatArray:
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.asarray(np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k))


def _projected(tilt_deg: float, tilt_dir: float, roll_deg: float) -> FloatArray:
    """The card's corners (TL, TR, BR, BL) seen by a pinhole camera, centred on the origin."""
    hw, hh = CARD_WIDTH / 2, CARD_HEIGHT / 2
    corners = np.array([[-hw, -hh, 0.0], [hw, -hh, 0.0], [hw, hh, 0.0], [-hw, hh, 0.0]])
    tilt = _rotation(
        np.array([math.cos(tilt_dir), math.sin(tilt_dir), 0.0]), math.radians(tilt_deg)
    )
    roll = _rotation(np.array([0.0, 0.0, 1.0]), math.radians(roll_deg))
    points = corners @ (roll @ tilt).T
    distance = _CAMERA_DISTANCE * CARD_WIDTH
    uv = points[:, :2] * distance / (points[:, 2:] + distance)
    return np.asarray(uv - uv.mean(axis=0), dtype=np.float64)


def _area(quad: FloatArray) -> float:
    return float(cv2.contourArea(quad.astype(np.float32)))


def _place(rng: np.random.Generator, level: DistortionLevel, size: tuple[int, int]) -> FloatArray:
    """Where the card's corners go in the photo: tilted, turned, scaled to an area share."""
    w, h = size
    for attempt in range(_PLACEMENT_TRIES + 1):
        last = attempt == _PLACEMENT_TRIES  # give up on the tilt and the turn
        tilt = 0.0 if last else float(rng.uniform(0, level.max_tilt_deg))
        roll = 0.0 if last else float(rng.uniform(-_MAX_ROLL_DEG, _MAX_ROLL_DEG))
        if not last and rng.random() < _QUARTER_TURN_SHARE:
            roll += 90.0 * int(rng.integers(1, 4))
        quad = _projected(tilt, float(rng.uniform(0, 2 * math.pi)), roll)
        span = quad.max(axis=0) - quad.min(axis=0)
        fit = min(w * (1 - 2 * _MARGIN) / span[0], h * (1 - 2 * _MARGIN) / span[1])
        most = fit * fit * _area(quad) / (w * h)
        if most < level.area[0] and not last:
            continue
        share = float(rng.uniform(level.area[0], min(level.area[1], most)))
        quad = quad * math.sqrt(share * w * h / _area(quad))
        low = -quad.min(axis=0) + np.array([w, h]) * _MARGIN
        high = np.array([w, h]) * (1 - _MARGIN) - quad.max(axis=0)
        return np.asarray(quad + rng.uniform(low, np.maximum(low, high)), dtype=np.float64)
    raise AssertionError("unreachable")  # the last try always returns


@lru_cache(maxsize=1)
def _card_mask() -> Image:
    """The card's shape: a rectangle with rounded (3 mm) corners, 255 inside."""
    mask = np.zeros((CARD_HEIGHT, CARD_WIDTH), np.uint8)
    r = _CORNER_RADIUS_PX
    cv2.rectangle(mask, (r, 0), (CARD_WIDTH - 1 - r, CARD_HEIGHT - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (CARD_WIDTH - 1, CARD_HEIGHT - 1 - r), 255, -1)
    for cx, cy in ((r, r), (CARD_WIDTH - 1 - r, r), (r, CARD_HEIGHT - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
    cv2.circle(mask, (CARD_WIDTH - 1 - r, CARD_HEIGHT - 1 - r), r, 255, -1, cv2.LINE_AA)
    return mask


def _glare(rng: np.random.Generator, card: Image) -> Image:
    """A soft bright ellipse on the card, kept above the ID number's row."""
    ys, xs = np.mgrid[0:CARD_HEIGHT:4, 0:CARD_WIDTH:4].astype(np.float32)
    cx, cy = rng.uniform(0.15, 0.85) * CARD_WIDTH, rng.uniform(0.1, 0.55) * CARD_HEIGHT
    ax, ay = rng.uniform(0.08, 0.2) * CARD_WIDTH, rng.uniform(0.07, 0.16) * CARD_HEIGHT
    angle = rng.uniform(0, math.pi)
    u = ((xs - cx) * math.cos(angle) + (ys - cy) * math.sin(angle)) / ax
    v = (-(xs - cx) * math.sin(angle) + (ys - cy) * math.cos(angle)) / ay
    spot = np.exp(-0.5 * (u * u + v * v)) * float(rng.uniform(0.35, 0.7))
    spot = cv2.resize(spot, (CARD_WIDTH, CARD_HEIGHT), interpolation=cv2.INTER_LINEAR)[..., None]
    lit = card.astype(np.float32) * (1 - spot) + 255.0 * spot
    return np.asarray(lit.round(), dtype=np.uint8)


def _composite(photo: Image, card: Image, quad: FloatArray) -> None:
    """Warp the card (rounded corners) onto the photo so that its corners land on ``quad``."""
    h, w = photo.shape[:2]
    src = np.array([[0, 0], [CARD_WIDTH, 0], [CARD_WIDTH, CARD_HEIGHT], [0, CARD_HEIGHT]])
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), quad.astype(np.float32))
    warped = cv2.warpPerspective(card, matrix, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(_card_mask(), matrix, (w, h), flags=cv2.INTER_LINEAR)
    x0, y0 = np.floor(quad.min(axis=0)).astype(int).clip(0)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int) + 1
    region = (slice(y0, min(y1, h)), slice(x0, min(x1, w)))
    alpha = mask[region].astype(np.float32)[..., None] / 255.0
    mixed = warped[region] * alpha + photo[region] * (1 - alpha)
    photo[region] = mixed.round().astype(np.uint8)


def _camera(rng: np.random.Generator, photo: Image, sigma: float, quality: int) -> Image:
    """Uneven light, lens blur, sensor noise and JPEG, in that order."""
    h, w = photo.shape[:2]
    direction = rng.uniform(0, 2 * math.pi)
    dark, bright = rng.uniform(_LIGHT_RANGE[0], 0.9), rng.uniform(0.95, _LIGHT_RANGE[1])
    ys, xs = np.mgrid[0:h:8, 0:w:8].astype(np.float32)
    t = (xs - w / 2) * math.cos(direction) + (ys - h / 2) * math.sin(direction)
    t = (t - t.min()) / max(float(np.ptp(t)), 1.0)
    gain = cv2.resize(dark + (bright - dark) * t, (w, h), interpolation=cv2.INTER_LINEAR)
    lit = photo.astype(np.float32) * gain[..., None]
    if sigma > 0.3:
        lit = cv2.GaussianBlur(lit, (0, 0), sigma)
    noise = rng.standard_normal((h, w), dtype=np.float32) * _SENSOR_NOISE
    shot = np.clip(lit + noise[..., None], 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", shot, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR), dtype=np.uint8)


def photograph(
    card: Image,
    level: Level,
    rng: np.random.Generator,
    *,
    size: tuple[int, int] = (1600, 1200),
) -> tuple[Image, npt.NDArray[np.float32]]:
    """A photo (BGR, ``size`` = width x height) of ``card`` on a cluttered background at a
    distortion level, and the card's corners in it (float32 4x2: the card's own top-left,
    top-right, bottom-right and bottom-left)."""
    params = LEVELS[level]
    photo = _clutter(rng, size)
    quad = _place(rng, params, size)
    if rng.random() < _GLARE_SHARE:
        card = _glare(rng, card)
    _composite(photo, card, quad)
    sigma = float(rng.uniform(*params.blur_sigma))
    quality = int(rng.integers(params.jpeg_quality[0], params.jpeg_quality[1] + 1))
    return _camera(rng, photo, sigma, quality), quad.astype(np.float32)


def two_cards_photo(
    card_a: Image,
    card_b: Image,
    rng: np.random.Generator,
    *,
    size: tuple[int, int] = (1600, 1200),
) -> Image:
    """Two cards side by side in one photo (for the two-cards-in-one-photo refusal)."""
    w, h = size
    photo = _clutter(rng, size)
    for i, card in enumerate((card_a, card_b)):
        tilt, direction, roll = rng.uniform(0, 8), rng.uniform(0, 2 * math.pi), rng.uniform(-6, 6)
        quad = _projected(float(tilt), float(direction), float(roll))
        span = quad.max(axis=0) - quad.min(axis=0)
        quad = quad * (0.44 * w / span[0])
        centre = np.array([w * (0.26 + 0.48 * i), h * 0.5 + rng.uniform(-0.1, 0.1) * h])
        _composite(photo, card, quad + centre)
    return _camera(rng, photo, float(rng.uniform(0, 1.0)), int(rng.integers(60, 81)))
