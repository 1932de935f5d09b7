"""The dlib engines are the optional extra ``realname[dlib]``: without dlib they are still
created, and ``load()`` says how to install it (simulated: ``import dlib`` fails)."""

import sys

import pytest

from realname.engines import create_embedder, create_landmarker
from realname.engines.dlib_models import Dlib68Landmarker, DlibResNetEmbedder
from realname.errors import ExtraNotInstalledError, ModelFileError, SetupError


@pytest.mark.parametrize("name", ["dlib68", "dlib-resnet"])
def test_without_dlib_the_engines_are_created_and_load_names_the_extra(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # `import dlib` raises ImportError
    engine = create_landmarker(name) if name == "dlib68" else create_embedder(name)
    with pytest.raises(ExtraNotInstalledError) as caught:
        engine.load()
    error = caught.value
    assert isinstance(error, ModelFileError) and isinstance(error, SetupError)
    assert error.code == "EXTRA_NOT_INSTALLED" and error.status == 500
    assert "pip install 'realname[dlib]'" in error.detail
    assert "commercial use" in error.detail
    assert error.to_problem()["context"] == {"extra": "dlib", "package": "dlib"}
    assert not isinstance(error.__cause__, ImportError)  # never a bare ImportError


@pytest.mark.parametrize("cls", [Dlib68Landmarker, DlibResNetEmbedder])
def test_the_dlib_engines_carry_the_licence_warning(cls: type) -> None:
    doc = cls.__doc__ or ""
    assert "realname[dlib]" in doc and "commercial use" in doc
