import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from realname.cli.main import app

runner = CliRunner()


def _write(folder: Path, name: str, image: np.ndarray) -> Path:
    path = folder / name
    cv2.imwrite(str(path), image)
    return path


def test_match_json_reports_a_match(
    tmp_path: Path, astronaut: np.ndarray, astronaut_face: np.ndarray
) -> None:
    ref = _write(tmp_path, "ref.png", astronaut_face)
    probe = _write(tmp_path, "probe.jpg", astronaut)
    result = runner.invoke(app, ["match", str(ref), str(probe), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["passed"] is True
    assert payload["threshold"] > 0 and payload["engine"] == "sface"


def test_match_on_a_corrupt_image_exits_2_with_a_stable_code(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    probe = _write(tmp_path, "probe.jpg", astronaut)
    result = runner.invoke(app, ["match", str(bad), str(probe)])
    assert result.exit_code == 2
    assert "IMAGE_CORRUPT" in result.output
    assert "Traceback" not in result.output


def test_models_check_verifies_every_file() -> None:
    result = runner.invoke(app, ["models", "--check"])
    assert result.exit_code == 0, result.output
    from realname.engines.models import MODEL_FILES

    assert result.output.count("sha256 ok") == len(MODEL_FILES) == 10


def test_models_lists_licence_sha256_extra_and_warns_about_the_68_point_model() -> None:
    from realname.engines.models import MODEL_FILES

    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    for model in MODEL_FILES.values():
        assert model.licence in result.output
        assert f"{model.sha256[:8]}…{model.sha256[-4:]}" in result.output
    assert "realname[dlib]" in result.output
    warning = next(line for line in result.output.splitlines() if "licence warning" in line)
    assert "dlib_shape68" in warning and "commercial" in warning
    assert "pip install 'realname[dlib]'" in warning


def test_models_json_gives_the_full_sha256_and_the_extra() -> None:
    from realname.engines.models import MODEL_FILES

    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in json.loads(result.output)}
    assert set(rows) == set(MODEL_FILES)
    for key, model in MODEL_FILES.items():
        assert rows[key]["sha256"] == model.sha256 and len(model.sha256) == 64
        assert rows[key]["licence"] == model.licence
        assert rows[key]["extra"] == model.extra
        assert rows[key]["commercial_use"] is model.commercial_use
    assert rows["dlib_shape68"]["commercial_use"] is False
    assert rows["dlib_shape68"]["install"] == "pip install 'realname[dlib]'"


def test_models_check_passes_without_the_dlib_extra_and_says_it_is_optional(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "face_recognition_models", None)  # not installed
    result = runner.invoke(app, ["models", "--check"])
    assert result.exit_code == 0, result.output
    assert result.output.count("sha256 ok") == 7  # the default install (4 face, 3 OCR)
    assert result.output.count("not installed (optional: realname[dlib])") == 3


def test_models_check_fails_for_an_altered_file_of_the_default_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    from realname.engines import models

    altered = dataclasses.replace(models.MODEL_FILES["yunet"], sha256="0" * 64)
    monkeypatch.setitem(models.MODEL_FILES, "yunet", altered)
    monkeypatch.setattr(models, "_verified", {})
    result = runner.invoke(app, ["models", "--check"])
    assert result.exit_code == 3
    assert "MODEL_FILE" in result.output


def test_an_engine_of_a_missing_extra_is_one_line_naming_the_pip_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "dlib", None)  # `import dlib` fails
    ref, probe = tmp_path / "ref.jpg", tmp_path / "probe.jpg"
    result = runner.invoke(app, ["match", str(ref), str(probe), "--engine", "dlib-resnet"])
    assert result.exit_code == 3
    text = " ".join(result.output.split())
    assert "EXTRA_NOT_INSTALLED" in text and "pip install 'realname[dlib]'" in text
    assert "Traceback" not in result.output


def test_eval_match_refuses_a_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "match", "--data", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_demo_runs_on_packaged_images_and_prepares_the_demo_service(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    args = ["demo", "--no-serve", "--database", str(database)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "\nMATCH" in result.output and "NO MATCH" in result.output
    assert "http://127.0.0.1:8000" in result.output
    assert "demo-clerk" in result.output and "demo-supervisor" in result.output
    assert "demo-auditor" in result.output
    assert (tmp_path / "demo.db.keys.json").exists()
    again = runner.invoke(app, args)  # a second run resets the passwords
    assert again.exit_code == 0, again.output


def test_liveness_and_verify_commands_on_a_clip(
    tmp_path: Path, astronaut: np.ndarray, astronaut_face: np.ndarray
) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (640, 480))
    for i in range(30):
        matrix = cv2.getRotationMatrix2D((256, 200), 2 * np.sin(i / 6), 1.0)
        writer.write(cv2.resize(cv2.warpAffine(astronaut, matrix, (512, 512)), (640, 480)))
    writer.release()
    plot = tmp_path / "plot.png"
    result = runner.invoke(
        app, ["liveness", str(video), "--challenge", "blink", "--json", "--plot", str(plot)]
    )
    assert result.exit_code == 1, result.output  # NOT LIVE is a result: exit 1
    payload = json.loads(result.stdout)
    assert payload["passed"] is False and "CHALLENGE_INCOMPLETE" in payload["reasons"]
    assert plot.stat().st_size > 10_000
    portrait = _write(tmp_path, "portrait.png", cv2.resize(astronaut_face, (102, 126)))
    result = runner.invoke(
        app,
        ["verify", "--portrait", str(portrait), "--video", str(video), "--no-challenge", "--json"],
    )
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert set(verdict) == {"passed", "reasons", "liveness", "match", "timings_ms"}
    assert verdict["passed"] is True and verdict["match"]["score"] > verdict["match"]["threshold"]
    assert {"actions", "steps", "checks"} <= set(verdict["liveness"])


def test_verify_refuses_a_corrupt_clip(tmp_path: Path, astronaut_face: np.ndarray) -> None:
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    portrait = _write(tmp_path, "portrait.png", astronaut_face)
    args = ["verify", "--portrait", str(portrait), "--video", str(video), "--challenge", "blink"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "VIDEO_" in result.output


def test_when_a_setting_is_invalid_then_serve_prints_one_sentence_naming_it() -> None:
    result = runner.invoke(app, ["serve"], env={"REALNAME_WORKERS": "abc"})
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.output.strip()
    assert "REALNAME_WORKERS" in message and "Traceback" not in message
    assert len(message.splitlines()) == 1, message
    assert "abc" not in message  # the value is not echoed (a setting may be a key)


def test_demo_leaves_nothing_in_the_system_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    database = tmp_path / "demo" / "demo.db"
    database.parent.mkdir()
    result = runner.invoke(app, ["demo", "--no-serve", "--database", str(database)])
    assert result.exit_code == 0, result.output
    assert list(system_temp.iterdir()) == []
    images = database.parent / "demo-images"
    assert (images / "id_portrait_102x126.png").exists()
    assert str(images) in result.output.replace("\n", "")


def test_a_supervisor_of_every_outlet_is_created_only_when_asked_for(tmp_path: Path) -> None:
    env = {"REALNAME_DATABASE_URL": f"sqlite:///{tmp_path / 'rn.db'}", "REALNAME_DEV_MODE": "1"}
    base = ["admin", "create-user", "regional", "--role", "supervisor", "--password", "x" * 12]
    refused = runner.invoke(app, base, env=env)
    assert refused.exit_code == 2 and "--all-outlets" in refused.output, refused.output
    made = runner.invoke(app, [*base, "--all-outlets"], env=env)
    assert made.exit_code == 0, made.output
    assert "regional (supervisor, outlet all outlets)" in made.output


def test_eval_attacks_prints_both_rules_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "attacks.json"
    args = ["eval", "attacks", "--draws", "300", "--phases", "2", "--json", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "order-only rule" in result.stdout and "prompt-locked rule" in result.stdout
    payload = json.loads(out.read_text())
    assert payload["worst_old"]["pass"] == 1.0 and payload["worst_new"]["pass"] == 0.0


def test_eval_attacks_with_a_missing_data_folder_exits_with_an_input_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "attacks", "--data", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "INPUT_INVALID" in result.output


def test_eval_passive_with_a_missing_data_folder_exits_with_an_input_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "passive", "--data", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "INPUT_INVALID" in result.output


def test_eval_attacks_refuses_tolerances_without_data_before_any_work() -> None:
    # the default 100,000 draws would run for minutes before the usage error; now none run
    result = runner.invoke(app, ["eval", "attacks", "--tolerances"])
    assert result.exit_code == 2
    assert "INPUT_INVALID" in result.output and "--tolerances needs --data" in result.output
    assert "order-only rule" not in result.output
