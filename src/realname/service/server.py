"""uvicorn's HTTP/1.1 protocol with a time limit on a request's head.

uvicorn (0.54, h11) arms no timer before a request's head has arrived: a connection that sends
nothing, or trickles header bytes, is held open for ever (``timeout_keep_alive`` only runs
between requests, and each byte received cancels it; ``h11_max_incomplete_event_size`` bounds
the head's size, not its time). :func:`header_timeout_protocol` returns the protocol class to
pass as ``uvicorn.Config(http=...)``: a connection whose head is not complete within
``timeout_s`` of the connection opening, or of the previous answer, is closed.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from realname.errors import SetupError

__all__ = ["header_timeout_protocol"]


def header_timeout_protocol(timeout_s: float) -> type[H11Protocol]:
    """An ``H11Protocol`` that closes a connection whose request head takes over
    ``timeout_s``."""
    if not timeout_s > 0:
        raise SetupError("timeout_s must be a positive number of seconds")

    class HeaderTimeoutProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(timeout_s, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()  # the head never came: nothing to answer

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._cancel_head_timer()  # the head has arrived

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm_head_timer()  # the next request's head, on a kept-alive connection

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol
