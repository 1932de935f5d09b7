"""One error tree for everything that makes an input unusable or the system unable to run.

A mismatch or a spoof is never an error: it is a result with ``passed=False`` and reason codes.
Errors are for input that cannot be judged at all, and for a broken installation::

    RealnameError                      code              HTTP
    ├── InputError                     INPUT_INVALID     400
    │   ├── ImageError                 IMAGE_INVALID     400
    │   │   ├── ImageEmptyError        IMAGE_EMPTY       400
    │   │   ├── ImageTypeError         IMAGE_TYPE        415
    │   │   ├── ImageCorruptError      IMAGE_CORRUPT     400
    │   │   ├── ImageTooLargeError     IMAGE_TOO_LARGE   413
    │   │   └── ImageDimensionsError   IMAGE_DIMENSIONS  422
    │   ├── VideoError                 VIDEO_INVALID     400
    │   │   ├── VideoEmptyError        VIDEO_EMPTY       400
    │   │   ├── VideoTypeError         VIDEO_TYPE        415
    │   │   ├── VideoCorruptError      VIDEO_CORRUPT     400
    │   │   ├── VideoTooLargeError     VIDEO_TOO_LARGE   413
    │   │   ├── VideoTooLongError      VIDEO_TOO_LONG    422
    │   │   ├── VideoTooShortError     VIDEO_TOO_SHORT   422
    │   │   ├── ClipTooShortError      CLIP_TOO_SHORT    422
    │   │   ├── VideoFrameRateError    VIDEO_FRAME_RATE  422
    │   │   └── VideoResolutionError   VIDEO_RESOLUTION  422
    │   ├── CaptureTimeoutError        CAPTURE_TIMEOUT   422
    │   ├── IdNumberError              ID_NUMBER_INVALID 422
    │   ├── MsisdnError                MSISDN_INVALID    422
    │   ├── UsernameError              USERNAME_INVALID  422
    │   ├── FaceError                  FACE_INVALID      422
    │   │   ├── NoFaceError            NO_FACE           422
    │   │   └── MultipleFacesError     MULTIPLE_FACES    422
    │   ├── RequestInvalidError        REQUEST_INVALID   422
    │   ├── PayloadTooLargeError       PAYLOAD_TOO_LARGE 413
    │   ├── MethodNotAllowedError      METHOD_NOT_ALLOWED 405 (Allow)
    │   ├── RequestTimeoutError        REQUEST_TIMEOUT   408
    │   ├── IdCardRefusedError         CARD_REFUSED      422
    │   ├── LookupConsentError         LOOKUP_CONSENT_REQUIRED 422
    │   ├── CardUnreadableError        CARD_UNREADABLE   422
    │   │   ├── CardNotFoundError      CARD_NOT_FOUND    422
    │   │   └── MultipleCardsError     MULTIPLE_CARDS    422
    │   └── ChipDataError              CHIP_DATA_INVALID 422
    ├── AuthError                      AUTH_REQUIRED     401
    │   └── AuthInvalidError           AUTH_INVALID      401
    ├── ForbiddenError                 FORBIDDEN         403
    ├── NotFoundError                  NOT_FOUND         404
    ├── ConflictError                  CONFLICT          409
    │   ├── SessionExpiredError        SESSION_EXPIRED   409
    │   ├── SessionClosedError         SESSION_CLOSED    409
    │   ├── NonceInvalidError          NONCE_INVALID     409
    │   ├── CardRequiredError          CARD_REQUIRED     409
    │   ├── CardAlreadyReadError       CARD_ALREADY_READ 409
    │   ├── ConsentRefusedError        CONSENT_REFUSED   409
    │   ├── SessionNotPassedError      SESSION_NOT_PASSED 409
    │   ├── SessionUsedError           SESSION_USED      409
    │   ├── NumberCapReachedError      NUMBER_CAP_REACHED 409
    │   ├── NumberTakenError           NUMBER_TAKEN      409
    │   ├── ReviewDecidedError         REVIEW_DECIDED    409
    │   ├── CaptureInterruptedError    CAPTURE_INTERRUPTED 409
    │   ├── ChallengeExpiredError      CHALLENGE_EXPIRED 409
    │   ├── ChallengeLimitError        CHALLENGE_LIMIT   409
    │   ├── LookupClosedError          LOOKUP_CLOSED     409
    │   ├── LookupNotPassedError       LOOKUP_NOT_PASSED 409
    │   ├── DisputeOpenError           DISPUTE_OPEN      409
    │   ├── DisputeAnsweredError       DISPUTE_ANSWERED  409
    │   ├── UserInactiveError          USER_INACTIVE     409
    │   ├── SelfDeactivationError      SELF_DEACTIVATION 409
    │   └── LastAdminError             LAST_ADMIN        409
    ├── RateLimitError                 RATE_LIMITED      429  (Retry-After)
    │   ├── IdLockedError              ID_LOCKED         429  (Retry-After)
    │   ├── SessionRateLimitError      SESSION_RATE_LIMITED 429 (Retry-After)
    │   ├── LookupRateLimitError       LOOKUP_RATE_LIMITED 429 (Retry-After)
    │   └── AccountLockedError         ACCOUNT_LOCKED    429  (Retry-After)
    ├── BusyError                      BUSY              503  (Retry-After)
    │   ├── DatabaseUnavailableError   DATABASE_UNAVAILABLE 503 (Retry-After)
    │   └── InstanceUnavailableError   INSTANCE_UNAVAILABLE 503 (Retry-After; the proxy's)
    ├── CardReaderOffError             CARD_READER_OFF   501
    ├── InternalError                  INTERNAL          500
    └── SetupError                     SETUP_INVALID     500
        ├── ModelFileError             MODEL_FILE        500
        │   └── ExtraNotInstalledError EXTRA_NOT_INSTALLED 500
        ├── UnknownEngineError         UNKNOWN_ENGINE    500
        └── PolicyError                POLICY_INVALID    500

The service errors (from ``RequestInvalidError`` on) are raised by :mod:`realname.service`;
they live here so that there is one tree and one catalogue. An error with ``retry_after_s``
is answered with a ``Retry-After`` header.

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

    @property
    def retry_after_s(self) -> int | None:
        """Seconds a client should wait before trying again (``Retry-After``), if any."""
        value = self.context.get("retry_after_s")
        return (
            int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

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


class ImageDimensionsError(ImageError):
    """Width, height or aspect ratio that no camera or chip reader produces (a thin strip)."""

    code = "IMAGE_DIMENSIONS"
    status = 422
    title = "Image dimensions out of range"


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


class ClipTooShortError(VideoError):
    """The clip ends before the challenge's schedule does (the recording was stopped early):
    it is not judged."""

    code = "CLIP_TOO_SHORT"
    status = 422
    title = "Clip shorter than the challenge's schedule"


class VideoFrameRateError(VideoError):
    code = "VIDEO_FRAME_RATE"
    status = 422
    title = "Video frame rate is too low"


class VideoResolutionError(VideoError):
    code = "VIDEO_RESOLUTION"
    status = 422
    title = "Video resolution is out of range"


class CaptureTimeoutError(InputError):
    """The clip could not be judged within the time budget of one capture."""

    code = "CAPTURE_TIMEOUT"
    status = 422
    title = "Clip could not be judged in time"


class IdNumberError(InputError):
    code = "ID_NUMBER_INVALID"
    status = 422
    title = "ID number invalid"


class MsisdnError(InputError):
    code = "MSISDN_INVALID"
    status = 422
    title = "Not a mainland mobile number"


class UsernameError(InputError):
    code = "USERNAME_INVALID"
    status = 422
    title = "Not a valid username"


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


class RequestInvalidError(InputError):
    code = "REQUEST_INVALID"
    status = 422
    title = "Request does not match the API"

    def __init__(
        self, detail: str, errors: list[dict[str, Any]] | None = None, **context: Any
    ) -> None:
        super().__init__(detail, **context)
        self.errors = errors or []

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        problem = super().to_problem(instance)
        if self.errors:
            problem["errors"] = self.errors
        return problem


class PayloadTooLargeError(InputError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    title = "Request body is too large"


class MethodNotAllowedError(InputError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    title = "Method not allowed on this resource"


class RequestTimeoutError(InputError):
    code = "REQUEST_TIMEOUT"
    status = 408
    title = "Request body arrived too slowly"


class IdCardRefusedError(InputError):
    """The card read at the counter breaks a rule; ``reasons`` are the rule reason codes."""

    code = "CARD_REFUSED"
    status = 422
    title = "ID card refused"

    def __init__(self, detail: str, reasons: tuple[str, ...] = (), **context: Any) -> None:
        super().__init__(detail, **context)
        self.reasons = reasons

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        problem = super().to_problem(instance)
        problem["reasons"] = list(self.reasons)
        return problem


class LookupConsentError(InputError):
    """A citizen look-up without the separate consent to the face check (一证通查)."""

    code = "LOOKUP_CONSENT_REQUIRED"
    status = 422
    title = "The face check needs the citizen's biometric consent"


class CardUnreadableError(InputError):
    """A card photo from which no card side could be read."""

    code = "CARD_UNREADABLE"
    status = 422
    title = "ID card photo unreadable"


class CardNotFoundError(CardUnreadableError):
    """No ID card side in the photo: not a card, or a card too small, too blurred or too dark
    for its text to be found."""

    code = "CARD_NOT_FOUND"
    title = "No ID card found"


class MultipleCardsError(CardUnreadableError):
    """More than one card in the photo (two fronts or two backs): one card per photo."""

    code = "MULTIPLE_CARDS"
    title = "More than one ID card"


class ChipDataError(InputError):
    """A chip reader's answer that does not follow the documented JSON format."""

    code = "CHIP_DATA_INVALID"
    status = 422
    title = "Chip reader data invalid"


