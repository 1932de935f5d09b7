import sys
from pathlib import Path

import pytest

from realname import models
from realname.errors import ModelFileError
from realname.models import MODEL_FILES, ModelFile, resolve_model


def test_every_pinned_model_file_is_installed_and_intact() -> None:
    for key in MODEL_FILES:
        assert resolve_model(key).is_file()


@pytest.fixture()
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "fake_models_pkg"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models" / "net.onnx").write_bytes(b"weights")
    monkeypatch.syspath_prepend(str(tmp_path))
    return pkg


def test_when_a_model_file_is_altered_then_a_clear_setup_error(
    fake_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = ModelFile("fake", "fake_models_pkg", "fake==1", "models/net.onnx", "0" * 64, "none")
    monkeypatch.setitem(MODEL_FILES, "fake", entry)
    with pytest.raises(ModelFileError, match="SHA-256"):
        resolve_model("fake")
    assert "fake_models_pkg" not in sys.modules  # found, never imported


def test_when_a_model_file_is_missing_then_a_clear_setup_error(
    fake_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = ModelFile("fake", "fake_models_pkg", "fake==1", "models/gone.onnx", "0" * 64, "none")
    monkeypatch.setitem(MODEL_FILES, "fake", entry)
    with pytest.raises(ModelFileError, match="missing"):
        resolve_model("fake")


def test_when_the_package_is_not_installed_then_the_error_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = ModelFile("fake", "no_such_pkg_xyz", "no-such==1", "m.onnx", "0" * 64, "none")
    monkeypatch.setitem(MODEL_FILES, "fake", entry)
    with pytest.raises(ModelFileError, match="no-such==1"):
        models.resolve_model("fake")
