"""The audit hash chain in the database (:mod:`realname.records.audit` semantics, rows in SQL).

Entries are appended inside the transaction of the state change they record, as its last
statement, so a change and its entry commit together. Appends are serialised: on PostgreSQL by a
transaction-scoped advisory lock, on SQLite by the write lock every transaction takes
(``BEGIN IMMEDIATE``); the unique ``seq`` column is the last guard. Entries hold ids only:
never names, ID numbers or images (masked numbers and session ids).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from realname.records.audit import (
    Actor,
    AuditEntry,
    AuditVerification,
    ChainHead,
    next_entry,
    sign_head,
    verify_chain,
    write_export,
)
from realname.service.store.db import Database
from realname.service.store.models import AuditHeadRow, AuditRow

__all__ = ["AuditStore", "to_entry"]

_ADVISORY_LOCK = 0x7265616C  # "real"


def to_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        time=row.time,
        actor=row.actor,
        outlet=row.outlet,
        action=row.action,
        objects=json.loads(row.objects),
        outcome=row.outcome,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _to_head(row: AuditHeadRow) -> ChainHead:
    return ChainHead(row.seq, row.hash, row.signed_at, row.key_id, row.signature)


class AuditStore:
    def __init__(self, database: Database, signing_key: Ed25519PrivateKey) -> None:
        self.database = database
        self.signing_key = signing_key

    def lock(self, session: Session) -> None:
        """Serialise appends (PostgreSQL: an advisory lock; SQLite's write lock does it)."""
        if self.database.is_postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})

    def append(
        self,
        session: Session,
        actor: Actor,
        action: str,
        outcome: str,
        objects: Mapping[str, str | int] | None = None,
        *,
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry in ``session``'s transaction (call it last, then commit)."""
        self.lock(session)
        last = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).first()
        entry = next_entry(
            None if last is None else to_entry(last),
            actor.name,
            action,
            outcome,
            outlet=actor.outlet,
            objects={k: str(v) for k, v in (objects or {}).items()},
            time=(at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds"),
        )
        session.add(
            AuditRow(
                seq=entry.seq,
                time=entry.time,
                actor=entry.actor,
                outlet=entry.outlet,
                action=entry.action,
                objects=json.dumps(entry.objects, sort_keys=True, ensure_ascii=False),
                outcome=entry.outcome,
                prev_hash=entry.prev_hash,
                hash=entry.hash,
            )
        )
        session.flush()
        return entry

    def record(
        self,
        actor: Actor,
        action: str,
        outcome: str,
        objects: Mapping[str, str | int] | None = None,
        *,
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append in a transaction of its own (for events that change nothing else)."""
        with self.database.transaction() as session:
            return self.append(session, actor, action, outcome, objects, at=at)

    def ensure_head(self, session: Session, entry: AuditEntry) -> None:
        """A signed head at ``entry`` (in ``session``'s transaction), unless one is there."""
        found = session.scalars(
            select(AuditHeadRow).where(AuditHeadRow.seq == entry.seq).limit(1)
        ).first()
        if found is None:
            self._store_head(session, entry)
            session.flush()

    def _store_head(self, session: Session, entry: AuditEntry) -> ChainHead:
        """Sign ``entry`` as the chain's head and add the signed head to ``session``."""
        head = sign_head(entry, self.signing_key)
        session.add(
            AuditHeadRow(
                seq=head.seq,
                hash=head.hash,
                signed_at=head.signed_at,
                key_id=head.key_id,
                signature=head.signature,
            )
        )
        return head

    def entries(self, session: Session) -> list[AuditEntry]:
        return [to_entry(r) for r in session.scalars(select(AuditRow).order_by(AuditRow.id))]

    def heads(self, session: Session) -> list[ChainHead]:
        rows = session.scalars(select(AuditHeadRow).order_by(AuditHeadRow.id))
        return [_to_head(r) for r in rows]

    def sign(self) -> ChainHead | None:
        """Sign the current head if entries were added since the last signed head."""
        with self.database.transaction() as session:
            self.lock(session)
            last = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).first()
            if last is None:
                return None
            head_row = session.scalars(
                select(AuditHeadRow).order_by(AuditHeadRow.id.desc()).limit(1)
            ).first()
            if head_row is not None and head_row.seq == last.seq and head_row.hash == last.hash:
                return None
            return self._store_head(session, to_entry(last))

    def verify(self) -> AuditVerification:
        """Check the stored chain and every signed head against this service's public key."""
        with self.database.transaction() as session:
            entries, heads = self.entries(session), self.heads(session)
        return verify_chain(entries, heads, self.signing_key.public_key())

    def export(self, path: Path) -> tuple[int, int]:
        with self.database.transaction() as session:
            entries, heads = self.entries(session), self.heads(session)
        write_export(path, entries, heads)
        return len(entries), len(heads)
