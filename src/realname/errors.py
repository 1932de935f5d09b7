"""One error tree for everything that makes an input unusable or the system unable to run.

A mismatch or a spoof is never an error: it is a result with ``passed=False`` and reason codes.
Errors are for input that cannot be judged at all, and for a broken installation::

    RealnameError                      code              HTTP
    ├── InputError                     INPUT_INVALID     400
    │   ├── ImageError                 IMAGE_INVALID     400
    │   │   ├── ImageEmptyError        IMAGE_EMPTY       400
    │   │   ├── ImageTypeError         IMAGE_TYPE        415
    │   │   ├── ImageCorruptError      IMAGE_CORRUPT     400
    │   │   └── ImageTooLargeError     IMAGE_TOO_LARGE   413
    │   ├── VideoError                 VIDEO_INVALID     400
    │   │   ├── VideoEmptyError        VIDEO_EMPTY       400
    │   │   ├── VideoTypeError         VIDEO_TYPE        415
    │   │   ├── VideoCorruptError      VIDEO_CORRUPT     400
    │   │   ├── VideoTooLargeError     VIDEO_TOO_LARGE   413
    │   │   ├── VideoTooLongError      VIDEO_TOO_LONG    422
    │   │   ├── VideoTooShortError     VIDEO_TOO_SHORT   422
    │   │   ├── VideoFrameRateError    VIDEO_FRAME_RATE  422
    │   │   └── VideoResolutionError   VIDEO_RESOLUTION  422
    │   ├── IdNumberError              ID_NUMBER_INVALID 422
    │   ├── MsisdnError                MSISDN_INVALID    422
    │   └── FaceError                  FACE_INVALID      422
    │       ├── NoFaceError            NO_FACE           422
    │       └── MultipleFacesError     MULTIPLE_FACES    422
    └── SetupError                     SETUP_INVALID     500
        ├── ModelFileError             MODEL_FILE        500
        ├── UnknownEngineError         UNKNOWN_ENGINE    500
        └── PolicyError                POLICY_INVALID    500

Every class has a stable ``code`` (part of the public contract: clients switch on it) and an
HTTP ``status``. :meth:`RealnameError.to_problem` renders RFC 9457 problem details; it never
includes a traceback, image bytes or personal data.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_TYPE_BASE = "https://realname.invalid/problems/"


class RealnameError(Exception):
    """Base of every error the library raises on purpose."""

    code: ClassVar[str] = "REALNAME_ERROR"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 problem details for this error (JSON-serialisable)."""
        problem: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code.lower().replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance is not None:
            problem["instance"] = instance
        safe = {k: v for k, v in self.context.items() if isinstance(v, str | int | float | bool)}
        if safe:
            problem["context"] = safe
        return problem


class InputError(RealnameError):
    code = "INPUT_INVALID"
    status = 400
    title = "Input cannot be used"


class ImageError(InputError):
    code = "IMAGE_INVALID"
    title = "Image cannot be used"


class ImageEmptyError(ImageError):
    code = "IMAGE_EMPTY"
    title = "Image is empty"


class ImageTypeError(ImageError):
    code = "IMAGE_TYPE"
    status = 415
    title = "Not a supported image type"


class ImageCorruptError(ImageError):
    code = "IMAGE_CORRUPT"
    title = "Image is corrupt or truncated"


class ImageTooLargeError(ImageError):
    code = "IMAGE_TOO_LARGE"
    status = 413
    title = "Image is too large"


class VideoError(InputError):
    code = "VIDEO_INVALID"
    title = "Video cannot be used"


class VideoEmptyError(VideoError):
    code = "VIDEO_EMPTY"
    title = "Video is empty"


class VideoTypeError(VideoError):
    code = "VIDEO_TYPE"
    status = 415
    title = "Not a supported video type"


class VideoCorruptError(VideoError):
    code = "VIDEO_CORRUPT"
    title = "Video is corrupt or truncated"


class VideoTooLargeError(VideoError):
    code = "VIDEO_TOO_LARGE"
    status = 413
    title = "Video is too large"


class VideoTooLongError(VideoError):
    code = "VIDEO_TOO_LONG"
    status = 422
    title = "Video is too long"


class VideoTooShortError(VideoError):
    code = "VIDEO_TOO_SHORT"
    status = 422
    title = "Video is too short"


class VideoFrameRateError(VideoError):
    code = "VIDEO_FRAME_RATE"
    status = 422
    title = "Video frame rate is too low"


class VideoResolutionError(VideoError):
    code = "VIDEO_RESOLUTION"
    status = 422
    title = "Video resolution is out of range"


class IdNumberError(InputError):
    code = "ID_NUMBER_INVALID"
    status = 422
    title = "ID number invalid"


class MsisdnError(InputError):
    code = "MSISDN_INVALID"
    status = 422
    title = "Not a mainland mobile number"


class FaceError(InputError):
    code = "FACE_INVALID"
    status = 422
    title = "No usable face"


class NoFaceError(FaceError):
    code = "NO_FACE"
    title = "No face found"


class MultipleFacesError(FaceError):
    code = "MULTIPLE_FACES"
    title = "More than one face and none dominates"


class SetupError(RealnameError):
    code = "SETUP_INVALID"
    status = 500
    title = "Installation or configuration problem"


class ModelFileError(SetupError):
    code = "MODEL_FILE"
    title = "Model file missing or altered"


class UnknownEngineError(SetupError):
    code = "UNKNOWN_ENGINE"
    title = "Unknown engine name"


class PolicyError(SetupError):
    code = "POLICY_INVALID"
    title = "Policy file invalid"


def all_error_classes() -> list[type[RealnameError]]:
    """Every class of the tree, root first (used by the error catalogue and its test)."""
    out: list[type[RealnameError]] = []
    stack: list[type[RealnameError]] = [RealnameError]
    while stack:
        cls = stack.pop(0)
        out.append(cls)
        stack.extend(cls.__subclasses__())
    return out
