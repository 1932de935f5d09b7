"""Data keys and index keys rotated while the service runs (issue 16).

A new data key is added at the end of ``REALNAME_DATA_KEYS`` (or the key file's ``data_keys``)
and every instance restarted with it, one after the other: from then on fields are encrypted
with the newest key and read with any configured one, so old and new data stay readable
throughout. :func:`rotate_data_keys` (``realname keys rotate``) then moves every stored field to
the newest key in batches, while traffic continues: each batch is one transaction, and each field
is rewritten by one conditional UPDATE that names the value it read, so a request that wrote the
field meanwhile wins and its (already new) value is kept. Once it reports nothing left under an
old key, the old key can be removed from the configuration.

Index keys (HMAC, ``REALNAME_INDEX_KEYS`` or the key file's ``index_keys``) rotate the same
way: a new key is added last and every instance restarted; from then on indexes are written with
the newest key and every look-up matches the value's index under any configured key
(:meth:`FieldCipher.indexes`). The rotation first re-indexes the rows whose plaintext it can
read (:data:`REINDEXED`: identities, subscriptions, sessions holding their card): one
conditional UPDATE per row that names the index and the ciphertexts it read, and moves the index
and the purpose of the row's ciphertexts (bound to the index) together, so that no row is ever
left unreadable; a row that a request rewrote meanwhile is left (raced) for the next run. Rows
that hold no plaintext (failures, lock-outs, throttle budgets) cannot be re-indexed:
they are honoured under their old index until they expire; the report counts those recorded
before the run and when the last of them expires. An old index key can be removed after a run
that left nothing under it but those, once they expired.

The fields and the purpose each is bound to (the AES-GCM associated data, so that a value
cannot be moved to another row or column) are listed in :data:`ENCRYPTED`; the tests write every
one through the API and read it back after the old key is gone.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from realname.records.crypto import FieldCipher
from realname.service.context import ServiceContext
from realname.service.store.models import (
    CitizenLookup,
    Dispute,
    Identity,
    IdFailure,
    IdLockout,
    RegistrationSession,
    Review,
    Subscription,
)
from realname.service.throttles import rate

__all__ = [
    "ENCRYPTED",
    "REINDEXED",
    "EncryptedField",
    "IndexedTable",
    "RotationReport",
    "rotate_data_keys",
]


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
    and values another request rewrote meanwhile (left as that request wrote them). Per table
    of :data:`REINDEXED`: rows re-indexed under the newest index key, rows a request rewrote
    meanwhile, rows whose new index another row holds already (a duplicate: left, for the
    invariants to name), and so rows still under an old index key. ``expiring``: rows recorded
    before the run without a plaintext to re-index (maybe under an old index key), honoured
    until ``expiring_until``."""

    moved: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    raced: dict[str, int] = field(default_factory=dict)
    reindexed: dict[str, int] = field(default_factory=dict)
    reindex_raced: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    expiring: dict[str, int] = field(default_factory=dict)
    expiring_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "moved": self.moved,
            "current": self.current,
            "raced": self.raced,
            "reindexed": self.reindexed,
            "reindex_raced": self.reindex_raced,
            "duplicates": self.duplicates,
            "old_index": self.old_index,
            "expiring": self.expiring,
            "expiring_until": None if self.expiring_until is None else str(self.expiring_until),
        }

    @property
    def total_moved(self) -> int:
        return sum(self.moved.values())

    @property
    def total_reindexed(self) -> int:
        return sum(self.reindexed.values())

    @property
    def old_index(self) -> dict[str, int]:
        """Per table, rows left under an old index key (raced or duplicates)."""
        names = set(self.reindex_raced) | set(self.duplicates)
        counts = {n: self.reindex_raced.get(n, 0) + self.duplicates.get(n, 0) for n in names}
        return {name: n for name, n in counts.items() if n}

    def count(self, kind: str, name: str) -> None:
        counts: dict[str, int] = getattr(self, kind)
        counts[name] = counts.get(name, 0) + 1


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
            report.count(key, spec.name)
        return rows[-1].id if rows else None


