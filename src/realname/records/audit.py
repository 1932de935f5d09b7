"""A tamper-evident audit log: a hash chain of entries, with the chain head signed (Ed25519).

Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting or
reordering any entry breaks every later link; signed heads (``seq``, ``hash``, time) pin how long
the chain was when signed, so cutting entries off the end is detected too. :func:`verify_chain`
checks an exported log offline and names the first bad entry. The service (a later issue) stores
entries in its database and signs the head at intervals; this module has no database in it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from realname.errors import InputError

__all__ = [
    "GENESIS",
    "SYSTEM",
    "Actor",
    "AuditChain",
    "AuditEntry",
    "AuditVerification",
    "ChainHead",
    "next_entry",
    "read_export",
    "sign_head",
    "verify_chain",
    "write_export",
]

GENESIS = "0" * 64


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    time: str  # ISO 8601, UTC
    actor: str
    outlet: str
    action: str
    objects: dict[str, str]
    outcome: str
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("hash")
        return out

    def computed_hash(self) -> str:
        return hashlib.sha256(_canonical(self.body())).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str
    signed_at: str
    key_id: str
    signature: str  # base64 Ed25519 over "seq:hash:signed_at"

    def message(self) -> bytes:
        return f"{self.seq}:{self.hash}:{self.signed_at}".encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_head(
    entry: AuditEntry, private_key: Ed25519PrivateKey, *, at: str | None = None
) -> ChainHead:
    signed_at = at or datetime.now(UTC).isoformat(timespec="seconds")
    unsigned = ChainHead(entry.seq, entry.hash, signed_at, key_id(private_key.public_key()), "")
    signature = base64.b64encode(private_key.sign(unsigned.message())).decode()
    return ChainHead(unsigned.seq, unsigned.hash, signed_at, unsigned.key_id, signature)


@dataclass(slots=True)
class AuditChain:
    """Builds entries in order (in memory; the service persists them)."""

    entries: list[AuditEntry] = field(default_factory=list)

    def append(
        self,
        actor: str,
        action: str,
        outcome: str,
        *,
        outlet: str = "",
        objects: dict[str, str] | None = None,
        time: str | None = None,
    ) -> AuditEntry:
        last = self.entries[-1] if self.entries else None
        entry = next_entry(
            last, actor, action, outcome, outlet=outlet, objects=objects or {}, time=time
        )
        self.entries.append(entry)
        return entry


def next_entry(
    last: AuditEntry | None,
    actor: str,
    action: str,
    outcome: str,
    *,
    outlet: str = "",
    objects: dict[str, str],
    time: str | None = None,
) -> AuditEntry:
    """The entry that follows ``last`` (None: the first), its hash computed."""
    draft = AuditEntry(
        seq=0 if last is None else last.seq + 1,
        time=time or datetime.now(UTC).isoformat(timespec="milliseconds"),
        actor=actor,
        outlet=outlet,
        action=action,
        objects=dict(objects),
        outcome=outcome,
        prev_hash=GENESIS if last is None else last.hash,
        hash="",
    )
    return AuditEntry(**{**draft.body(), "hash": draft.computed_hash()})


@dataclass(frozen=True, slots=True)
class AuditVerification:
    ok: bool
    entries: int
    heads: int
    first_bad: int | None  # position in the file's entry list
    reason: str
    first_seq: int = 0  # the sequence number the entries start at (0: the genesis)
    # True when the entries start at the genesis or at a signed head that pins the link into
    # the first of them (a slice's anchor); False for a slice nothing anchors.
    anchored: bool = True
    bad_seq: int | None = None  # the sequence number of the bad entry (first_seq + first_bad)


def _signature_ok(head: ChainHead, public_key: Ed25519PublicKey | None) -> bool:
    if public_key is None:
        return True
    try:
        public_key.verify(base64.b64decode(head.signature), head.message())
    except (InvalidSignature, ValueError):
        return False
    return True


def _check_heads(
    entries: Sequence[AuditEntry], heads: Sequence[ChainHead], public_key: Ed25519PublicKey | None
) -> tuple[tuple[int | None, str] | None, bool]:
    """(the first problem as (position, reason) or None, whether the slice is anchored)."""
    first_seq = entries[0].seq if entries else 0
    anchored = first_seq == 0
    for head in heads:
        position = head.seq - first_seq
        if not _signature_ok(head, public_key):
            inside = 0 <= position < len(entries)
            return (
                position if inside else None,
                f"the signature of the head at entry {head.seq} is not valid",
            ), anchored
        if head.seq == first_seq - 1:
            if head.hash != entries[0].prev_hash:
                reason = (
                    f"entry {first_seq} does not link to the head signed at entry {head.seq} "
                    f"({head.signed_at})"
                )
                return (0, reason), anchored
            anchored = True
        elif head.seq < first_seq:
            continue  # before the slice: it covers entries that are not here
        elif position >= len(entries):
            reason = (
                f"a head signed at {head.signed_at} covers entry {head.seq}, which is missing: "
                "entries were cut off"
            )
            return (len(entries), reason), anchored
        elif entries[position].hash != head.hash:
            reason = f"entry {head.seq} differs from the one signed at {head.signed_at}"
            return (position, reason), anchored
    return None, anchored


def verify_chain(
    entries: Sequence[AuditEntry],
    heads: Sequence[ChainHead] = (),
    public_key: Ed25519PublicKey | None = None,
) -> AuditVerification:
    """Check every link, every hash and every signed head; name the first bad entry by its
    sequence number.

    The entries may be a SLICE of the chain: when the first one's ``seq`` is k > 0 they are
    checked from there (numbers consecutive from k, links, hashes). The slice is *anchored*
    when a head signed at k - 1 whose hash is the first entry's ``prev_hash`` is given; a head
    at k - 1 with another hash is an error (the link into the slice was forged), and without
    one the result is ok but ``anchored`` is False (the caller decides whether that is
    enough). Heads before the slice other than the anchor cover entries that are not there:
    only their signatures are checked. Heads past the last entry mean entries were cut off.
    """
    first_seq = entries[0].seq if entries else 0

    def bad(index: int | None, reason: str) -> AuditVerification:
        seq = None if index is None else first_seq + index
        return AuditVerification(
            False, len(entries), len(heads), index, reason, first_seq, False, seq
        )

    prev = GENESIS if first_seq == 0 else entries[0].prev_hash
    for i, entry in enumerate(entries):
        seq = first_seq + i
        if entry.seq != seq:
            return bad(
                i, f"entry {seq} has sequence number {entry.seq}: entries deleted or reordered"
            )
        if entry.prev_hash != prev:
            return bad(i, f"entry {seq} does not link to the entry before it")
        if entry.computed_hash() != entry.hash:
            return bad(i, f"entry {seq} was altered (its hash does not match its content)")
        prev = entry.hash
    problem, anchored = _check_heads(entries, heads, public_key)
    if problem is not None:
        return bad(*problem)
    reason = "the chain is intact"
    if first_seq > 0:
        reason += f" from entry {first_seq}" + ("" if anchored else " (no signed head anchors it)")
    return AuditVerification(
        True, len(entries), len(heads), None, reason, first_seq, anchored, None
    )


def write_export(path: Path, entries: Iterable[AuditEntry], heads: Iterable[ChainHead]) -> Path:
    """JSON lines: ``{"type": "entry", ...}`` in order, then ``{"type": "head", ...}``."""
    with path.open("w", encoding="utf-8") as fh:
        for entry in entries:
            fh.write(json.dumps({"type": "entry", **asdict(entry)}, ensure_ascii=False) + "\n")
        for head in heads:
            fh.write(json.dumps({"type": "head", **asdict(head)}) + "\n")
    return path


def read_export(path: Path) -> tuple[list[AuditEntry], list[ChainHead]]:
    entries: list[AuditEntry] = []
    heads: list[ChainHead] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record.pop("type")
            if kind == "entry":
                entries.append(AuditEntry(**record))
            elif kind == "head":
                heads.append(ChainHead(**record))
            else:
                raise ValueError(kind)
        except (ValueError, TypeError, KeyError) as exc:
            raise InputError(
                f"line {number} of {path.name} is not an audit record: {exc}"
            ) from None
    return entries, heads


class Actor:
    """Who did it, as the audit log names them: a username (staff) and an outlet id."""

    __slots__ = ("name", "outlet")

    def __init__(self, name: str, outlet: int | str | None = None) -> None:
        self.name = name
        self.outlet = "" if outlet is None else str(outlet)


SYSTEM = Actor("system")
