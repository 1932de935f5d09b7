"""A tamper-evident audit log: a hash chain of entries, with the chain head signed (Ed25519).

Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting or
reordering any entry breaks every later link; signed heads (``seq``, ``hash``, time) pin how long
the chain was when signed, so cutting entries off the end is detected too. :func:`verify_chain`
checks an exported log offline and names the first bad entry. The service (a later issue) stores
entries in its database and signs the head at intervals; this module has no database in it.

The signing key rolls over with a hand-over entry (``audit.key_handover``, issue 16) that names
the old and the new public key. The old key signs a head at or after it (so its holder
authorised the hand-over), and from that entry on heads signed by the new key are valid; the old
key stays valid too (instances restarted one after another sign with either for a while). A
verifier given any one of the chain's keys follows the hand-overs to the others: a head signed
by a key that no hand-over introduced, or by the new key before its hand-over, is an error.
Every signed head pins the hash of the whole chain before it, so the newest key's heads vouch
for the entries signed under the older ones too. (A compromised key is not this procedure: its
heads would stay valid.)
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
    "HANDOVER",
    "SYSTEM",
    "Actor",
    "AuditChain",
    "AuditEntry",
    "AuditVerification",
    "ChainHead",
    "handover_objects",
    "key_id",
    "next_entry",
    "read_export",
    "sign_head",
    "verify_chain",
    "write_export",
]

GENESIS = "0" * 64
HANDOVER = "audit.key_handover"  # the action of a signing key's hand-over entry


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


def _raw(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return base64.b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def handover_objects(old: Ed25519PublicKey, new: Ed25519PublicKey) -> dict[str, str]:
    """The objects of a hand-over entry from ``old`` to ``new`` (key ids and raw keys)."""
    return {
        "old_key_id": key_id(old),
        "old_public_key": _raw(old),
        "new_key_id": key_id(new),
        "new_public_key": _raw(new),
    }


@dataclass(frozen=True, slots=True)
class _Key:
    public: Ed25519PublicKey
    from_seq: int  # heads it signs must be at or after this entry (its hand-over)


def _public(text: str) -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError:
        return None


def _chain_keys(
    entries: Sequence[AuditEntry], anchor: Ed25519PublicKey
) -> tuple[dict[str, _Key], list[AuditEntry], tuple[int | None, str] | None]:
    """The chain's signing keys from its hand-over entries, the hand-overs, and the first
    problem (position, reason): a hand-over from a key not yet introduced, a key that does
    not match its id, or an ``anchor`` that is none of the keys."""
    first_seq = entries[0].seq if entries else 0
    handovers = [e for e in entries if e.action == HANDOVER]
    if not handovers:
        return {key_id(anchor): _Key(anchor, 0)}, [], None
    keys: dict[str, _Key] = {}
    for entry in handovers:
        o = entry.objects
        old, new = _public(o.get("old_public_key", "")), _public(o.get("new_public_key", ""))
        position = entry.seq - first_seq
        if (
            old is None
            or new is None
            or key_id(old) != o.get("old_key_id")
            or key_id(new) != o.get("new_key_id")
        ):
            return (
                keys,
                handovers,
                (position, f"the key hand-over at entry {entry.seq} is malformed"),
            )
        if not keys:
            keys[key_id(old)] = _Key(old, 0)
        elif key_id(old) not in keys:
            reason = (
                f"the key hand-over at entry {entry.seq} comes from key {key_id(old)}, "
                "which no earlier hand-over introduced"
            )
            return keys, handovers, (position, reason)
        keys.setdefault(key_id(new), _Key(new, entry.seq))
    found = keys.get(key_id(anchor))
    if found is None or _raw(found.public) != _raw(anchor):
        return keys, handovers, (None, "the public key given is none of this chain's signing keys")
    return keys, handovers, None


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


def _signature_problem(head: ChainHead, keys: dict[str, _Key] | None) -> str | None:
    """Why ``head``'s signature is not valid under the chain's ``keys`` (None: it is, or no
    key was given and signatures are not checked)."""
    if keys is None:
        return None
    key = keys.get(head.key_id)
    if key is None:
        return (
            f"the head at entry {head.seq} is signed by key {head.key_id}, which no hand-over "
            "introduced"
        )
    if head.seq < key.from_seq:
        return (
            f"the head at entry {head.seq} is signed by key {head.key_id} before its hand-over "
            f"at entry {key.from_seq}"
        )
    try:
        key.public.verify(base64.b64decode(head.signature), head.message())
    except (InvalidSignature, ValueError):
        return f"the signature of the head at entry {head.seq} is not valid"
    return None


def _unauthorised_handover(
    entries: Sequence[AuditEntry], heads: Sequence[ChainHead], handovers: Sequence[AuditEntry]
) -> tuple[int, str] | None:
    """A hand-over that no head signed by its old key covers (position, reason), or None."""
    first_seq = entries[0].seq if entries else 0
    for entry in handovers:
        old = entry.objects.get("old_key_id")
        if not any(h.key_id == old and h.seq >= entry.seq for h in heads):
            reason = (
                f"the key hand-over at entry {entry.seq} is not signed by the key it hands "
                "over from"
            )
            return entry.seq - first_seq, reason
    return None


def _check_heads(
    entries: Sequence[AuditEntry], heads: Sequence[ChainHead], keys: dict[str, _Key] | None
) -> tuple[tuple[int | None, str] | None, bool]:
    """(the first problem as (position, reason) or None, whether the slice is anchored)."""
    first_seq = entries[0].seq if entries else 0
    anchored = first_seq == 0
    for head in heads:
        position = head.seq - first_seq
        signature = _signature_problem(head, keys)
        if signature is not None:
            inside = 0 <= position < len(entries)
            return (position if inside else None, signature), anchored
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
    checked from there (numbers consecutive from k, links, hashes). With ``public_key``, every
    head's signature is checked under the chain's keys: ``public_key`` and the keys its
    hand-over entries introduce (see the module docstring); a slice with no hand-over in it is
    checked against ``public_key`` alone. The slice is *anchored*
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
    keys: dict[str, _Key] | None = None
    if public_key is not None:
        keys, handovers, wrong = _chain_keys(entries, public_key)
        if wrong is not None:
            return bad(*wrong)
    problem, anchored = _check_heads(entries, heads, keys)
    if problem is not None:
        return bad(*problem)
    if keys is not None:
        unauthorised = _unauthorised_handover(entries, heads, handovers)
        if unauthorised is not None:
            return bad(*unauthorised)
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
