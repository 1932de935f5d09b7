"""The card generator: made-up people with valid numbers and validity by the age rule, cards
rendered at the rectified size, and photos of them whose card corners are known."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from realname.cards.reading import CARD_HEIGHT, CARD_WIDTH, FIELD_NAMES
from realname.errors import SetupError
from realname.evaluation import cardgen
from realname.identity.idcard import check_character, parse_id_number

TODAY = date(2026, 12, 2)
PEOPLE = 300
SIZE = (1600, 1200)
AREA = {"moderate": (0.40, 0.80), "hard": (0.25, 0.40)}


@pytest.fixture(scope="module")
def people() -> list[cardgen.SyntheticPerson]:
    rng = np.random.default_rng(2026)
    return [cardgen.make_person(rng, today=TODAY) for _ in range(PEOPLE)]


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return cardgen.default_portrait()


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _expected_years(age_at_issue: int) -> int | None:
    if age_at_issue < 16:
        return 5
    if age_at_issue < 26:
        return 10
    if age_at_issue < 46:
        return 20
    return None


def test_every_number_has_a_valid_check_character_the_sex_parity_and_the_birth_date(
    people,
) -> None:
    regions = {code for code, *_ in cardgen.REGIONS}
    for person in people:
        number = person.id_number
        assert len(number) == 18 and number[17] == check_character(number[:17])
        parsed = parse_id_number(number, today=TODAY)
        assert parsed.birth_date == person.birth_date
        assert parsed.sex == ("male" if person.sex == "男" else "female")
        assert parsed.region in regions
    assert {p.sex for p in people} == {"男", "女"}


def test_people_look_real_names_addresses_ethnicities_and_ages(people) -> None:
    places = {
        code: province + city + district for code, province, city, district in cardgen.REGIONS
    }
    for person in people:
        assert 2 <= len(person.name) <= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", person.name)
        assert 11 <= len(person.address) <= 33 and " " not in person.address
        assert person.address.startswith(places[person.id_number[:6]])
        assert person.issuing_authority.endswith("分局") and "公安局" in person.issuing_authority
    ages = [_age(p.birth_date, TODAY) for p in people]
    assert min(ages) >= 5 and max(ages) <= 80
    assert 0.85 <= sum(16 <= a <= 80 for a in ages) / len(ages) < 1.0  # a few children
    ethnicities = [p.ethnicity for p in people]
    assert 0.75 <= ethnicities.count("汉") / len(ethnicities) < 0.95
    assert set(ethnicities) <= {"汉", "回", "满", "壮", "维吾尔", "蒙古", "藏", "土家"}
    assert len({p.name[0] for p in people}) > 30  # many surnames, not one


def test_validity_follows_the_age_rule_and_the_card_is_valid_today(people) -> None:
    lengths = set()
    for person in people:
        years = _expected_years(_age(person.birth_date, person.valid_from))
        lengths.add(years)
        assert person.birth_date < person.valid_from < TODAY
        if years is None:
            assert person.valid_until is None
        else:
            assert person.valid_until == person.valid_from.replace(
                year=person.valid_from.year + years,
                day=min(person.valid_from.day, 28 if person.valid_from.month == 2 else 31),
            )
            assert person.valid_until > TODAY
    assert lengths == {5, 10, 20, None}


def test_an_expired_card_still_follows_the_age_rule() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        person = cardgen.make_person(rng, today=TODAY, expired=True)
        assert person.valid_until is not None and person.valid_until < TODAY
        years = _expected_years(_age(person.birth_date, person.valid_from))
        assert years is not None and person.valid_until.year - person.valid_from.year == years
        parse_id_number(person.id_number, today=TODAY)


def test_values_are_the_canonical_text_of_every_field(people) -> None:
    long_term = next(p for p in people if p.valid_until is None)
    values = long_term.values()
    assert tuple(values) == FIELD_NAMES
    assert values["valid_until"] == "长期"
    assert values["birth_date"] == long_term.birth_date.isoformat()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", values["valid_from"])
    dated = next(p for p in people if p.valid_until is not None)
    assert dated.values()["valid_until"] == dated.valid_until.isoformat()


def test_sides_are_rendered_at_the_rectified_size_with_the_number_and_the_portrait(
    people, portrait
) -> None:
    front, back = cardgen.render_front(people[0], portrait), cardgen.render_back(people[0])
    for side in (front, back):
        assert side.shape == (CARD_HEIGHT, CARD_WIDTH, 3) and side.dtype == np.uint8
    grey = cv2.cvtColor(front, cv2.COLOR_BGR2GRAY)
    assert (grey[445:485, 285:810] < 80).mean() > 0.1  # the number's black OCR-B digits
    assert (grey[20:60, 285:810] < 80).mean() < 0.01  # nothing printed above the portrait
    assert grey[60:380, 550:810].std() > 30  # the portrait
    other = cardgen.render_front(replace(people[0], name="王小明"), portrait)
    assert np.any(other[70:110, 150:300] != front[70:110, 150:300])  # the name's place
    red = (back[..., 2] > 150) & (back[..., 1] < 80) & (back[..., 0] < 80)
    assert red[40:180, 60:200].mean() > 0.2  # the red emblem


def test_the_same_seed_gives_the_same_bytes(portrait) -> None:
    def make(seed: int) -> list[bytes]:
        rng = np.random.default_rng(seed)
        person = cardgen.make_person(rng, today=TODAY)
        front, back = cardgen.render_front(person, portrait), cardgen.render_back(person)
        photos = [cardgen.photograph(front, level, rng)[0] for level in ("moderate", "hard")]
        photos.append(cardgen.two_cards_photo(front, back, rng))
        return [image.tobytes() for image in (front, back, *photos)]

    first = make(11)
    assert make(11) == first
    assert all(a != b for a, b in zip(make(12), first, strict=True))


@pytest.mark.parametrize("level", ["moderate", "hard"])
def test_the_card_lands_on_its_quad_inside_the_photo_at_the_level_s_area(
    level, people, portrait
) -> None:
    rng = np.random.default_rng(3)
    low, high = AREA[level]
    turned = 0
    for person in people[:12]:
        card = cardgen.render_front(person, portrait)
        photo, quad = cardgen.photograph(card, level, rng)
        assert photo.shape == (SIZE[1], SIZE[0], 3) and photo.dtype == np.uint8
        assert quad.shape == (4, 2) and quad.dtype == np.float32
        assert (quad >= 0).all() and (quad[:, 0] < SIZE[0]).all() and (quad[:, 1] < SIZE[1]).all()
        assert low - 1e-3 <= cv2.contourArea(quad) / (SIZE[0] * SIZE[1]) <= high + 1e-3
        src = np.array(
            [[0, 0], [CARD_WIDTH, 0], [CARD_WIDTH, CARD_HEIGHT], [0, CARD_HEIGHT]], np.float32
        )
        back = cv2.getPerspectiveTransform(quad, src)
        flat = cv2.warpPerspective(photo, back, (CARD_WIDTH, CARD_HEIGHT))
        a, b = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(np.float64) for x in (flat, card))
        inner = (slice(40, -40), slice(40, -40))
        assert np.corrcoef(a[inner].ravel(), b[inner].ravel())[0, 1] > 0.6  # corners in order
        turned += int(np.argmin(quad.sum(axis=1)) != 0)  # a corner other than TL is top-left
    assert turned < 12


def test_a_quarter_turn_happens_now_and_then() -> None:
    rng = np.random.default_rng(8)
    card = np.full((CARD_HEIGHT, CARD_WIDTH, 3), 200, np.uint8)
    portrait_like = 0
    for _ in range(60):
        _, quad = cardgen.photograph(card, "moderate", rng, size=(640, 480))
        width = np.linalg.norm(quad[1] - quad[0])
        height = np.linalg.norm(quad[3] - quad[0])
        top_edge = quad[1] - quad[0]
        portrait_like += int(abs(top_edge[1]) > abs(top_edge[0]) or width < height)
    assert 1 <= portrait_like <= 20


def test_two_cards_share_one_photo_side_by_side() -> None:
    rng = np.random.default_rng(4)
    green = np.zeros((CARD_HEIGHT, CARD_WIDTH, 3), np.uint8)
    green[..., 1] = 255
    red = np.zeros_like(green)
    red[..., 2] = 255
    photo = cardgen.two_cards_photo(green, red, rng)
    assert photo.shape == (SIZE[1], SIZE[0], 3) and photo.dtype == np.uint8
    b, g, r = (photo[..., i].astype(np.int16) for i in range(3))
    is_green, is_red = (g > r + 100) & (g > b + 100), (r > g + 100) & (r > b + 100)
    half = SIZE[0] // 2
    for card, here, there in ((is_green, slice(0, half), slice(half, None)),
                              (is_red, slice(half, None), slice(0, half))):  # fmt: skip
        assert card[:, here].mean() > 0.2  # a card takes much of its half
        assert card[:, there].mean() < 0.05


def test_a_missing_font_names_the_debian_package(monkeypatch, people, portrait, tmp_path) -> None:
    missing = cardgen.FontFile(Path(tmp_path / "wqy-microhei.ttc"), "fonts-wqy-microhei")
    monkeypatch.setattr(cardgen, "HEI_FONT", missing)
    with pytest.raises(SetupError, match="fonts-wqy-microhei"):
        cardgen.render_front(people[0], portrait)
