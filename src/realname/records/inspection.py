"""The regulator's inspection package: a folder that proves itself offline (issue 15).

``realname inspect export`` writes one for the local days ``from``..``to``; ``realname inspect
verify`` checks it on a machine with no database and no service, given the service's audit
public key (PEM), obtained apart from the package. The folder holds::

    manifest.json    what the package is: the period, the key id, every other file with its
                     SHA-256 and size, the slice's first and last sequence numbers
    manifest.sig     the Ed25519 signature (base64) of manifest.json's bytes, by the audit key
    audit.jsonl      the audit-log slice with the signed chain heads that cover it
                     (:func:`realname.records.audit.write_export`'s format)
    report.json      the report of the period (:meth:`realname.records.reports.Report.to_dict`)
    report.csv       the same report as CSV (:meth:`~realname.records.reports.Report.to_csv`)
    kept_days.json   the day counters kept for days whose entries were pruned (the report adds
                     them: :class:`realname.records.reports.KeptDay`)
    flags.json       the anomaly flags of the period (:mod:`realname.records.flags`)
    versions.json    the policy, engines and software in force when it was exported

The slice. It holds every entry whose local day is in the period, and it is widened at each end
to the nearest signed head written by the service while it ran: from the entry after the last
head before the period (that head anchors the slice: it pins the hash the first entry links to)
to the first head at or after the period's last entry, and one signing interval further where
an edge entry is still of the period, so that an entry of the day before and of the day after
show that none of the period was left out (the export's use case does this; verify notes an edge
it cannot show). A few entries of the neighbouring days (``audit_sign_interval_s``) are
therefore in it; the report counts only the period's days. Heads signed at the time the entries
were written are what make an edit of the database's rows visible: a head signed at export time
would sign the rows as they are now, so the export signs a new head only where the period's
last entries have none yet.

What :func:`verify_package` checks, and how it names what is wrong:

* the manifest's signature with the given key (``manifest.sig``; a key id other than the
  manifest's is named as the wrong key);
* every file of the manifest is there with its SHA-256 and size (named: altered, missing), and
  no other file is (named: added);
* the slice (by sequence number): every entry's hash of its content (altered), consecutive
  numbers (removed, added or moved), every link, every head's signature and hash, the anchor
  at the start, a signed head at the last entry (an entry past it is added), and the first and
  last numbers the manifest states;
* no unmasked ID number (18 characters) or mobile number (11 digits) in any file (named by
  file and line, or by entry);
* the report: recomputed from the slice's entries of the period plus the kept day counters, it
  must equal ``report.json`` and ``report.csv`` (the first differences named).

The flags are signed but not recomputed: they read sessions' openings up to 90 days before the
period and pseudonymous ID keys, which are not in the package.

What is in it about people: audit entries hold ids, masked ID numbers (``1101**********457X``)
and masked mobile numbers (``138****5678``), never names or images; the actors are staff
*account* names (``clerk_a``), which a deployment should keep apart from personal names (an
employee code, say): the regulator needs to know which account decided what, and the hash
chain covers them, so they cannot be replaced without breaking it. The flags' acknowledgement
notes (free text a supervisor typed) are left out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from realname.errors import ConflictError, InputError, RealnameError
from realname.records.audit import (
    GENESIS,
    AuditEntry,
    ChainHead,
    key_id,
    read_export,
    verify_chain,
)
from realname.records.reports import KeptDay, Report, build_report, day_counts, local_time

__all__ = [
    "AUDIT_FILE",
    "FILES",
    "FORMAT",
    "MANIFEST",
    "SIGNATURE",
    "PackageProblem",
    "PackageVerification",
    "ProblemKind",
    "find_personal_data",
    "period_entries",
    "slice_bounds",
    "verify_package",
    "write_package",
]

FORMAT = "realname-inspection/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
AUDIT_FILE = "audit.jsonl"
REPORT_JSON = "report.json"
REPORT_CSV = "report.csv"
KEPT_FILE = "kept_days.json"
FLAGS_FILE = "flags.json"
VERSIONS_FILE = "versions.json"
#: The files the manifest lists, in its order.
FILES = (AUDIT_FILE, REPORT_JSON, REPORT_CSV, KEPT_FILE, FLAGS_FILE, VERSIONS_FILE)
_MAX_NAMED = 10  # entries named one by one in a problem before "and N more"

# An ID number (17 digits and a digit or X) or a mobile number (11 digits from 13..19, with an
# optional +86/86) standing alone: not inside a longer run of letters and digits, so that a
# hash, a signature or an id that happens to hold such a run of digits is not taken for one.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86)?1[3-9]\d{9}(?![0-9A-Za-z])")


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _offset_minutes(offset: timedelta) -> int:
    return round(offset.total_seconds() / 60)


def period_entries(
    entries: Sequence[AuditEntry], start: date, end: date, utc_offset: timedelta
) -> list[AuditEntry]:
    """The entries whose local day (at ``utc_offset``) is in ``start``..``end``."""
    return [e for e in entries if start <= local_time(e, utc_offset).date() <= end]


def slice_bounds(
    period_first: int, period_last: int, head_seqs: Sequence[int]
) -> tuple[int, int | None]:
    """The sequence numbers the slice of a period whose entries are ``period_first``..
    ``period_last`` runs over: from the entry after the last head before the period (0: the
    first held) to the first head at or after its last entry (None: there is none yet, one must
    be signed at ``period_last``)."""
    before = [h for h in head_seqs if h < period_first]
    after = [h for h in head_seqs if h >= period_last]
    return (max(before) + 1 if before else 0), (min(after) if after else None)


def find_personal_data(name: str, text: str) -> list[str]:
    """Where ``text`` (the file ``name``) holds an unmasked ID or mobile number, one sentence
    each (the number itself is never repeated: only its kind and where it is)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        kinds = [k for k, p in (("ID", _ID_NUMBER), ("mobile", _MOBILE)) if p.search(line)]
        if not kinds:
            continue
        where = f"{name} line {number}"
        if name == AUDIT_FILE:
            seq = _line_seq(line)
            if seq is not None:
                where = f"entry {seq} ({where})"
        found.append(f"{where} holds an unmasked {' and an unmasked '.join(kinds)} number")
    return found