class AuthError(RealnameError):
    code = "AUTH_REQUIRED"
    status = 401
    title = "Authentication required"


class AuthInvalidError(AuthError):
    code = "AUTH_INVALID"
    title = "Credentials or token not valid"


class ForbiddenError(RealnameError):
    code = "FORBIDDEN"
    status = 403
    title = "Not allowed for this role"


class NotFoundError(RealnameError):
    code = "NOT_FOUND"
    status = 404
    title = "Not found"


class ConflictError(RealnameError):
    code = "CONFLICT"
    status = 409
    title = "Conflicts with the current state"


class SessionExpiredError(ConflictError):
    code = "SESSION_EXPIRED"
    title = "Registration session expired"


class SessionClosedError(ConflictError):
    code = "SESSION_CLOSED"
    title = "Registration session is closed"


class NonceInvalidError(ConflictError):
    code = "NONCE_INVALID"
    title = "Capture nonce unknown or already used"


class CardRequiredError(ConflictError):
    code = "CARD_REQUIRED"
    title = "The ID card must be read first"


class CardAlreadyReadError(ConflictError):
    code = "CARD_ALREADY_READ"
    title = "The ID card of this session was already read"


class ConsentRefusedError(ConflictError):
    code = "CONSENT_REFUSED"
    title = "Biometric consent was refused: use the manual procedure"


