"""Multipart uploads read in memory, with a byte limit enforced before and while reading.

Starlette's form parser spools files over 1 MiB to a temporary file on disk; a customer's clip
and ID portrait must not touch the disk, so the body is parsed here, in memory. A body whose
``Content-Length`` is over the limit is refused before any of it is read; a body without one
(chunked) is counted as it arrives and refused as soon as it passes the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from realname.errors import PayloadTooLargeError, RequestInvalidError

__all__ = ["MultipartBody", "read_multipart"]

MAX_FIELD_BYTES = 4096
MAX_PARTS = 32
OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers and the text fields around the file


@dataclass(slots=True)
class MultipartBody:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class _Part:
    name: str = ""
    is_file: bool = False
    data: bytearray = field(default_factory=bytearray)
    disposition: bytes = b""
    header_name: bytes = b""
    header_value: bytes = b""


class _Collector:
    def __init__(self) -> None:
        self.body = MultipartBody()
        self.part = _Part()
        self.parts = 0

    def on_part_begin(self) -> None:
        self.part = _Part()
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise RequestInvalidError("too many parts in the multipart body")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.part.header_name.lower() == b"content-disposition":
            self.part.disposition = self.part.header_value
        self.part.header_name = self.part.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.disposition)
        if b"name" not in options:
            raise RequestInvalidError("a multipart part has no name")
        self.part.name = options[b"name"].decode("utf-8", "replace")
        self.part.is_file = b"filename" in options

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.part.data += data[start:end]
        if not self.part.is_file and len(self.part.data) > MAX_FIELD_BYTES:
            raise RequestInvalidError(f"the form field {self.part.name!r} is too long")

    def on_part_end(self) -> None:
        if self.part.is_file:
            self.body.files[self.part.name] = bytes(self.part.data)
        else:
            try:
                self.body.fields[self.part.name] = self.part.data.decode("utf-8")
            except UnicodeDecodeError:
                raise RequestInvalidError(
                    f"the form field {self.part.name!r} is not UTF-8"
                ) from None


def _too_large(size: int | None, limit: int) -> PayloadTooLargeError:
    shown = "more than the limit" if size is None else f"{size} bytes"
    return PayloadTooLargeError(
        f"the upload is {shown}; at most {limit} bytes are accepted", max_bytes=limit
    )


async def read_multipart(request: Request, limit: int) -> MultipartBody:
    """Parse a ``multipart/form-data`` body of at most ``limit`` bytes, in memory."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise RequestInvalidError("the body must be multipart/form-data")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise RequestInvalidError("Content-Length is not a number") from None
        if size > limit:
            raise _too_large(size, limit)
    collector = _Collector()
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
        },
    )
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large(None, limit)
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise RequestInvalidError("the multipart body is malformed") from None
    return collector.body