def _line_seq(line: str) -> int | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if isinstance(record, dict) and record.get("type") == "entry":
        seq = record.get("seq")
        return seq if isinstance(seq, int) else None
    return None


def _kept_dict(day: KeptDay) -> dict[str, Any]:
    return {"outlet": day.outlet, "day": day.day.isoformat(), "counts": dict(day.counts)}


def _flag_dict(flag: Mapping[str, Any]) -> dict[str, Any]:
    """A flag as the package holds it: an acknowledgement keeps who and when, not its note
    (free text)."""
    out = dict(flag)
    ack = out.get("acknowledged")
    if isinstance(ack, Mapping):
        out["acknowledged"] = {k: v for k, v in ack.items() if k != "note"}
    return out


def _package_contents(
    *,
    entries: Sequence[AuditEntry],
    heads: Sequence[ChainHead],
    report: Report,
    flags: Sequence[Mapping[str, Any]],
    versions: Mapping[str, Any],
    kept: Sequence[KeptDay],
) -> dict[str, bytes]:
    """The bytes of every file the manifest lists, by name, in :data:`FILES`' order."""
    contents: dict[str, bytes] = {}
    # the lines of realname.records.audit.write_export
    audit_lines = [json.dumps({"type": "entry", **asdict(e)}, ensure_ascii=False) for e in entries]
    audit_lines += [json.dumps({"type": "head", **asdict(h)}) for h in heads]
    contents[AUDIT_FILE] = "".join(line + "\n" for line in audit_lines).encode()
    contents[REPORT_JSON] = _json_bytes(report.to_dict())
    contents[REPORT_CSV] = report.to_csv().encode()
    contents[KEPT_FILE] = _json_bytes([_kept_dict(k) for k in kept])
    contents[FLAGS_FILE] = _json_bytes([_flag_dict(f) for f in flags])
    contents[VERSIONS_FILE] = _json_bytes(dict(versions))
    return contents