class SessionNotPassedError(ConflictError):
    code = "SESSION_NOT_PASSED"
    title = "The session has not passed verification"


class SessionUsedError(ConflictError):
    code = "SESSION_USED"
    title = "The session was already used for a number"


class NumberCapReachedError(ConflictError):
    code = "NUMBER_CAP_REACHED"
    title = "This ID already holds the maximum of active numbers"


class NumberTakenError(ConflictError):
    code = "NUMBER_TAKEN"
    title = "The number is already registered"


class ReviewDecidedError(ConflictError):
    code = "REVIEW_DECIDED"
    title = "The review was already decided or expired"


class CaptureInterruptedError(ConflictError):
    code = "CAPTURE_INTERRUPTED"
    title = "The capture outlived its time limit and was released"


class ChallengeExpiredError(ConflictError):
    """The challenge was not answered in time (its recording must begin within
    ``REALNAME_CHALLENGE_TTL_S`` of its issue): its nonce is spent; ask for a new one."""

    code = "CHALLENGE_EXPIRED"
    title = "The liveness challenge expired before its clip arrived"


class ChallengeLimitError(ConflictError):
    """The session was issued as many challenges as it may have."""

    code = "CHALLENGE_LIMIT"
    title = "No further liveness challenge for this session"


class LookupClosedError(ConflictError):
    """A citizen look-up that ended (its attempts used up, passed, or past its expiry)."""

    code = "LOOKUP_CLOSED"
    title = "The look-up has ended: start a new one"


