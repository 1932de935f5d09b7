"""``realname idcard``: a photographed card read, with the documented exit codes (0 every check
passed, 1 read with reasons, 2 no card or an unusable file), and ``eval idcard``'s refusals."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from realname.cli.main import app
from realname.evaluation import cardgen

runner = CliRunner()
TODAY = "2026-12-02"


def _card_photos(tmp_path: Path, seed: int, **kwargs) -> tuple[cardgen.SyntheticPerson, Path, Path]:
    rng = np.random.default_rng(seed)
    person = cardgen.make_person(rng, today=date(2026, 12, 2), **kwargs)
    front, _ = cardgen.photograph(
        cardgen.render_front(person, cardgen.default_portrait()), "moderate", rng
    )
    back, _ = cardgen.photograph(cardgen.render_back(person), "moderate", rng)
    paths = tmp_path / "front.jpg", tmp_path / "back.jpg"
    cv2.imwrite(str(paths[0]), front)
    cv2.imwrite(str(paths[1]), back)
    return person, *paths


def test_a_card_read_with_every_check_passed_exits_0_and_prints_json(tmp_path: Path) -> None:
    person, front, back = _card_photos(tmp_path, 21)
    portrait = tmp_path / "printed.png"
    result = runner.invoke(
        app,
        ["idcard", str(front), str(back), "--json", "--today", TODAY, "--portrait", str(portrait)],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert {f["name"]: f["text"] for f in payload["fields"]} == person.values()
    assert payload["passed"] is True and payload["engine"] == "rapidocr"
    assert cv2.imread(str(portrait)) is not None


def test_an_expired_card_exits_1_with_its_reason(tmp_path: Path) -> None:
    _, front, back = _card_photos(tmp_path, 22, expired=True)
    result = runner.invoke(app, ["idcard", str(front), str(back), "--today", TODAY])
    assert result.exit_code == 1, result.output
    assert "CARD_EXPIRED" in result.output and "READ WITH REASONS" in result.output


def test_no_card_or_a_missing_file_exits_2_with_one_line(tmp_path: Path) -> None:
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.full((480, 640, 3), 128, np.uint8))
    result = runner.invoke(app, ["idcard", str(grey)])
    assert result.exit_code == 2
    assert "error CARD_NOT_FOUND" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["idcard", str(tmp_path / "missing.jpg")])
    assert result.exit_code == 2 and "error INPUT_INVALID" in result.output
    result = runner.invoke(app, ["idcard", str(grey), "--today", "yesterday"])
    assert result.exit_code == 2 and "--today" in result.output


def test_eval_idcard_refuses_an_unknown_level(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "idcard", "--generated", "1", "--level", "easy"])
    assert result.exit_code == 2 and "--level easy" in result.output
