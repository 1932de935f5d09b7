import json

from realname.errors import (
    ImageTooLargeError,
    NoFaceError,
    RealnameError,
    all_error_classes,
)


def test_every_error_has_a_unique_stable_code_and_an_http_status() -> None:
    classes = all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))
    assert all(400 <= cls.status < 600 for cls in classes)
    assert all(issubclass(cls, RealnameError) for cls in classes)


def test_problem_details_follow_rfc9457_and_carry_no_traceback() -> None:
    problem = ImageTooLargeError("too big", width=9000, height=9000, blob=b"x").to_problem("/x")
    assert problem["status"] == 413
    assert problem["code"] == "IMAGE_TOO_LARGE"
    assert problem["type"].endswith("image-too-large")
    assert problem["instance"] == "/x"
    assert problem["context"] == {"width": 9000, "height": 9000}  # bytes never leak
    text = json.dumps(problem)
    assert "Traceback" not in text


def test_face_errors_are_unprocessable_input() -> None:
    assert NoFaceError.status == 422
    assert NoFaceError("none").to_problem()["code"] == "NO_FACE"


def test_error_catalogue_lists_every_code() -> None:
    from pathlib import Path

    catalogue = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text()
    for cls in all_error_classes():
        assert f"`{cls.code}` | {cls.status} | `{cls.__name__}`" in catalogue, cls.code
