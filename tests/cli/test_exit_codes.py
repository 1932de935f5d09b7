"""The CLI's exit codes (0 passed, 1 not passed, 2 unusable input or usage, 3 cannot run), its
errors as one line with their code (never a traceback), what ``verify`` without a challenge
means, and the step deadline in the liveness output."""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from realname.cli.main import app

runner = CliRunner()


def _one_line_error(result: Any, code: str, exit_code: int = 2) -> str:
    """The error line, after checking it is the whole output, with ``code``, no traceback."""
    assert result.exit_code == exit_code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error {code}: "), result.output
    return lines[0]


def _write_clip(path: Path, astronaut: np.ndarray, frames: int = 30) -> Path:
    """A 2 s MJPG clip of the astronaut swaying slightly (no blink, no turn)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (640, 480))
    for i in range(frames):
        matrix = cv2.getRotationMatrix2D((256, 200), 2 * np.sin(i / 6), 1.0)
        writer.write(cv2.resize(cv2.warpAffine(astronaut, matrix, (512, 512)), (640, 480)))
    writer.release()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray) -> Path:
    return _write_clip(tmp_path_factory.mktemp("clip") / "clip.avi", astronaut)


@pytest.fixture(scope="module")
def portrait(tmp_path_factory: pytest.TempPathFactory, astronaut_face: np.ndarray) -> Path:
    path = tmp_path_factory.mktemp("portrait") / "portrait.png"
    cv2.imwrite(str(path), cv2.resize(astronaut_face, (102, 126)))
    return path


@pytest.fixture
def bad(tmp_path: Path) -> SimpleNamespace:
    """Unusable inputs: missing, a folder, empty, text renamed .jpg/.mp4, odd Unicode."""
    folder = tmp_path / "a folder"
    folder.mkdir()
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image\n")
    (tmp_path / "text.mp4").write_text("not a video\n")
    (tmp_path / "照片 ünï.jpg").write_text("not an image either\n")
    return SimpleNamespace(
        missing=tmp_path / "nope.jpg",
        missing_clip=tmp_path / "nope.mp4",
        folder=folder,
        empty=tmp_path / "empty.jpg",
        empty_clip=tmp_path / "empty.mp4",
        text=tmp_path / "text.jpg",
        text_clip=tmp_path / "text.mp4",
        unicode=tmp_path / "照片 ünï.jpg",
        unicode_missing=tmp_path / "証件 ünï ☃.mp4",
    )


# --- exit codes of results -------------------------------------------------------------------


def test_when_the_faces_do_not_match_then_match_exits_1(
    tmp_path: Path, astronaut_face: np.ndarray
) -> None:
    from skimage import data

    ref = tmp_path / "ref.png"
    cv2.imwrite(str(ref), astronaut_face)
    other = tmp_path / "other.jpg"
    cv2.imwrite(str(other), cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR))
    result = runner.invoke(app, ["match", str(ref), str(other)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("NO MATCH")
    as_json = runner.invoke(app, ["match", str(ref), str(other), "--json"])
    assert as_json.exit_code == 1, as_json.output
    assert json.loads(as_json.stdout)["passed"] is False


def test_when_the_faces_match_then_match_exits_0(
    tmp_path: Path, astronaut: np.ndarray, astronaut_face: np.ndarray
) -> None:
    ref, probe = tmp_path / "ref.png", tmp_path / "probe.jpg"
    cv2.imwrite(str(ref), astronaut_face)
    cv2.imwrite(str(probe), astronaut)
    result = runner.invoke(app, ["match", str(ref), str(probe)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("MATCH")


def test_liveness_without_a_challenge_exits_0_and_says_only_passive_checks_ran(
    clip: Path,
) -> None:
    result = runner.invoke(app, ["liveness", str(clip)])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("LIVE") and "(passive checks only: no challenge was given)" in first


def test_when_a_step_is_not_seen_then_liveness_exits_1_and_explains_each_step(
    clip: Path,
) -> None:
    result = runner.invoke(app, ["liveness", str(clip), "--challenge", "blink,turn_left"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("NOT LIVE") and "CHALLENGE_INCOMPLETE" in result.output
    assert "passive checks only" not in result.output
    assert "step blink: no prompt schedule; not seen" in result.output
    assert "step turn_left: no prompt schedule; not seen" in result.output


def test_when_a_step_comes_after_the_step_deadline_then_the_output_says_so(
    clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A right turn at 6.5-7.1 s, 5.8 s after the blink: past the 5 s step deadline of the
    order-only rule, so not counted; every step prints its own ``explain()`` line."""
    from realname.liveness import check
    from realname.liveness.actions import ActionEvent
    from realname.liveness.challenge import match_steps, parse_challenge
    from realname.policy import load_policy

    deadline = load_policy().liveness.step_timeout_s  # type: ignore[union-attr]
    events = (
        ActionEvent("blink", 0.8, 1.2, 1.0, 0.5),
        ActionEvent("turn_right", 6.5, 7.1, 6.8, 25.0),
    )
    challenge = parse_challenge("blink,turn_right")
    steps = match_steps(challenge, events, step_timeout_s=deadline)
    assert steps[0].seen_at_s == 1.0 and steps[1].seen_at_s is None  # the premise
    report = SimpleNamespace(
        passed=False,
        reasons=("CHALLENGE_INCOMPLETE",),
        challenge=challenge.steps,
        steps=steps,
        unprompted=(),
        actions=events,
        checks={},
    )
    monkeypatch.setattr(check, "check_liveness", lambda *args, **kwargs: report)
    monkeypatch.setattr("realname.cli.match.load_liveness_engines", lambda: None)
    result = runner.invoke(app, ["liveness", str(clip), "--challenge", "blink,turn_right"])
    assert result.exit_code == 1, result.output
    for step in steps:  # each step's own explanation, on one line
        assert f"step {step.explain()}\n" in result.output
    assert "after the step deadline" in steps[1].explain()
    assert "actions: blink 0.80-1.20s, turn_right 6.50-7.10s" in result.output


