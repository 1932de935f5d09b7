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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from realname.errors import ConflictError, SetupError
from realname.records.audit import (
    HANDOVER,
    Actor,
    AuditEntry,
    AuditVerification,
    ChainHead,
    handover_objects,
    key_id,
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

    def _chain_key_ids(self, session: Session) -> set[str]:
        """The ids of the keys this chain's heads may be signed with: the first head's key
        and every key a hand-over entry introduced (empty: nothing is signed yet)."""
        first = session.scalars(select(AuditHeadRow).order_by(AuditHeadRow.id).limit(1)).first()
        if first is None:
            return set()
        ids = {first.key_id}
        for row in session.scalars(select(AuditRow).where(AuditRow.action == HANDOVER)):
            objects = json.loads(row.objects)
            ids |= {objects.get("old_key_id", ""), objects.get("new_key_id", "")}
        return ids

    def check_key(self) -> None:
        """Start-up: :class:`SetupError` when this instance's signing key is not one of the
        chain's (a new key configured before its hand-over, or another deployment's key):
        every head it signed would fail verification."""
        mine = key_id(self.signing_key.public_key())
        with self.database.transaction() as session:
            known = self._chain_key_ids(session)
        if known and mine not in known:
            raise SetupError(
                f"the audit signing key {mine} is not one of this audit chain's keys: run "
                "`realname keys hand-over` with the key in use first, then switch to the new one"
            )

    def hand_over(self, actor: Actor, new_public_key: Ed25519PublicKey) -> AuditEntry:
        """Roll the signing key over to ``new_public_key``: one transaction appends the
        hand-over entry (old and new public keys) and signs a head at it with the current key,
        which so authorises it. Instances then restart with the new key; see
        :mod:`realname.records.audit`."""
        old = self.signing_key.public_key()
        if key_id(old) == key_id(new_public_key):
            raise ConflictError("the new audit signing key is the one in use")
        with self.database.transaction() as session:
            self.lock(session)
            known = self._chain_key_ids(session)
            if known and key_id(old) not in known:
                raise ConflictError(
                    "the audit signing key in use is not this chain's: it cannot hand over"
                )
            entry = self.append(
                session, actor, HANDOVER, "ok", handover_objects(old, new_public_key)
            )
            self._store_head(session, entry)
            return entry

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