def _moved(session: Session, statement: Any) -> str:
    """Run one conditional re-index UPDATE in a savepoint: ``reindexed``, ``reindex_raced``
    (no row matched: rewritten meanwhile) or ``duplicates`` (the new index is another row's)."""
    try:
        with session.begin_nested():
            done = session.execute(statement.execution_options(synchronize_session=False))
    except IntegrityError:
        return "duplicates"
    return "reindexed" if done.rowcount == 1 else "reindex_raced"  # type: ignore[attr-defined]


def _identity_values(cipher: FieldCipher, row: Identity) -> dict[str, Any] | None:
    """The identity's columns under the newest index key (ciphertexts bound to the new index,
    newest data key), or None when its index is the newest already."""
    number = cipher.decrypt_text(row.id_number_enc, f"id_number:identity:{row.id_index}")
    new = cipher.index(number)
    if new == row.id_index:
        return None
    name = cipher.decrypt_text(row.name_enc, f"name:identity:{row.id_index}")
    card = cipher.decrypt_text(row.card_enc, f"id_card:identity:{row.id_index}")
    return {
        "id_index": new,
        "id_number_enc": cipher.encrypt_text(number, f"id_number:identity:{new}"),
        "name_enc": cipher.encrypt_text(name, f"name:identity:{new}"),
        "card_enc": cipher.encrypt_text(card, f"id_card:identity:{new}"),
    }


def _reindex_identity(cipher: FieldCipher, session: Session, row: Identity) -> str:
    """Move one identity to the newest index; the look-ups started under its old index and the
    sessions that no longer hold their card move with it, in the same transaction."""
    values = _identity_values(cipher, row)
    if values is None:
        return "current"
    old = row.id_index
    outcome = _moved(
        session,
        update(Identity)
        .where(
            Identity.id == row.id,
            Identity.id_index == old,
            Identity.id_number_enc == row.id_number_enc,
            Identity.name_enc == row.name_enc,
            Identity.card_enc == row.card_enc,
        )
        .values(values),
    )
    if outcome == "reindexed":
        new = values["id_index"]
        for statement in (
            update(CitizenLookup).where(CitizenLookup.id_index == old).values(id_index=new),
            update(RegistrationSession)
            .where(RegistrationSession.id_index == old, RegistrationSession.id_number_enc.is_(None))
            .values(id_index=new),
        ):
            session.execute(statement.execution_options(synchronize_session=False))
    return outcome


def _reindex_subscription(cipher: FieldCipher, session: Session, row: Subscription) -> str:
    old = row.msisdn_index
    msisdn = cipher.decrypt_text(row.msisdn_enc, f"msisdn:{old}")
    new = cipher.index("msisdn:" + msisdn)
    if new == old:
        return "current"
    return _moved(
        session,
        update(Subscription)
        .where(
            Subscription.id == row.id,
            Subscription.msisdn_index == old,
            Subscription.msisdn_enc == row.msisdn_enc,
        )
        .values(msisdn_index=new, msisdn_enc=cipher.encrypt_text(msisdn, f"msisdn:{new}")),
    )


def _reindex_session(cipher: FieldCipher, session: Session, row: RegistrationSession) -> str:
    if row.id_number_enc is None:
        return "current"
    new = cipher.index(cipher.decrypt_text(row.id_number_enc, f"id_number:session:{row.id}"))
    if new == row.id_index:
        return "current"
    return _moved(
        session,
        update(RegistrationSession)
        .where(
            RegistrationSession.id == row.id,
            RegistrationSession.id_index == row.id_index,
            RegistrationSession.id_number_enc == row.id_number_enc,
        )
        .values(id_index=new),
    )