def test_verify_without_a_challenge_is_refused_as_a_usage_error(portrait: Path, clip: Path) -> None:
    result = runner.invoke(app, ["verify", "--portrait", str(portrait), "--video", str(clip)])
    line = _one_line_error(result, "INPUT_INVALID")
    assert "verify needs --challenge" in line and "--no-challenge" in line


def test_verify_with_both_a_challenge_and_no_challenge_is_refused(
    portrait: Path, clip: Path
) -> None:
    args = ["verify", "--portrait", str(portrait), "--video", str(clip)]
    result = runner.invoke(app, [*args, "--challenge", "blink", "--no-challenge"])
    assert "not both" in _one_line_error(result, "INPUT_INVALID")


def test_verify_with_no_challenge_says_which_checks_ran(portrait: Path, clip: Path) -> None:
    args = ["verify", "--portrait", str(portrait), "--video", str(clip), "--no-challenge"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "PASSED (match and passive liveness only: no challenge was given)"
    )
    assert "match: score" in result.output


def test_when_the_challenge_is_not_done_then_verify_fails_and_exits_1(
    portrait: Path, clip: Path
) -> None:
    args = ["verify", "--portrait", str(portrait), "--video", str(clip), "--challenge", "blink"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("FAILED") and "CHALLENGE_INCOMPLETE" in result.output
    assert "no challenge was given" not in result.output
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 1, as_json.output
    assert json.loads(as_json.stdout)["passed"] is False


def test_typer_usage_errors_exit_2() -> None:
    assert runner.invoke(app, ["match"]).exit_code == 2  # a missing argument
    assert runner.invoke(app, ["liveness", "x.mp4", "--bogus"]).exit_code == 2
    assert runner.invoke(app, ["serve", "--port", "eighty"]).exit_code == 2


def test_an_unexpected_error_is_one_line_and_exits_3_never_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python's own exit status for a crash, 1, would read as "not passed"; the user gets one
    sentence, the traceback only with REALNAME_DEBUG=1."""

    def boom(check: bool) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("realname.cli.models._model_rows", boom)
    monkeypatch.setattr(sys, "argv", ["realname", "models"])
    monkeypatch.delenv("REALNAME_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        app()
    assert exited.value.code == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "boom" not in err
    assert err.count("\n") == 1 and err.startswith("error INTERNAL:") and "RuntimeError" in err

    monkeypatch.setenv("REALNAME_DEBUG", "1")
    with pytest.raises(SystemExit) as exited:
        app()
    assert exited.value.code == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err and "error INTERNAL" in err


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command's path (Typer's groups have ``commands``)."""
    if hasattr(group, "commands"):
        found = []
        for name, command in group.commands.items():
            found += _commands(command, (*path, name))
        return found
    return [path]


def test_every_command_documents_the_exit_codes_in_its_help() -> None:
    commands = _commands(typer.main.get_command(app))
    assert ("verify",) in commands and ("audit", "verify") in commands
    assert len(commands) > 15
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        text = " ".join(result.output.split())
        for code in ("Exit codes: 0 passed", "1 not passed", "2 unusable input", "3 cannot run"):
            assert code in text, (path, code)


def test_verify_help_says_what_passed_means_and_that_a_challenge_is_required() -> None:
    text = " ".join(runner.invoke(app, ["verify", "--help"]).output.split())
    assert "PASSED means every check ran and passed" in text
    assert "A challenge is required" in text
    assert "PASSED (match and passive liveness only: no challenge was given)" in text


# --- unusable inputs: one line with its code, exit 2 ----------------------------------------


@pytest.mark.parametrize(
    ("which", "code", "says"),
    [
        ("missing", "INPUT_INVALID", "does not exist"),
        ("folder", "INPUT_INVALID", "is a folder, not a file"),
        ("empty", "IMAGE_EMPTY", "empty"),
        ("text", "IMAGE_TYPE", "not a supported image"),
        ("unicode", "IMAGE_TYPE", "not a supported image"),
        ("unicode_missing", "INPUT_INVALID", "証件 ünï ☃.mp4 does not exist"),
    ],
)
def test_match_with_an_unusable_reference_is_one_line_with_its_code(
    bad: SimpleNamespace, astronaut: np.ndarray, which: str, code: str, says: str
) -> None:
    probe = bad.folder.parent / "probe.jpg"
    cv2.imwrite(str(probe), astronaut)
    result = runner.invoke(app, ["match", str(getattr(bad, which)), str(probe)])
    assert says in _one_line_error(result, code)


def test_match_with_a_missing_probe_names_it(
    bad: SimpleNamespace, astronaut_face: np.ndarray
) -> None:
    ref = bad.folder.parent / "ref.png"
    cv2.imwrite(str(ref), astronaut_face)
    result = runner.invoke(app, ["match", str(ref), str(bad.missing)])
    assert f"{bad.missing} does not exist" in _one_line_error(result, "INPUT_INVALID")


@pytest.mark.parametrize(
    ("which", "code", "says"),
    [
        ("missing_clip", "INPUT_INVALID", "does not exist"),
        ("folder", "VIDEO_EMPTY", "holds no image frames"),
        ("empty_clip", "VIDEO_EMPTY", "empty"),
        ("text_clip", "VIDEO_TYPE", "not a supported video"),
        ("unicode_missing", "INPUT_INVALID", "証件 ünï ☃.mp4 does not exist"),
    ],
)
def test_liveness_and_verify_with_an_unusable_clip_are_one_line_with_its_code(
    bad: SimpleNamespace, portrait: Path, which: str, code: str, says: str
) -> None:
    video = str(getattr(bad, which))
    result = runner.invoke(app, ["liveness", video, "--challenge", "blink"])
    assert says in _one_line_error(result, code)
    args = ["verify", "--portrait", str(portrait), "--video", video, "--challenge", "blink"]
    assert says in _one_line_error(runner.invoke(app, args), code)


@pytest.mark.parametrize(
    ("which", "says"),
    [("missing", "does not exist"), ("folder", "is a folder, not a file")],
)
def test_verify_with_an_unusable_portrait_is_one_line_with_its_code(
    bad: SimpleNamespace, clip: Path, which: str, says: str
) -> None:
    args = ["verify", "--portrait", str(getattr(bad, which)), "--video", str(clip)]
    result = runner.invoke(app, [*args, "--challenge", "blink"])
    assert says in _one_line_error(result, "INPUT_INVALID")


def test_a_plot_into_a_missing_folder_is_refused_before_any_work(
    bad: SimpleNamespace, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: Any) -> Any:
        raise AssertionError("the engines loaded before the plot's folder was checked")

    monkeypatch.setattr("realname.cli.match.load_liveness_engines", never)
    plot = bad.folder.parent / "no such folder" / "plot.png"
    result = runner.invoke(app, ["liveness", str(clip), "--plot", str(plot)])
    line = _one_line_error(result, "INPUT_INVALID")
    assert f"cannot write {plot}: the folder {plot.parent} does not exist" in line


def test_a_file_that_cannot_be_read_is_one_line(
    bad: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root reads a chmod 000 file anyway: the permission check is simulated."""
    monkeypatch.setattr("realname.cli.common.os.access", lambda path, mode: False)
    result = runner.invoke(app, ["match", str(bad.text), str(bad.text)])
    assert "cannot be read (permission denied)" in _one_line_error(result, "INPUT_INVALID")


def test_an_os_error_past_the_checks_is_one_line_naming_the_file(
    bad: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: Path) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr("realname.records.audit.read_export", refuse)
    result = runner.invoke(app, ["audit", "verify", str(bad.text)])
    line = _one_line_error(result, "INPUT_INVALID")
    assert line == f"error INPUT_INVALID: {bad.text}: permission denied"


def test_a_file_name_that_is_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("POSIX file names are bytes")
    name = Path(tmp_path / "\udcffportrait.jpg")  # the byte 0xff, as Python keeps it
    result = runner.invoke(app, ["match", str(name), str(name)])
    assert "\\xffportrait.jpg does not exist" in _one_line_error(result, "INPUT_INVALID")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--data", "{tmp}/absent"], "data folder {tmp}/absent does not exist"),
        (["--data", "{tmp}", "--out", "{tmp}/absent/policy.json"], "the folder {tmp}/absent"),
        (["--data", "{tmp}", "--out", "{tmp}"], "is a folder: give a file name to write"),
    ],
)
def test_calibrate_refuses_a_missing_data_folder_or_an_unwritable_policy_file(
    tmp_path: Path, args: list[str], says: str
) -> None:
    result = runner.invoke(app, ["calibrate", *(a.format(tmp=tmp_path) for a in args)])
    assert says.format(tmp=tmp_path) in _one_line_error(result, "INPUT_INVALID")
    assert not (tmp_path / "absent").exists()


def test_eval_json_into_a_missing_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "absent" / "attacks.json"
    result = runner.invoke(app, ["eval", "attacks", "--json", str(out)])  # 100,000 draws
    assert "cannot write" in _one_line_error(result, "INPUT_INVALID")
    result = runner.invoke(app, ["eval", "match", "--data", str(tmp_path), "--json", str(out)])
    assert "cannot write" in _one_line_error(result, "INPUT_INVALID")


@pytest.mark.parametrize(
    ("which", "says"),
    [
        ("missing", "does not exist"),
        ("folder", "is a folder, not a file"),
        ("text", "line 1 of text.jpg is not an audit record"),
        ("binary", "is not an audit export (not UTF-8 text)"),
    ],
)
def test_audit_verify_with_an_unusable_export_is_one_line_with_its_code(
    bad: SimpleNamespace, which: str, says: str
) -> None:
    binary = bad.folder.parent / "binary.jsonl"
    binary.write_bytes(bytes(range(256)))
    export = binary if which == "binary" else getattr(bad, which)
    result = runner.invoke(app, ["audit", "verify", str(export)])
    assert says in _one_line_error(result, "INPUT_INVALID")


@pytest.mark.parametrize(
    ("which", "says"), [("missing", "does not exist"), ("text", "is not a PEM public key")]
)
def test_audit_verify_with_an_unusable_public_key_is_one_line(
    bad: SimpleNamespace, which: str, says: str
) -> None:
    args = ["audit", "verify", str(bad.empty), "--public-key", str(getattr(bad, which))]
    assert says in _one_line_error(runner.invoke(app, args), "INPUT_INVALID")


def test_audit_export_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "absent" / "audit.jsonl"
    result = runner.invoke(app, ["audit", "export", "--out", str(out)])
    assert "cannot write" in _one_line_error(result, "INPUT_INVALID")


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_https_needs_both_files_and_each_must_exist(tmp_path: Path, command: str) -> None:
    key = tmp_path / "key.pem"
    key.write_text("key")
    result = runner.invoke(app, [command, "--ssl-keyfile", str(key)])
    assert "needs both --ssl-keyfile and --ssl-certfile" in _one_line_error(result, "INPUT_INVALID")
    missing = tmp_path / "cert.pem"
    result = runner.invoke(
        app, [command, "--ssl-keyfile", str(key), "--ssl-certfile", str(missing)]
    )
    assert f"{missing} does not exist" in _one_line_error(result, "INPUT_INVALID")


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--engine", "bogus"], "--engine bogus is not an embedding engine; known: sface"),
        (["--fmr", "1e-9"], "--fmr 1e-9 is not an operating point of sface; known: 1e-3"),
    ],
)
def test_a_bad_engine_or_operating_point_is_a_usage_error(
    tmp_path: Path, astronaut: np.ndarray, option: list[str], says: str
) -> None:
    probe = tmp_path / "probe.jpg"
    cv2.imwrite(str(probe), astronaut)
    result = runner.invoke(app, ["match", str(probe), str(probe), *option])
    assert says in _one_line_error(result, "INPUT_INVALID")


def test_calibrate_refuses_an_unknown_engine_before_writing_anything(tmp_path: Path) -> None:
    out = tmp_path / "policy.json"
    args = ["calibrate", "--data", str(tmp_path), "--engine", "bogus", "--out", str(out)]
    result = runner.invoke(app, args)
    assert "--engine bogus is not an embedding engine" in _one_line_error(result, "INPUT_INVALID")
    assert not out.exists()
