"""``/api/v1/rules``: the limits and input rules the pages check before they send anything.

One source for every rule (STYLE 18): the desk page's live framing hints, its ID number and
mobile number checks, its field lengths and upload limits come from here, read from the same
objects the service judges with (the loaded policy, :mod:`realname.identity`, the request
schemas and the settings), so a browser accepts and refuses exactly what the server does. The
page keeps only the arithmetic of the ID number's check character (ISO 7064 MOD 11-2).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from realname.errors import IdNumberError, MsisdnError, PayloadTooLargeError, PolicyError
from realname.identity.idcard import MIN_BIRTH_YEAR
from realname.identity.identifiers import (
    ID_NUMBER_ALPHABET,
    ID_NUMBER_FORM,
    ID_NUMBER_LENGTH,
    MSISDN_FORM,
    MSISDN_LENGTH,
    MSISDN_PREFIXES,
    MSISDN_SEPARATORS,
)
from realname.identity.rules import GUARDIAN_AGE
from realname.service.api.deps import Context, Reader
from realname.service.api.openapi import AUTHENTICATED, problems
from realname.service.api.schemas import BindIn, IdCardForm

__all__ = ["RulesOut", "router"]

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])


class FramingRulesOut(BaseModel):
    """The live framing hints (``liveness.framing`` and the probe quality limits)."""

    min_brightness: float = Field(description="Mean grey level of the face below this: too dark")
    max_brightness: float = Field(description="Above this: too bright")
    max_clipped_fraction: float = Field(description="Share of clipped face pixels above this")
    min_face_width: float = Field(description="Face width over the frame width below this: far")
    max_face_width: float = Field(description="Above this: too close (no room to turn)")
    max_centre_offset: float = Field(description="Face centre off the frame centre, over size")


class IdNumberRulesOut(BaseModel):
    """A resident ID number, read after Unicode NFKC with spaces dropped and upper-cased."""

    length: int
    alphabet: str = Field(description="Every character allowed")
    pattern: str = Field(description="The whole canonical form (a regular expression)")
    min_birth_year: int = Field(description="An earlier birth date inside it is refused")
    error_code: str = Field(description="The problem code the service answers when refused")


class MsisdnRulesOut(BaseModel):
    """A mainland mobile number, read after Unicode NFKC without separators and prefix."""

    length: int
    pattern: str = Field(description="The canonical form (a regular expression)")
    separators: str = Field(description="Removed before the check (a regex character class)")
    prefixes: list[str] = Field(description="Country prefixes dropped before exactly `length`")
    max_input_length: int = Field(description="Longest input accepted, before canonicalisation")
    error_code: str = Field(description="The problem code the service answers when refused")


#: A field read from a card photo with a lower OCR confidence is marked for the clerk to check
#: (a display hint: nothing is refused on it; the cross-checks decide what is refused).
LOW_CONFIDENCE = 0.9


class CardRulesOut(BaseModel):
    guardian_age: int = Field(description="Under this age a guardian's consent is required")
    max_lengths: dict[str, int] = Field(description="Longest value of each chip field")
    photo_reader: bool = Field(
        False,
        description="Card photos are read here (POST .../id-card/photo); false: "
        "REALNAME_CARD_READER=none, the route answers CARD_READER_OFF",
    )
    low_confidence: float = Field(
        LOW_CONFIDENCE, description="A field read below this OCR confidence is marked to check"
    )


class UploadRulesOut(BaseModel):
    max_image_bytes: int = Field(description="Largest ID card portrait")
    max_framing_bytes: int = Field(description="Largest preview still sent for framing advice")
    max_video_bytes: int = Field(description="Largest clip")
    max_video_seconds: float = Field(description="Longest clip")
    too_large_code: str = Field(description="The problem code of an upload over its limit")


class RulesOut(BaseModel):
    policy_version: str
    framing: FramingRulesOut
    id_number: IdNumberRulesOut
    msisdn: MsisdnRulesOut
    card: CardRulesOut
    uploads: UploadRulesOut
    capture_s: float = Field(description="How long the page records every capture (seconds)")


def _max_lengths(model: type[BaseModel]) -> dict[str, int]:
    properties: dict[str, Any] = model.model_json_schema()["properties"]
    return {
        name: int(schema["maxLength"])
        for name, schema in properties.items()
        if "maxLength" in schema
    }


@router.get(
    "",
    response_model=RulesOut,
    summary="The rules and limits the pages check before sending",
    responses=problems(*AUTHENTICATED),
)
def get_rules(ctx: Context, user: Reader) -> RulesOut:
    """The framing limits, the ID number and mobile number rules, the chip fields' lengths and
    the upload limits, from the loaded policy, the identity rules, the request schemas and the
    settings. The desk page reads it once per load.

    It needs a signed-in member of staff (any role), like the desk's other routes: only the
    desk uses it, after sign-in, and although nothing in it is secret on its own, the policy's
    version and limits describe the deployment and need not be told to anyone who asks."""
    policy = ctx.require_policy()
    live = policy.liveness
    if live is None:
        raise PolicyError(f"policy {policy.version} has no liveness section")
    quality, framing, s = policy.quality, live.framing, ctx.settings
    return RulesOut(
        policy_version=policy.version,
        framing=FramingRulesOut(
            min_brightness=quality.min_brightness,
            max_brightness=quality.max_brightness,
            max_clipped_fraction=quality.max_clipped_fraction,
            min_face_width=framing.min_face_width,
            max_face_width=framing.max_face_width,
            max_centre_offset=framing.max_centre_offset,
        ),
        id_number=IdNumberRulesOut(
            length=ID_NUMBER_LENGTH,
            alphabet=ID_NUMBER_ALPHABET,
            pattern=ID_NUMBER_FORM,
            min_birth_year=MIN_BIRTH_YEAR,
            error_code=IdNumberError.code,
        ),
        msisdn=MsisdnRulesOut(
            length=MSISDN_LENGTH,
            pattern=MSISDN_FORM,
            separators=MSISDN_SEPARATORS,
            prefixes=list(MSISDN_PREFIXES),
            max_input_length=_max_lengths(BindIn)["msisdn"],
            error_code=MsisdnError.code,
        ),
        card=CardRulesOut(
            guardian_age=GUARDIAN_AGE,
            max_lengths=_max_lengths(IdCardForm),
            photo_reader=ctx.card_reader is not None,
        ),
        uploads=UploadRulesOut(
            max_image_bytes=s.max_image_bytes,
            max_framing_bytes=s.max_framing_bytes,
            max_video_bytes=s.max_video_bytes,
            max_video_seconds=s.max_video_seconds,
            too_large_code=PayloadTooLargeError.code,
        ),
        capture_s=live.prompts.capture_s,
    )