@dataclass(frozen=True, slots=True)
class IndexedTable:
    """A table whose index can be recomputed from a plaintext it holds (encrypted)."""

    model: Any
    holds: Callable[[], ColumnElement[bool]]  # the rows holding that plaintext
    move: Callable[[FieldCipher, Session, Any], str]

    @property
    def name(self) -> str:
        return str(self.model.__tablename__)


REINDEXED: tuple[IndexedTable, ...] = (
    IndexedTable(Identity, lambda: Identity.id.is_not(None), _reindex_identity),
    IndexedTable(Subscription, lambda: Subscription.id.is_not(None), _reindex_subscription),
    IndexedTable(
        RegistrationSession,
        lambda: (
            RegistrationSession.id_number_enc.is_not(None)
            & RegistrationSession.id_index.is_not(None)
        ),
        _reindex_session,
    ),
)


def _reindex_batch(
    ctx: ServiceContext, table: IndexedTable, after: Any, batch: int, report: RotationReport
) -> Any:
    """Re-index one batch of ``table``'s rows past primary key ``after``; the last key seen, or
    None when no row was left."""
    pk = table.model.id
    with ctx.database.transaction() as session:
        query = select(table.model).where(table.holds()).order_by(pk).limit(batch)
        if after is not None:
            query = query.where(pk > after)
        rows = list(session.scalars(query))
        for row in rows:
            outcome = table.move(ctx.keys.cipher, session, row)
            if outcome != "current":
                report.count(outcome, table.name)
        return rows[-1].id if rows else None


def _count_expiring(ctx: ServiceContext, started: datetime, report: RotationReport) -> None:
    """The rows without a plaintext, recorded before the run, not yet expired (maybe under an
    old index key, matched under every key until they expire), and the look-up budgets per ID
    (kept under every index key), spent before the run: they lapse within their window."""
    window = timedelta(seconds=ctx.settings.lockout_window_s)
    lockout = timedelta(seconds=ctx.settings.lockout_s)
    now = ctx.now()
    per_id = rate(ctx.settings.lookup_rate_per_id, "REALNAME_LOOKUP_RATE_PER_ID")
    report.expiring_until = started + timedelta(seconds=per_id.get_expiry())
    failures = [IdFailure.at <= started, IdFailure.at > now - window]
    lockouts = [IdLockout.until <= started + lockout, IdLockout.until > now]
    with ctx.database.transaction() as session:
        for name, last, where in (
            ("id_failures", func.max(IdFailure.at), failures),
            ("id_lockouts", func.max(IdLockout.until), lockouts),
        ):
            count, until = session.execute(select(func.count(), last).where(*where)).one()
            if not count:
                continue
            report.expiring[name] = int(count)
            end = until + window if name == "id_failures" else until
            report.expiring_until = max(report.expiring_until, end)


def _in_batches(
    step: Callable[[Any], Any], name: str, batch: int, progress: Callable[[str, int], None] | None
) -> None:
    after: Any = None
    while (last := step(after)) is not None:
        after = last
        if progress is not None:
            progress(name, batch)


def rotate_data_keys(
    ctx: ServiceContext,
    *,
    batch: int = 200,
    progress: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Re-index every row of :data:`REINDEXED` under the newest index key, then re-encrypt every
    stored field with the newest data key, ``batch`` rows a transaction; ``progress(name,
    rows)`` after each batch (a table's name, then a field's)."""
    report = RotationReport()
    started = ctx.now()
    for table in REINDEXED:

        def reindex(after: Any, table: IndexedTable = table) -> Any:
            return _reindex_batch(ctx, table, after, batch, report)

        _in_batches(reindex, table.name, batch, progress)
    for spec in ENCRYPTED:

        def rotate(after: Any, spec: EncryptedField = spec) -> Any:
            return _rotate_batch(ctx, spec, after, batch, report)

        _in_batches(rotate, spec.name, batch, progress)
    _count_expiring(ctx, started, report)
    return report
