"""Request and response bodies of the API (apart from domain types and tables).

No response carries a score for a clerk, a plain ID number, a name, or a plain mobile number.
Booleans are strict: ``true`` or ``false`` (in a multipart form the text ``true`` or ``false``),
never ``0``, ``1``, ``"yes"`` or ``"on"``.

The patterns of the ID number and the mobile number are documented on their fields (the
canonical form); the check itself is :mod:`realname.identity.identifiers`', after Unicode NFKC (so
that a
full-width ``１３８`` is the same number as ``138``), which answers with the identifier's own
error code rather than a generic validation error.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9X]$"
MSISDN_PATTERN = r"^(\+86)?1[3-9][0-9]{9}$"


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(description="URI naming the problem type (one per code)")
    title: str
    status: int = Field(description="The HTTP status of the answer")
    detail: str = Field(description="What went wrong, for a person (no personal data)")
    code: str = Field(description="Stable code clients switch on (docs/errors.md)")
    instance: str | None = Field(None, description="The request path")
    request_id: str = Field(description="Quote it to the operator; also in X-Request-ID")
    context: dict[str, str | int | float | bool] | None = Field(
        None, description="Facts about the error (a limit, a field, retry_after_s)"
    )
    errors: list[dict[str, Any]] | None = Field(
        None, description="REQUEST_INVALID: each field's location, message and type"
    )
    reasons: list[str] | None = Field(None, description="CARD_REFUSED: the rules' reason codes")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class ConsentIn(BaseModel):
    """The customer's separate consent to the biometric check (PIPL art. 28-29)."""

    model_config = ConfigDict(extra="forbid")
    biometric_consent: bool = Field(strict=True, description="true or false (nothing else)")
    consent_text_version: str = Field(min_length=1, max_length=50)


class SessionOut(BaseModel):
    id: str
    state: str = Field(
        description="manual, awaiting_card, awaiting_capture, capturing, passed, review, "
        "approved, rejected, failed, bound, expired"
    )
    outlet_id: int
    created_at: datetime
    expires_at: datetime = Field(
        description="The session's deadline: consent plus REALNAME_SESSION_TTL_S (the whole "
        "visit); the short clock is each challenge's (ChallengeOut.expires_at, answer_by)"
    )
    biometric_consent: bool
    attempts_left: int
    challenges_issued: int = Field(
        0,
        description="Liveness challenges this session was given so far (POST .../challenge); "
        "a session carries no challenge itself",
    )
    id_number_masked: str | None = None
    verdict: Literal["passed", "failed", "review"] | None = None
    reasons: list[str] = Field(default_factory=list)
    manual_alternative: bool = Field(
        False, description="True when consent was refused: register with the manual procedure"
    )
    card_accepted: bool = Field(
        False, description="The ID card and its portrait were accepted (PUT .../id-card)"
    )
    name_masked: str | None = Field(
        None, description="The card holder's name, masked (张*): the only part of it shown"
    )
    challenges_left: int = Field(
        0, description="Challenges this session may still be issued (REALNAME_MAX_CHALLENGES)"
    )
    challenge_expires_at: datetime | None = Field(
        None,
        description="The outstanding challenge's deadline to begin recording (its expires_at); "
        "null when none is outstanding. A page reloaded since has lost its nonce: it asks "
        "POST .../challenge for a new one",
    )
    challenge_answer_by: datetime | None = Field(
        None, description="The outstanding challenge's deadline for its clip (its answer_by)"
    )
    portrait_source: Literal["chip", "printed"] | None = Field(
        None,
        description="The match reference's origin once the card was accepted: the chip's "
        "portrait, or the card's printed photo cropped from a card photo (a weaker reference)",
    )


