"""The bounded multipart reader's refusals, each through the ID-card upload as a client meets
it: too many parts, a text field too long, a part without a name, a field that is not UTF-8, a
malformed body, a body that is not multipart, and a Content-Length that is not a number."""

from __future__ import annotations

from typing import Any

import pytest

from realname.service.api.uploads import MAX_FIELD_BYTES, MAX_PARTS
from tests.service.conftest import Service

BOUNDARY = "realname-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _part(headers: str, payload: bytes) -> bytes:
    return f"--{BOUNDARY}\r\n{headers}\r\n\r\n".encode() + payload + b"\r\n"


def _field(name: str, value: bytes) -> bytes:
    return _part(f'Content-Disposition: form-data; name="{name}"', value)


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _put(
    service: Service, body: bytes, content_type: str = MULTIPART, **headers: str
) -> dict[str, Any]:
    session_id = service.start()["id"]
    r = service.client.put(
        f"/api/v1/sessions/{session_id}/id-card",
        content=body,
        headers={**service.headers["clerk_a"], "Content-Type": content_type, **headers},
    )
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    return {"status": r.status_code, "code": problem["code"], "detail": problem["detail"]}


def test_a_body_of_too_many_parts_is_refused(service: Service) -> None:
    body = _body(*(_field(f"f{i}", b"x") for i in range(MAX_PARTS + 1)))
    assert _put(service, body) == {
        "status": 422,
        "code": "REQUEST_INVALID",
        "detail": "too many parts in the multipart body",
    }


def test_a_text_field_over_its_limit_is_refused(service: Service) -> None:
    body = _body(_field("name", b"x" * (MAX_FIELD_BYTES + 1)))
    assert _put(service, body) == {
        "status": 422,
        "code": "REQUEST_INVALID",
        "detail": "the form field 'name' is too long",
    }


def test_a_text_field_at_its_limit_is_read(service: Service) -> None:
    body = _body(_field("name", b"x" * MAX_FIELD_BYTES))
    answer = _put(service, body)  # read, then refused for the missing portrait
    assert (answer["status"], answer["detail"]) == (422, "the portrait file is missing")


def test_a_part_without_a_name_is_refused(service: Service) -> None:
    body = _body(_part("Content-Disposition: form-data", b"x"))
    assert _put(service, body) == {
        "status": 422,
        "code": "REQUEST_INVALID",
        "detail": "a multipart part has no name",
    }


def test_a_text_field_that_is_not_utf8_is_refused(service: Service) -> None:
    body = _body(_field("name", "张三".encode("gb18030")))
    assert _put(service, body) == {
        "status": 422,
        "code": "REQUEST_INVALID",
        "detail": "the form field 'name' is not UTF-8",
    }


@pytest.mark.parametrize(
    "body",
    [
        b"this is not multipart at all",
        f"--{BOUNDARY}\r\nContent-Disposition form-data\r\n\r\nx\r\n".encode(),
    ],
    ids=["no-boundary-line", "header-without-colon"],
)
def test_a_malformed_body_is_refused(service: Service, body: bytes) -> None:
    assert _put(service, body) == {
        "status": 422,
        "code": "REQUEST_INVALID",
        "detail": "the multipart body is malformed",
    }


def test_a_body_that_is_not_multipart_is_refused(service: Service) -> None:
    assert _put(service, b"name=x", content_type="application/x-www-form-urlencoded") == {
        "status": 422,
        "code": "REQUEST_INVALID",
        "detail": "the body must be multipart/form-data",
    }