def write_package(
    folder: Path,
    *,
    entries: Sequence[AuditEntry],
    heads: Sequence[ChainHead],
    report: Report,
    flags: Sequence[Mapping[str, Any]],
    versions: Mapping[str, Any],
    kept: Sequence[KeptDay],
    signing_key: Ed25519PrivateKey,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """Write the package of ``report``'s period into ``folder`` (created; it must not exist or
    be empty: else ``InputError``) and return its manifest. Refuses (``ConflictError``: a
    broken invariant of the records, nothing written) a package that would hold an unmasked ID
    or mobile number."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder} exists and is not an empty folder")
    contents = _package_contents(
        entries=entries, heads=heads, report=report, flags=flags, versions=versions, kept=kept
    )
    leaks = [
        problem
        for name, data in contents.items()
        for problem in find_personal_data(name, data.decode())
    ]
    if leaks:
        raise ConflictError(f"refusing to export: {leaks[0]}" + _more(len(leaks) - 1))
    manifest = {
        "format": FORMAT,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "period": report.period,
        "utc_offset_minutes": _offset_minutes(report.utc_offset),
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "key_id": key_id(signing_key.public_key()),
        "audit": {
            "entries": len(entries),
            "first_seq": entries[0].seq if entries else None,
            "last_seq": entries[-1].seq if entries else None,
            "heads": len(heads),
        },
        "files": [
            {"name": name, "sha256": _sha256(contents[name]), "size": len(contents[name])}
            for name in FILES
        ],
    }
    manifest_bytes = _json_bytes(manifest)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    (folder / MANIFEST).write_bytes(manifest_bytes)
    signature = base64.b64encode(signing_key.sign(manifest_bytes)).decode()
    (folder / SIGNATURE).write_text(signature + "\n", encoding="ascii")
    return manifest


def _more(count: int) -> str:
    return f" (and {count} more)" if count > 0 else ""


# -- verification ------------------------------------------------------------------------------


ProblemKind = Literal["signature", "file", "entry", "head", "report", "personal_data", "manifest"]


@dataclass(frozen=True, slots=True)
class PackageProblem:
    """One thing wrong with a package: its kind, the file and the entry (sequence number) it
    concerns where it concerns one, and a sentence that says what is wrong."""

    kind: ProblemKind
    message: str
    file: str | None = None
    seq: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class PackageVerification:
    """The result of :func:`verify_package`: ``ok`` when nothing is wrong."""

    ok: bool
    problems: tuple[PackageProblem, ...]
    start: date | None
    end: date | None
    files: int  # the files the manifest lists
    entries: int  # the entries in the slice
    heads: int
    key_id: str  # of the key given
    # What the package cannot show, not a fault: e.g. no entry after the period is in the slice
    # (the period ends at the log's end), so it cannot show that none of the period follows.
    notes: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        if self.ok:
            return (
                f"the package of {self.start}..{self.end} is intact: {self.files} files, "
                f"{self.entries} entries, {self.heads} signed heads"
            )
        return "; ".join(p.message for p in self.problems)


def _signature_ok(key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature.strip(), validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _package_files(folder: Path) -> Iterator[str]:
    """Every file under ``folder``, as a relative POSIX path (links and folders included)."""
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            path = Path(root) / name
            if path.is_dir() and not path.is_symlink():
                continue
            yield path.relative_to(folder).as_posix()


def _check_manifest(
    folder: Path, key: Ed25519PublicKey, problems: list[PackageProblem]
) -> dict[str, Any] | None:
    manifest_path, signature_path = folder / MANIFEST, folder / SIGNATURE
    if not manifest_path.is_file():
        problems.append(PackageProblem("file", f"{MANIFEST} is missing", MANIFEST))
        return None
    manifest_bytes = manifest_path.read_bytes()
    try:
        manifest = json.loads(manifest_bytes)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"not a manifest of {FORMAT}")
        if not isinstance(manifest.get("files"), list):
            raise ValueError("it lists no files")
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(PackageProblem("manifest", f"{MANIFEST} is not readable: {exc}", MANIFEST))
        return None
    given = key_id(key)
    if not signature_path.is_file():
        problems.append(PackageProblem("file", f"{SIGNATURE} is missing", SIGNATURE))
    elif not _signature_ok(key, signature_path.read_text(errors="replace"), manifest_bytes):
        if manifest.get("key_id") != given:
            message = (
                f"{SIGNATURE} does not verify: the manifest names key {manifest.get('key_id')}, "
                f"the public key given is {given} (the wrong key, or the manifest was altered)"
            )
        else:
            message = f"{SIGNATURE} does not verify: {MANIFEST} or its signature was altered"
        problems.append(PackageProblem("signature", message, SIGNATURE))
    return manifest


def _check_files(
    folder: Path, manifest: Mapping[str, Any], problems: list[PackageProblem]
) -> dict[str, bytes]:
    """The listed files' bytes (those present), with a problem for each one altered, missing
    or added."""
    listed: dict[str, Mapping[str, Any]] = {}
    for item in manifest.get("files", []):
        name = item.get("name") if isinstance(item, Mapping) else None
        if name in FILES:  # never a path out of the folder
            listed[str(name)] = item
        else:
            problems.append(
                PackageProblem("manifest", f"{MANIFEST} lists an unknown file {name!r}", MANIFEST)
            )
    present = set(_package_files(folder)) - {MANIFEST, SIGNATURE}
    data: dict[str, bytes] = {}
    for name, item in listed.items():
        path = folder / name
        if name not in present or not path.is_file():
            problems.append(PackageProblem("file", f"{name} is missing", name))
            continue
        raw = path.read_bytes()
        data[name] = raw
        if _sha256(raw) != item.get("sha256") or len(raw) != item.get("size"):
            problems.append(
                PackageProblem(
                    "file", f"{name} was altered (its SHA-256 is not the manifest's)", name
                )
            )
    for name in sorted(present - set(listed)):
        problems.append(PackageProblem("file", f"{name} was added (not in the manifest)", name))
    for name in FILES:
        if name not in listed:
            problems.append(
                PackageProblem("manifest", f"{MANIFEST} does not list {name}", MANIFEST)
            )
    return data


def _entry_problems(entries: Sequence[AuditEntry]) -> list[PackageProblem]:
    """Every entry altered, every gap, repeat and broken link, by sequence number."""
    problems: list[PackageProblem] = []
    altered = [e.seq for e in entries if e.computed_hash() != e.hash]
    if altered:
        named = ", ".join(str(s) for s in altered[:_MAX_NAMED]) + _more(len(altered) - _MAX_NAMED)
        message = (
            f"entry {named} was altered (its hash does not match its content)"
            if len(altered) == 1
            else f"entries {named} were altered (their hashes do not match their content)"
        )
        problems.append(PackageProblem("entry", message, AUDIT_FILE, altered[0]))
    for before, entry in pairwise(entries):
        expected = before.seq + 1
        if entry.seq > expected:
            gap = (
                f"entry {expected} is"
                if entry.seq == expected + 1
                else f"entries {expected}..{entry.seq - 1} are"
            )
            problems.append(
                PackageProblem(
                    "entry", f"{gap} missing from the slice (removed)", AUDIT_FILE, expected
                )
            )
        elif entry.seq < expected:
            problems.append(
                PackageProblem(
                    "entry",
                    f"entry {entry.seq} comes again after entry {before.seq} "
                    "(an entry was added or moved)",
                    AUDIT_FILE,
                    entry.seq,
                )
            )
        elif entry.prev_hash != before.hash:
            problems.append(
                PackageProblem(
                    "entry",
                    f"entry {entry.seq} does not link to entry {before.seq} "
                    "(an entry was added, removed or altered)",
                    AUDIT_FILE,
                    entry.seq,
                )
            )
    return problems


def _head_problems(
    entries: Sequence[AuditEntry], heads: Sequence[ChainHead], key: Ed25519PublicKey
) -> list[PackageProblem]:
    """Every head that does not verify with ``key``, then every head that does not fit the
    slice's entries: the anchor at its start, the entries it signs, the cover of its end."""
    problems: list[PackageProblem] = []
    unsigned = [h.seq for h in heads if not _signature_ok(key, h.signature, h.message())]
    if unsigned:
        named = ", ".join(str(s) for s in unsigned[:_MAX_NAMED])
        problems.append(
            PackageProblem(
                "head",
                f"the signed head(s) at entries {named} do not verify with the given key"
                + _more(len(unsigned) - _MAX_NAMED),
                AUDIT_FILE,
                unsigned[0],
            )
        )
    if not entries:
        return problems
    problems.extend(_head_link_problems(entries, heads))
    cover = _end_cover_problem(entries, heads)
    if cover is not None:
        problems.append(cover)
    return problems


def _head_link_problems(
    entries: Sequence[AuditEntry], heads: Sequence[ChainHead]
) -> list[PackageProblem]:
    """The heads (of a non-empty slice) that do not match the entries they sign or lie past
    its end, in the heads' order, and last the lack of a head anchoring its first entry."""
    problems: list[PackageProblem] = []
    by_seq = {e.seq: e for e in entries}
    first, last = entries[0], entries[-1]
    anchored = first.seq == 0 and first.prev_hash == GENESIS
    for head in heads:
        if head.seq == first.seq - 1:
            if head.hash == first.prev_hash:
                anchored = True
            else:
                problems.append(
                    PackageProblem(
                        "head",
                        f"entry {first.seq} does not link to the head signed at entry "
                        f"{head.seq} (the start of the slice was altered)",
                        AUDIT_FILE,
                        first.seq,
                    )
                )
        elif head.seq > last.seq:
            problems.append(
                PackageProblem(
                    "head",
                    f"a head signed at {head.signed_at} covers entry {head.seq}, which is not "
                    "in the slice (entries were cut off the end)",
                    AUDIT_FILE,
                    head.seq,
                )
            )
        elif head.seq in by_seq and by_seq[head.seq].hash != head.hash:
            problems.append(
                PackageProblem(
                    "head",
                    f"entry {head.seq} differs from the one signed at {head.signed_at}",
                    AUDIT_FILE,
                    head.seq,
                )
            )
    if not anchored:
        problems.append(
            PackageProblem(
                "head",
                f"no signed head anchors the slice's first entry {first.seq} "
                f"(a head at entry {first.seq - 1})",
                AUDIT_FILE,
                first.seq,
            )
        )
    return problems


def _end_cover_problem(
    entries: Sequence[AuditEntry], heads: Sequence[ChainHead]
) -> PackageProblem | None:
    """The problem when no head signs the last entry of a non-empty slice (entries after the
    last signed one were added), else None."""
    first, last = entries[0], entries[-1]
    covered = [h.seq for h in heads if h.seq <= last.seq]
    if covered and max(covered) >= last.seq:
        return None
    after = max(covered) if covered else None
    since = "no entry" if after is None else f"entry {after}"
    return PackageProblem(
        "head",
        f"entry {last.seq} is not covered by a signed head (the last one is at {since}): "
        "entries after it were added",
        AUDIT_FILE,
        (after + 1) if after is not None else first.seq,
    )


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _malformed(entries: Sequence[AuditEntry], heads: Sequence[ChainHead]) -> PackageProblem | None:
    """The first record whose fields are not of their types (a file edited by hand), if any:
    the checks that follow need numbers where numbers belong."""
    for position, entry in enumerate(entries, 1):
        texts = (entry.time, entry.actor, entry.outlet, entry.action, entry.outcome)
        fields_ok = (
            type(entry.seq) is int
            and all(_is_text(v) for v in (*texts, entry.prev_hash, entry.hash))
            and isinstance(entry.objects, dict)
            and all(_is_text(k) and _is_text(v) for k, v in entry.objects.items())
        )
        if fields_ok:
            try:
                datetime.fromisoformat(entry.time)
            except ValueError:
                fields_ok = False
        if not fields_ok:
            return PackageProblem(
                "entry",
                f"{AUDIT_FILE} line {position} is not an audit entry (a field of the wrong type)",
                AUDIT_FILE,
                entry.seq if type(entry.seq) is int else None,
            )
    for head in heads:
        values = (head.hash, head.signed_at, head.key_id, head.signature)
        if type(head.seq) is not int or not all(_is_text(v) for v in values):
            return PackageProblem(
                "head", f"{AUDIT_FILE} holds a head with a field of the wrong type", AUDIT_FILE
            )
    return None


def _check_slice(
    path: Path, manifest: Mapping[str, Any], key: Ed25519PublicKey, problems: list[PackageProblem]
) -> tuple[list[AuditEntry], list[ChainHead]] | None:
    path_name = AUDIT_FILE
    try:
        entries, heads = read_export(path)
    except (InputError, UnicodeDecodeError) as exc:
        problems.append(PackageProblem("entry", f"{path_name} is not readable: {exc}", path_name))
        return None
    malformed = _malformed(entries, heads)
    if malformed is not None:
        problems.append(malformed)
        return None
    found = _entry_problems(entries) + _head_problems(entries, heads, key)
    if not found and entries:
        result = verify_chain(entries, heads, key)  # the one authority on chains, as a backstop
        if not result.ok:
            found.append(PackageProblem("entry", result.reason, path_name, result.bad_seq))
    problems.extend(found)
    stated = manifest.get("audit", {})
    stated = stated if isinstance(stated, Mapping) else {}
    actual = {
        "entries": len(entries),
        "first_seq": entries[0].seq if entries else None,
        "last_seq": entries[-1].seq if entries else None,
    }
    wording = {
        "entries": "the slice holds {} entries",
        "first_seq": "the slice's first entry is {}",
        "last_seq": "the slice's last entry is {}",
    }
    for name, value in actual.items():
        if stated.get(name) != value:
            message = f"{wording[name].format(value)}, the manifest says {stated.get(name)}"
            problems.append(PackageProblem("entry", message, path_name))
    return entries, heads


def _diffs(path: str, expected: Any, found: Any) -> Iterator[str]:
    """Where two JSON values differ, as ``path: file X, recomputed Y``."""
    if isinstance(expected, dict) and isinstance(found, dict):
        for k in sorted(set(expected) | set(found), key=str):
            yield from _diffs(f"{path}.{k}", expected.get(k), found.get(k))
    elif isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        for i, (a, b) in enumerate(zip(expected, found, strict=True)):
            label = i
            if isinstance(a, dict) and "outlet" in a and "period" in a:
                label = f"{a['outlet']}/{a['period']}"  # type: ignore[assignment]
            yield from _diffs(f"{path}[{label}]", a, b)
    elif expected != found:
        yield f"{path}: recomputed {json.dumps(expected)}, file {json.dumps(found)}"


def _parse_kept(raw: bytes) -> list[KeptDay]:
    kept = []
    for item in json.loads(raw):
        kept.append(KeptDay(str(item["outlet"]), date.fromisoformat(item["day"]), item["counts"]))
    return kept


@dataclass(frozen=True, slots=True)
class _ReportInputs:
    """What the report is recomputed from and compared with, read from the package."""

    start: date
    end: date
    offset: timedelta
    period: str
    stated: Any  # report.json, parsed
    outlets: dict[str, str]
    kept: list[KeptDay]


def _report_inputs(
    data: Mapping[str, bytes], manifest: Mapping[str, Any], problems: list[PackageProblem]
) -> _ReportInputs | None:
    """The manifest's period, ``report.json`` and the kept day counters, read; None (with the
    problem added) where one of them is not readable."""
    try:
        start = date.fromisoformat(manifest["from"])
        end = date.fromisoformat(manifest["to"])
        offset = timedelta(minutes=int(manifest["utc_offset_minutes"]))
        period = str(manifest["period"])
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(PackageProblem("manifest", f"{MANIFEST} lacks the period: {exc}"))
        return None
    try:
        stated = json.loads(data[REPORT_JSON])
        outlets = {str(k): str(v) for k, v in dict(stated.get("outlets", {})).items()}
    except (ValueError, TypeError, AttributeError) as exc:
        problems.append(
            PackageProblem("report", f"{REPORT_JSON} is not readable: {exc}", REPORT_JSON)
        )
        return None
    try:
        kept = _parse_kept(data[KEPT_FILE])
    except (ValueError, TypeError, KeyError) as exc:
        problems.append(PackageProblem("report", f"{KEPT_FILE} is not readable: {exc}", KEPT_FILE))
        return None
    return _ReportInputs(start, end, offset, period, stated, outlets, kept)


def _csv_problem(recomputed: Report, raw: bytes) -> PackageProblem | None:
    """The problem naming the first line where ``report.csv`` (``raw``) differs from the
    recomputed report's CSV, or None where they are the same."""
    ours = recomputed.to_csv().splitlines()
    theirs = raw.decode(errors="replace").splitlines()
    if ours == theirs:
        return None
    line = next(
        (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False), 1) if a != b),
        min(len(ours), len(theirs)) + 1,
    )
    return PackageProblem(
        "report",
        f"{REPORT_CSV} line {line} differs from the report recomputed from the entries",
        REPORT_CSV,
    )


def _check_report(
    data: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    entries: Sequence[AuditEntry],
    problems: list[PackageProblem],
) -> None:
    """Add to ``problems`` where ``report.json``, ``report.csv`` or ``kept_days.json`` do not
    fit the report recomputed from the slice's entries of the period."""
    if REPORT_JSON not in data or KEPT_FILE not in data:
        return  # named missing already
    inputs = _report_inputs(data, manifest, problems)
    if inputs is None:
        return
    start, end, offset, kept = inputs.start, inputs.end, inputs.offset, inputs.kept
    held = period_entries(entries, start, end, offset)
    counted = day_counts(held, offset)
    for day in kept:
        if (day.outlet, day.day) in counted:
            problems.append(
                PackageProblem(
                    "report",
                    f"{KEPT_FILE} keeps the counters of {day.day} at outlet {day.outlet}, a day "
                    "whose entries are in the slice: it would be counted twice",
                    KEPT_FILE,
                )
            )
    try:
        recomputed = build_report(
            held,
            start=start,
            end=end,
            period=inputs.period,
            outlets=inputs.outlets,
            utc_offset=offset,
            kept=kept,
        )
    except (RealnameError, ValueError, TypeError, AttributeError) as exc:  # a hand-made file
        problems.append(PackageProblem("report", f"the report cannot be recomputed: {exc}"))
        return
    expected = json.loads(json.dumps(recomputed.to_dict()))
    diffs = list(_diffs("report", expected, inputs.stated))
    if diffs:
        problems.append(
            PackageProblem(
                "report",
                f"{REPORT_JSON} is not the report recomputed from the entries: "
                + "; ".join(diffs[:5])
                + _more(len(diffs) - 5),
                REPORT_JSON,
            )
        )
    if REPORT_CSV in data:
        mismatch = _csv_problem(recomputed, data[REPORT_CSV])
        if mismatch is not None:
            problems.append(mismatch)


