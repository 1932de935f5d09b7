"""Data keys rotated while the service runs (issue 16).

A new data key is added at the end of ``REALNAME_DATA_KEYS`` (or the key file's ``data_keys``)
and every instance restarted with it, one after the other: from then on fields are encrypted
with the newest key and read with any configured one, so old and new data stay readable
throughout. :func:`rotate_data_keys` (``realname keys rotate``) then moves every stored field to
the newest key in batches, while traffic continues: each batch is one transaction, and each field
is rewritten by one conditional UPDATE that names the value it read, so a request that wrote the
field meanwhile wins and its (already new) value is kept. Once it reports nothing left under an
old key, the old key can be removed from the configuration.

The fields and the purpose each is bound to (the AES-GCM associated data, so that a value
cannot be moved to another row or column) are listed in :data:`ENCRYPTED`; the tests write every
one through the API and read it back after the old key is gone.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from realname.records.crypto import FieldCipher
from realname.service.context import ServiceContext
from realname.service.store.models import (
    CitizenLookup,
    Dispute,
    Identity,
    RegistrationSession,
    Review,
    Subscription,
)

__all__ = ["ENCRYPTED", "EncryptedField", "RotationReport", "rotate_data_keys"]


@dataclass(frozen=True, slots=True)
class EncryptedField:
    """One encrypted column: its model, whether it holds base64 text (else raw bytes), and the
    purpose a row's value is bound to."""

    model: Any
    column: str
    text: bool
    purpose: Callable[[Any], str]

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.column}"


ENCRYPTED: tuple[EncryptedField, ...] = (
    EncryptedField(
        RegistrationSession, "id_number_enc", True, lambda r: f"id_number:session:{r.id}"
    ),
    EncryptedField(RegistrationSession, "name_enc", True, lambda r: f"name:session:{r.id}"),
    EncryptedField(RegistrationSession, "card_enc", True, lambda r: f"id_card:session:{r.id}"),
    EncryptedField(
        RegistrationSession, "portrait_enc", False, lambda r: f"portrait:session:{r.id}"
    ),
    EncryptedField(Identity, "id_number_enc", True, lambda r: f"id_number:identity:{r.id_index}"),
    EncryptedField(Identity, "name_enc", True, lambda r: f"name:identity:{r.id_index}"),
    EncryptedField(Identity, "card_enc", True, lambda r: f"id_card:identity:{r.id_index}"),
    EncryptedField(Subscription, "msisdn_enc", True, lambda r: f"msisdn:{r.msisdn_index}"),
    EncryptedField(Review, "details_enc", True, lambda r: f"evidence:details:{r.id}"),
    EncryptedField(Review, "portrait_enc", False, lambda r: f"evidence:portrait:{r.id}"),
    EncryptedField(Review, "frame_enc", False, lambda r: f"evidence:frame:{r.id}"),
    EncryptedField(Review, "plot_enc", False, lambda r: f"evidence:plot:{r.id}"),
    EncryptedField(Review, "plot_zh_enc", False, lambda r: f"evidence:plot_zh:{r.id}"),
    EncryptedField(CitizenLookup, "portrait_enc", False, lambda r: f"portrait:lookup:{r.id}"),
    EncryptedField(Dispute, "note_enc", True, lambda r: f"note:dispute:{r.id}"),
)


@dataclass(slots=True)
class RotationReport:
    """Per field (``table.column``): values moved to the newest key, values already under it,
    and values another request rewrote meanwhile (left as that request wrote them)."""

    moved: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    raced: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {"moved": self.moved, "current": self.current, "raced": self.raced}

    @property
    def total_moved(self) -> int:
        return sum(self.moved.values())


def _blob(value: Any, text: bool) -> bytes:
    return base64.b64decode(value) if text else bytes(value)


def _rotate_batch(
    ctx: ServiceContext, spec: EncryptedField, after: Any, batch: int, report: RotationReport
) -> Any:
    """Move one batch of ``spec``'s rows past primary key ``after``; the last key seen, or
    None when no row was left."""
    cipher: FieldCipher = ctx.keys.cipher
    model, column = spec.model, getattr(spec.model, spec.column)
    pk = model.id
    with ctx.database.transaction() as session:
        query = select(model).where(column.is_not(None)).order_by(pk).limit(batch)
        if after is not None:
            query = query.where(pk > after)
        rows = list(session.scalars(query))
        for row in rows:
            value = getattr(row, spec.column)
            if cipher.is_current(_blob(value, spec.text)):
                report.current[spec.name] = report.current.get(spec.name, 0) + 1
                continue
            purpose = spec.purpose(row)
            if spec.text:
                new: Any = cipher.encrypt_text(cipher.decrypt_text(value, purpose), purpose)
            else:
                new = cipher.encrypt(cipher.decrypt(value, purpose), purpose)
            done = session.execute(
                update(model)
                .where(pk == row.id, column == value)
                .values({spec.column: new})
                .execution_options(synchronize_session=False)
            )
            key = "moved" if done.rowcount == 1 else "raced"  # type: ignore[attr-defined]
            counts = getattr(report, key)
            counts[spec.name] = counts.get(spec.name, 0) + 1
        return rows[-1].id if rows else None


def rotate_data_keys(
    ctx: ServiceContext,
    *,
    batch: int = 200,
    progress: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Re-encrypt every stored field with the newest data key, ``batch`` rows a transaction;
    ``progress(field, rows)`` after each batch."""
    report = RotationReport()
    for spec in ENCRYPTED:
        after: Any = None
        while True:
            last = _rotate_batch(ctx, spec, after, batch, report)
            if last is None:
                break
            after = last
            if progress is not None:
                progress(spec.name, batch)
    return report
