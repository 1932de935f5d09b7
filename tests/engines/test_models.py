import sys
from pathlib import Path

import pytest

from realname.cards import CARD_READERS
from realname.engines import DETECTORS, EMBEDDERS, LANDMARKERS, models
from realname.engines.models import ENGINE_MODELS, MODEL_FILES, ModelFile, resolve_model
from realname.errors import ExtraNotInstalledError, ModelFileError
from realname.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
#: SPDX ids of licences that allow commercial use, for the models of the default install.
ALLOWED_LICENCES = ("MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "CC0-1.0")
REGISTRIES = {**DETECTORS, **EMBEDDERS, **LANDMARKERS, **CARD_READERS}


def test_every_pinned_model_file_is_installed_and_intact() -> None:
    for key in MODEL_FILES:
        assert resolve_model(key).is_file()


def _fake(package: str, pip_spec: str, path: str, extra: str | None = None) -> ModelFile:
    return ModelFile(
        "fake", package, pip_spec, path, "0" * 64, "none", commercial_use=True, extra=extra
    )


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
    entry = _fake("fake_models_pkg", "fake==1", "models/net.onnx")
    monkeypatch.setitem(MODEL_FILES, "fake", entry)
    with pytest.raises(ModelFileError, match="SHA-256"):
        resolve_model("fake")
    assert "fake_models_pkg" not in sys.modules  # found, never imported


def test_when_a_model_file_is_missing_then_a_clear_setup_error(
    fake_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _fake("fake_models_pkg", "fake==1", "models/gone.onnx")
    monkeypatch.setitem(MODEL_FILES, "fake", entry)
    with pytest.raises(ModelFileError, match="missing"):
        resolve_model("fake")


def test_when_the_package_is_not_installed_then_the_error_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = _fake("no_such_pkg_xyz", "no-such==1", "m.onnx")
    monkeypatch.setitem(MODEL_FILES, "fake", entry)
    with pytest.raises(ModelFileError, match="no-such==1") as caught:
        models.resolve_model("fake")
    assert not isinstance(caught.value, ExtraNotInstalledError)  # the default install is broken


def test_when_an_optional_package_is_not_installed_then_the_error_names_its_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(MODEL_FILES, "fake", _fake("no_such_pkg_xyz", "no-such==1", "m", "dlib"))
    with pytest.raises(ExtraNotInstalledError, match=r"pip install 'realname\[dlib\]'"):
        models.resolve_model("fake")


def _default_engines() -> list[str]:
    """The engines of the default settings (field defaults: the environment plays no part)."""
    fields = Settings.model_fields
    names = ("face_detector", "face_embedder", "landmarker", "card_reader")
    return [str(fields[name].default) for name in names]


def _licence_row(engine: str) -> str:
    card = ROOT / "docs" / "model-cards" / f"{engine}.md"
    assert card.is_file(), f"{engine} has no model card"
    rows = [line for line in card.read_text().splitlines() if line.startswith("| Licence |")]
    assert len(rows) == 1, f"{card.name} needs one '| Licence |' row"
    return rows[0]


def test_every_registered_engine_names_the_model_files_it_loads() -> None:
    assert set(ENGINE_MODELS) == set(REGISTRIES)
    used = {key for keys in ENGINE_MODELS.values() for key in keys}
    assert used == set(MODEL_FILES)


@pytest.mark.parametrize("engine", sorted(ENGINE_MODELS))
def test_an_engine_loads_exactly_the_model_files_listed_for_it(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = REGISTRIES[engine]()
    module = sys.modules[type(instance).__module__]
    loaded: list[str] = []

    def recording(key: str, *, verify: bool = True) -> Path:
        loaded.append(key)
        return resolve_model(key, verify=verify)

    monkeypatch.setattr(module, "resolve_model", recording)
    instance.load()  # type: ignore[attr-defined]
    assert sorted(set(loaded)) == sorted(ENGINE_MODELS[engine])


@pytest.mark.parametrize("engine", _default_engines())
def test_the_default_engines_models_allow_commercial_use(engine: str) -> None:
    row = _licence_row(engine)
    for key in ENGINE_MODELS[engine]:
        model = MODEL_FILES[key]
        spdx = model.licence.split()[0]
        assert spdx in ALLOWED_LICENCES, f"{key}: {model.licence}"
        assert model.commercial_use, key
        assert model.extra is None, f"{key} of a default engine sits in an extra"
        assert spdx in row, f"the model card of {engine} names another licence than {spdx}"


@pytest.mark.parametrize("engine", sorted(ENGINE_MODELS))
def test_every_engine_has_a_model_card_naming_its_licence(engine: str) -> None:
    row = _licence_row(engine)
    for key in ENGINE_MODELS[engine]:
        model = MODEL_FILES[key]
        assert model.licence.split()[0] in row, f"{engine}.md: {model.licence}"
        if not model.commercial_use:
            assert "NOT for commercial use" in row


def test_the_default_install_carries_no_model_that_forbids_commercial_use() -> None:
    for key, model in MODEL_FILES.items():
        if not model.commercial_use:
            assert model.extra is not None, f"{key} forbids commercial use but is installed"
    assert MODEL_FILES["dlib_shape68"].commercial_use is False
    assert {key for key, m in MODEL_FILES.items() if m.extra == "dlib"} == {
        "dlib_resnet",
        "dlib_shape5",
        "dlib_shape68",
    }
    assert {m.extra for m in MODEL_FILES.values()} == {None, "dlib"}


def test_when_the_dlib_extra_is_missing_then_its_models_name_the_pip_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "face_recognition_models", None)  # find_spec: not found
    for key in ("dlib_shape68", "dlib_resnet", "dlib_shape5"):
        with pytest.raises(ExtraNotInstalledError) as caught:
            resolve_model(key)
        assert isinstance(caught.value, ModelFileError)
        assert caught.value.code == "EXTRA_NOT_INSTALLED"
        assert "pip install 'realname[dlib]'" in caught.value.detail
    assert resolve_model("sface").is_file()  # the default install is untouched