def verify_package(folder: Path, public_key: Ed25519PublicKey) -> PackageVerification:
    """Check an inspection package offline with the audit public key; every problem found is
    listed (not only the first)."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder (an inspection package is a folder)")
    problems: list[PackageProblem] = []
    given = key_id(public_key)
    manifest = _check_manifest(folder, public_key, problems)
    if manifest is None:
        return PackageVerification(False, tuple(problems), None, None, 0, 0, 0, given)
    data = _check_files(folder, manifest, problems)
    for name, raw in data.items():
        for leak in find_personal_data(name, raw.decode(errors="replace")):
            problems.append(PackageProblem("personal_data", leak, name, _leak_seq(leak)))
    sliced = None
    if AUDIT_FILE in data:
        sliced = _check_slice(folder / AUDIT_FILE, manifest, public_key, problems)
    entries, heads = sliced if sliced is not None else ([], [])
    if sliced is not None:
        _check_report(data, manifest, entries, problems)
    try:
        start: date | None = date.fromisoformat(manifest["from"])
        end: date | None = date.fromisoformat(manifest["to"])
        offset = timedelta(minutes=int(manifest["utc_offset_minutes"]))
    except (KeyError, TypeError, ValueError):
        start = end = None
    notes: tuple[str, ...] = ()
    if sliced is not None and start is not None and end is not None:
        notes = _coverage(entries, start, end, offset)
    return PackageVerification(
        not problems,
        tuple(problems),
        start,
        end,
        len(manifest.get("files", [])),
        len(entries),
        len(heads),
        given,
        notes,
    )


def _coverage(
    entries: Sequence[AuditEntry], start: date, end: date, offset: timedelta
) -> tuple[str, ...]:
    """What the slice's edges show (entries are appended in time order): an entry of the day
    before the period shows that none of the period precedes the slice, one of the day after
    that none follows it."""
    if not entries:
        return ("the slice is empty: no entry of the period was exported",)
    notes = []
    first, last = entries[0], entries[-1]
    if first.seq > 0 and local_time(first, offset).date() >= start:
        notes.append(
            f"the slice starts at entry {first.seq}, of the period: the package cannot show "
            "that no earlier entry is of the period (the log before it was pruned, or it "
            "follows a signed head)"
        )
    if local_time(last, offset).date() <= end:
        notes.append(
            f"the slice ends at entry {last.seq}, of the period: the package cannot show that "
            "no later entry is of the period (it was the log's last signed entry)"
        )
    return tuple(notes)


def _leak_seq(leak: str) -> int | None:
    match = re.match(r"entry (\d+) ", leak)
    return int(match.group(1)) if match else None