class LookupNotPassedError(ConflictError):
    code = "LOOKUP_NOT_PASSED"
    title = "The look-up has not passed its face check"


class DisputeOpenError(ConflictError):
    code = "DISPUTE_OPEN"
    title = "This number already has an open dispute"


class DisputeAnsweredError(ConflictError):
    code = "DISPUTE_ANSWERED"
    title = "The dispute was already answered"


class UserInactiveError(ConflictError):
    code = "USER_INACTIVE"
    title = "The user is already deactivated"


class SelfDeactivationError(ConflictError):
    code = "SELF_DEACTIVATION"
    title = "An administrator cannot deactivate themselves"


class LastAdminError(ConflictError):
    code = "LAST_ADMIN"
    title = "The last active administrator cannot be deactivated"


class RateLimitError(RealnameError):
    code = "RATE_LIMITED"
    status = 429
    title = "Too many attempts"


class IdLockedError(RateLimitError):
    code = "ID_LOCKED"
    title = "Too many failed verifications for this ID: locked for a while"


class SessionRateLimitError(RateLimitError):
    code = "SESSION_RATE_LIMITED"
    title = "Too many registration sessions opened: try again later"


class LookupRateLimitError(RateLimitError):
    code = "LOOKUP_RATE_LIMITED"
    title = "Too many look-ups: try again later"


class AccountLockedError(RateLimitError):
    code = "ACCOUNT_LOCKED"
    title = "Too many failed sign-ins: the account is locked for a while"


class BusyError(RealnameError):
    code = "BUSY"
    status = 503
    title = "Verification capacity exhausted: try again shortly"


class DatabaseUnavailableError(BusyError):
    """The database did not answer (restarting, unreachable, or its connections lost): the
    request's transaction was rolled back, so nothing of it was written; retry it."""

    code = "DATABASE_UNAVAILABLE"
    title = "The database is unavailable for a moment: try again shortly"


class InstanceUnavailableError(BusyError):
    """The instance that held the request went away (killed, restarting) or none answered.
    Answered by the reverse proxy of the reference deployment (``deploy/nginx.conf``, its
    ``@instance_unavailable``), never raised by the service: the class is the one catalogue's
    entry that the proxy's body must equal (``tests/service/test_deploy_proxy.py``). A capture
    cut off this way is released by the purge (``CAPTURE_INTERRUPTED``) once its time limit
    has passed."""

    code = "INSTANCE_UNAVAILABLE"
    title = "The service instance did not answer: try again shortly"


class CardReaderOffError(RealnameError):
    """Card photos cannot be read here: ``REALNAME_CARD_READER=none`` (type the fields, or
    paste a chip reader's answer)."""

    code = "CARD_READER_OFF"
    status = 501
    title = "ID card reading is switched off"


class InternalError(RealnameError):
    code = "INTERNAL"
    status = 500
    title = "Internal error"


class SetupError(RealnameError):
    code = "SETUP_INVALID"
    status = 500
    title = "Installation or configuration problem"


class ModelFileError(SetupError):
    code = "MODEL_FILE"
    title = "Model file missing or altered"


class ExtraNotInstalledError(ModelFileError):
    """An engine or model file of an optional extra (``realname[dlib]``) whose packages are not
    installed; the detail says the ``pip install`` that adds them."""

    code = "EXTRA_NOT_INSTALLED"
    title = "Optional extra not installed"


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
