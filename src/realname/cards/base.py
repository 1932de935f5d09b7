"""The card reader interface. Constructing a reader does nothing; ``load()`` loads its models
once (about 4 s for RapidOCR), and ``read()`` is then safe to call from worker threads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal, Protocol, runtime_checkable

from realname.cards.reading import IdCardReading, Image

__all__ = ["IdCardReader"]


@runtime_checkable
class IdCardReader(Protocol):
    name: str
    version: str

    def load(self) -> None: ...

    def read(
        self,
        images: Sequence[Image],
        *,
        today: date,
        given: Mapping[str, str] | None = None,
        given_source: Literal["typed", "chip"] = "typed",
    ) -> IdCardReading:
        """Read one card from one or more photos (the front, and optionally the back; or one
        photo holding both sides, as a photocopy does). ``given``: fields typed by the clerk or
        returned by a chip reader, compared with what the photo reads (``disagreements``).
        Raises :class:`~realname.errors.CardNotFoundError` when no side is found,
        :class:`~realname.errors.MultipleCardsError` for two fronts or two backs."""
        ...
