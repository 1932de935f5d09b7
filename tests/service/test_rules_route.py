"""``GET /api/v1/rules``: what the pages check comes from the service's own sources (the loaded
policy, the identity rules, the request schemas, the settings), and the service accepts and
refuses what the rules say."""

from __future__ import annotations

import re

import pytest

from realname.errors import IdNumberError, MsisdnError, PayloadTooLargeError
from realname.identity.idcard import parse_id_number
from realname.identity.identifiers import canonical_msisdn
from realname.identity.rules import GUARDIAN_AGE
from realname.policy import load_policy
from realname.service.api.schemas import BindIn, IdCardForm
from tests.service.conftest import Service, make_id


def rules(service: Service, who: str = "clerk_a") -> dict[str, object]:
    r = service.client.get("/api/v1/rules", headers=service.headers[who])
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_the_framing_limits_are_the_packaged_policys(service: Service) -> None:
    policy = load_policy(service.ctx.settings.policy_file)
    assert policy.liveness is not None
    framing, quality = policy.liveness.framing, policy.quality
    body = rules(service)
    assert body["policy_version"] == policy.version
    assert body["framing"] == {
        "min_brightness": quality.min_brightness,
        "max_brightness": quality.max_brightness,
        "max_clipped_fraction": quality.max_clipped_fraction,
        "min_face_width": framing.min_face_width,
        "max_face_width": framing.max_face_width,
        "max_centre_offset": framing.max_centre_offset,
    }
    assert body["capture_s"] == policy.liveness.prompts.capture_s


def test_the_number_rules_are_what_the_service_applies(service: Service) -> None:
    body = rules(service)
    id_rule, msisdn = body["id_number"], body["msisdn"]
    assert isinstance(id_rule, dict) and isinstance(msisdn, dict)
    assert id_rule["error_code"] == IdNumberError.code
    assert msisdn["error_code"] == MsisdnError.code
    # The earliest birth year: the year before it is refused, the year itself is accepted.
    year = id_rule["min_birth_year"]
    with pytest.raises(IdNumberError):
        parse_id_number(make_id(birth=f"{year - 1}1231"))
    assert parse_id_number(make_id(birth=f"{year}0101")).birth_date.year == year
    assert re.fullmatch(id_rule["pattern"], make_id())
    assert len(make_id()) == id_rule["length"]
    assert set(make_id()) <= set(id_rule["alphabet"])
    # Each prefix the page drops, the service drops too.
    for prefix in msisdn["prefixes"]:
        assert canonical_msisdn(f"{prefix}13800138000") == "13800138000"
    assert {"+86", "0086"} <= set(msisdn["prefixes"])
    assert re.fullmatch(msisdn["pattern"], "13800138000")
    assert not re.fullmatch(msisdn["pattern"], "12800138000")
    assert re.sub(msisdn["separators"], "", "(138) 001-3.8000") == "13800138000"
    assert (
        msisdn["max_input_length"]
        == BindIn.model_json_schema()["properties"]["msisdn"]["maxLength"]
    )


def test_the_card_and_upload_limits_are_the_schemas_and_settings(service: Service) -> None:
    body = rules(service)
    card, uploads = body["card"], body["uploads"]
    assert isinstance(card, dict) and isinstance(uploads, dict)
    assert card["guardian_age"] == GUARDIAN_AGE
    properties = IdCardForm.model_json_schema()["properties"]
    assert card["max_lengths"] == {
        name: schema["maxLength"] for name, schema in properties.items() if "maxLength" in schema
    }
    s = service.ctx.settings
    assert uploads == {
        "max_image_bytes": s.max_image_bytes,
        "max_framing_bytes": s.max_framing_bytes,
        "max_video_bytes": s.max_video_bytes,
        "max_video_seconds": s.max_video_seconds,
        "too_large_code": PayloadTooLargeError.code,
    }


@pytest.mark.parametrize("who", ["clerk_a", "supervisor_a", "auditor", "admin"])
def test_every_signed_in_role_reads_the_rules(service: Service, who: str) -> None:
    assert rules(service, who)["id_number"]


def test_without_a_token_the_rules_are_refused(service: Service) -> None:
    r = service.client.get("/api/v1/rules")
    assert r.status_code == 401
    assert r.json()["code"] == "AUTH_REQUIRED"


def test_the_service_refuses_a_birth_year_before_the_rules_minimum(service: Service) -> None:
    year = rules(service)["id_number"]["min_birth_year"]  # type: ignore[index]
    number = make_id(birth=f"{year - 1}0101")
    s = service.start()
    r = service.card(s["id"], id_number=number, birth_date=f"{year - 1}-01-01")
    assert r.status_code == 422
    assert r.json()["code"] == IdNumberError.code


@pytest.mark.parametrize("typed", ["+86 138 0013 8000", "0086 13800138000"])
def test_the_service_binds_a_number_typed_with_a_country_prefix(
    service: Service, typed: str
) -> None:
    r = service.bind(service.passed_session(), typed)
    assert r.status_code == 201, r.text
    assert r.json()["msisdn_masked"] == "138****8000"