class IdCardForm(BaseModel):
    """The chip's fields, sent as multipart form fields with the ``portrait`` file."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    sex: str = Field(
        "",
        max_length=10,
        description="男/女 or male/female; empty or left out: taken from the ID number (one that "
        "disagrees with the number is refused: CARD_SEX_MISMATCH)",
    )
    ethnicity: str = Field("", max_length=50)
    birth_date: date | None = Field(
        None,
        description="Empty or left out: taken from the ID number (one that disagrees with the "
        "number is refused: CARD_BIRTH_DATE_MISMATCH)",
    )
    address: str = Field("", max_length=300)
    id_number: str = Field(
        min_length=15,
        max_length=20,
        description="18 characters: 17 digits and a digit or X, after Unicode NFKC (full-width "
        "digits are read as digits) and with spaces removed; checked by the server, which "
        "answers ID_NUMBER_INVALID",
        json_schema_extra={"pattern": ID_NUMBER_PATTERN},
    )
    issuing_authority: str = Field("", max_length=100)
    valid_from: date
    valid_until: date | None = Field(None, description="Empty or 长期 for a long-term card")
    guardian_consent: bool = Field(False, description="The text true or false (nothing else)")
    portrait_source: Literal["chip", "printed"] = Field(
        "chip",
        description="chip: the portrait file is the chip's; printed: it is the card's printed "
        "photo as POST .../id-card/photo returned it (shown to the supervisor as such)",
    )
    ocr_corrected: str = Field(
        "",
        max_length=200,
        description="Comma-separated names of the fields the clerk changed after a card photo "
        "filled them (audited as id_card.corrected: the names, never the values)",
    )

    @field_validator("guardian_consent", mode="before")
    @classmethod
    def _strict_flag(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        # What pydantic makes of a ValueError (type and message), raised as its own error.
        raise PydanticCustomError(
            "value_error", "Value error, guardian_consent must be the text true or false"
        )

    @field_validator("birth_date", mode="before")
    @classmethod
    def _birth_date_optional(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("valid_until", mode="before")
    @classmethod
    def _long_term(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() in ("", "长期", "long-term"):
            return None
        return value


class FramingOut(BaseModel):
    """Guidance for the capture page (not a verdict: the clip is judged on upload)."""

    advice: Literal[
        "OK",
        "NO_FACE",
        "MULTIPLE_FACES",
        "TOO_DARK",
        "TOO_BRIGHT",
        "TOO_FAR",
        "TOO_CLOSE",
        "NOT_CENTRED",
    ]
    face_box: list[float] | None = Field(
        None, description="x, y, width, height of the face as fractions of the still"
    )
    faces: int


class StepOut(BaseModel):
    """One challenge step as judged: seen in time, or why not (docs/errors.md, "Challenge
    step reasons"), with what was measured against what was needed."""

    action: Literal["blink", "turn_left", "turn_right", "nod", "open_mouth"]
    prompt_s: float | None = Field(None, description="When its prompt showed (s)")
    window_end_s: float | None = Field(None, description="When its window ended (s)")
    seen: bool
    reason: (
        Literal[
            "STEP_NOT_SEEN",
            "STEP_TOO_SMALL",
            "STEP_TOO_EARLY",
            "STEP_TOO_LATE",
            "STEP_AFTER_DEADLINE",
            "STEP_NOT_REACHED",
        ]
        | None
    ) = Field(None, description="Why the step was not seen; null when it was")
    measured: float | None = Field(
        None,
        description="STEP_TOO_SMALL: the movement's peak from the person's baseline; "
        "STEP_TOO_EARLY: the reaction (onset - prompt, s); STEP_TOO_LATE: the peak (s); "
        "STEP_AFTER_DEADLINE: the delay after the previous step (s)",
    )
    needed: float | None = Field(
        None, description="What ``measured`` had to reach (or, for timings, respect)"
    )
    observed_at_s: float | None = Field(
        None, description="When the movement not counted peaked (s from the recording's start)"
    )
    unit: Literal["deg", "ratio", "mar", "s"] | None = Field(
        None,
        description="deg: head turn or nod; ratio: eye closure depth (1 - open-eye ratio); "
        "mar: mouth opening; s: seconds",
    )


class CaptureOut(BaseModel):
    """The clerk's answer: a verdict and reason codes, never a score (GB/T 38671)."""

    verdict: Literal["passed", "failed", "review"]
    reasons: list[str]
    attempts_left: int = Field(
        description="After a failure: captures left; each needs a new challenge "
        "(POST .../challenge)"
    )
    steps: list[StepOut] = Field(
        default_factory=list,
        description="Each challenge step as judged, and why a step was not seen (the left "
        "turn too small, begun too early, ...); empty when liveness did not run",
    )


class ChallengeStepOut(BaseModel):
    action: Literal["blink", "turn_left", "turn_right", "nod", "open_mouth"]
    prompt_s: float = Field(
        description="When the page shows this step's prompt, in seconds from the recording's "
        "start; the action must begin at least liveness.prompts.min_reaction_s later"
    )
    window_end_s: float = Field(
        description="Until when the prompt stays and the action must have peaked (seconds "
        "from the recording's start)"
    )


class ChallengeOut(BaseModel):
    """A liveness challenge, revealed when the customer is framed and ready: record
    ``capture_s`` seconds at once, showing each step's prompt from ``prompt_s`` to
    ``window_end_s``, then upload the clip with ``nonce``."""

    session_id: str
    steps: list[ChallengeStepOut]
    capture_s: float = Field(description="How long to record (seconds), whatever the schedule")
    nonce: str = Field(description="One-time capture nonce of this challenge")
    issued_at: datetime
    expires_at: datetime = Field(
        description="The recording must begin by then (valid_s after issued_at); the clip must "
        "arrive by answer_by, else CHALLENGE_EXPIRED"
    )
    answer_by: datetime
    valid_s: int = Field(description="Seconds from the issue within which recording must begin")
    attempts_left: int


class BindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(min_length=1, max_length=36)
    msisdn: str = Field(
        min_length=1,
        max_length=20,
        description="A mainland mobile number: 11 digits starting 13-19, optionally after +86; "
        "read after Unicode NFKC (full-width digits are digits), with spaces, hyphens, dots and "
        "parentheses removed; checked by the server, which answers MSISDN_INVALID",
        json_schema_extra={"pattern": MSISDN_PATTERN},
    )


class BindingOut(BaseModel):
    session_id: str
    msisdn_masked: str
    id_number_masked: str
    active_numbers: int
    max_numbers: int


class ActiveNumberOut(BaseModel):
    msisdn_masked: str
    since: datetime


class NumberListOut(BaseModel):
    id_number_masked: str | None
    numbers: list[ActiveNumberOut]
    active_numbers: int
    max_numbers: int


class DeregisteredOut(BaseModel):
    msisdn_masked: str
    ended: bool = True


class ReviewOut(BaseModel):
    id: str
    session_id: str
    outlet_id: int
    state: str = Field(description="pending, approved, rejected, expired")
    created_at: datetime
    expires_at: datetime
    reasons: list[str]
    id_number_masked: str | None
    evidence: dict[str, str] = Field(description="Links to the evidence images still held")
    scores: dict[str, Any] | None = Field(
        None, description="Match score, thresholds and the whole verification (detail only)"
    )
    decided_by: int | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    portrait_source: Literal["chip", "printed"] = Field(
        "chip",
        description="The match reference: the chip's portrait, or the card's printed photo "
        "cropped from a card photo (a weaker reference: weigh the match accordingly)",
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    approve: bool = Field(strict=True, description="true or false (nothing else)")
    reason: str = Field(min_length=1, max_length=500)


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    heads: int
    first_bad_seq: int | None = Field(None, description="Position of the first bad entry")
    reason: str


class OutletIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    opening_hours: str | None = Field(
        None,
        pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
        description="Local opening hours HH:MM-HH:MM: numbers bound outside them are flagged",
    )


class OutletOut(BaseModel):
    id: int
    name: str
    opening_hours: str | None = None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=200)
    role: Literal["clerk", "supervisor", "auditor", "admin"]
    outlet: str | None = None
    all_outlets: bool = Field(
        False, description="A supervisor of no outlet, who sees every outlet (regional)"
    )
    employee: str | None = Field(
        None,
        max_length=50,
        description="The person behind the account: one person's clerk and supervisor accounts "
        "share it, and deciding one's own cases is flagged",
    )


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    outlet: str | None
    active: bool


class PurgeOut(BaseModel):
    evidence: int
    sessions: int
    identities: int
    tokens: int


class CardFieldOut(BaseModel):
    name: str = Field(
        description="name, sex, ethnicity, birth_date, address, id_number, "
        "issuing_authority, valid_from or valid_until"
    )
    text: str = Field(description="As read, canonical: dates ISO, valid_until an ISO date or 长期")
    confidence: float = Field(description="The OCR's confidence, 0-1 (the lowest of its lines)")
    side: Literal["front", "back"]
    box: list[float] = Field(description="x, y, width, height on the rectified 856x540 side")


class CardSideOut(BaseModel):
    side: Literal["front", "back"]
    orientation: int = Field(description="How far the photo had the card turned: 0, 90, 180, 270")


class DisagreementOut(BaseModel):
    field: str
    read: str | None = Field(description="What the photo reads (null: not read)")
    given: str = Field(description="What the clerk typed")
    source: Literal["typed", "chip"]


class CardReadingOut(BaseModel):
    """A card photo read (nothing of it is stored): the fields for the clerk to confirm or
    correct, the cross-check reasons, and the printed portrait."""

    passed: bool = Field(description="No reason: every cross-check passed and every field read")
    reasons: list[str] = Field(
        description="CARD_FRONT_MISSING, CARD_BACK_MISSING, <FIELD>_NOT_READ, "
        "ID_NUMBER_MALFORMED, ID_NUMBER_CHECK_FAILED, ID_NUMBER_DATE_INVALID, "
        "CARD_BIRTH_DATE_MISMATCH, CARD_SEX_MISMATCH, VALIDITY_MALFORMED, "
        "CARD_VALIDITY_INCONSISTENT, CARD_ISSUED_BEFORE_BIRTH, VALIDITY_LENGTH_MISMATCH, "
        "CARD_EXPIRED, CARD_NOT_YET_VALID, PHOTO_DISAGREES_<FIELD>"
    )
    fields: list[CardFieldOut]
    sides: list[CardSideOut]
    disagreements: list[DisagreementOut]
    portrait: str | None = Field(
        description="The printed portrait as a data:image/png;base64 URI (null: no front read); "
        "send it back as the portrait file with portrait_source=printed when the card has no "
        "chip portrait"
    )
    engine: str
    version: str
    elapsed_s: float
