"""The regulator's inspection package: written, then verified offline; every kind of tampering
is named (the file, the entry by its sequence number, the signature)."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from realname.errors import ConflictError
from realname.records.audit import AuditChain, AuditEntry, ChainHead, next_entry, sign_head
from realname.records.inspection import (
    AUDIT_FILE,
    FILES,
    MANIFEST,
    SIGNATURE,
    PackageVerification,
    find_personal_data,
    period_entries,
    slice_bounds,
    verify_package,
    write_package,
)
from realname.records.reports import KeptDay, build_report

OFFSET = timedelta(hours=8)
START, END = date(2026, 11, 2), date(2026, 11, 3)
MASKED_ID = "1101**********457X"
MASKED_MOBILE = "138****5678"


def _utc(day: date, hour: int, minute: int) -> str:
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
    return (local - OFFSET).isoformat(timespec="milliseconds")


def _chain(key: Ed25519PrivateKey) -> tuple[list[AuditEntry], list[ChainHead]]:
    """Four local days of registrations at two outlets, a head signed every seventh entry."""
    chain = AuditChain()
    heads: list[ChainHead] = []

    def add(actor: str, outlet: str, action: str, outcome: str, at: str, **objects: str) -> None:
        entry = chain.append(actor, action, outcome, outlet=outlet, objects=objects, time=at)
        if entry.seq % 7 == 6:
            heads.append(sign_head(entry, key, at=at))

    n = 0
    for day in (date(2026, 11, 1), START, END, date(2026, 11, 4)):
        for outlet, clerk in (("1", "clerk_a"), ("2", "clerk_b")):
            for k in range(3):
                n += 1
                session = f"s{n:04d}"
                hour, minute = 10 + k, 5 * (n % 10)
                add(clerk, outlet, "session.create", "ok", _utc(day, hour, minute), session=session)
                add(clerk, outlet, "challenge.issue", "ok", _utc(day, hour, minute + 1),
                    session=session, challenge="1")  # fmt: skip
                verdict = "passed" if k else "failed"
                reasons = "" if k else "FACE_MISMATCH"
                add(clerk, outlet, "capture.verdict", verdict, _utc(day, hour, minute + 2),
                    session=session, id=MASKED_ID, reasons=reasons)  # fmt: skip
                if k:
                    add(clerk, outlet, "number.bind", "ok", _utc(day, hour, minute + 3),
                        session=session, msisdn=MASKED_MOBILE, id=MASKED_ID)  # fmt: skip
    last = chain.entries[-1]
    if not heads or heads[-1].seq != last.seq:
        heads.append(sign_head(last, key, at=last.time))
    return chain.entries, heads


def _slice(
    entries: list[AuditEntry], heads: list[ChainHead]
) -> tuple[list[AuditEntry], list[ChainHead]]:
    held = period_entries(entries, START, END, OFFSET)
    low, high = slice_bounds(held[0].seq, held[-1].seq, [h.seq for h in heads])
    assert high is not None
    part = [e for e in entries if low <= e.seq <= high]
    return part, [h for h in heads if low - 1 <= h.seq <= high]


def _write(folder: Path, key: Ed25519PrivateKey, **overrides: Any) -> dict[str, Any]:
    entries, heads = _chain(key)
    part, covering = _slice(entries, heads)
    # a pruned outlet's day: its entries are gone, its counters kept (the report adds them)
    kept = [KeptDay("3", START, {"sessions_started": 4, "captures": 4, "passed": 3})]
    report = build_report(
        period_entries(part, START, END, OFFSET),
        start=START,
        end=END,
        outlets={"1": "Outlet A", "2": "Outlet B", "3": "Outlet C"},
        utc_offset=OFFSET,
        kept=kept,
    )
    values: dict[str, Any] = {
        "entries": part,
        "heads": covering,
        "report": report,
        "flags": [
            {
                "id": "f" * 32,
                "kind": "burst",
                "outlet": "1",
                "sentence": "Clerk clerk_a completed 4 captures within 30 s.",
                "figures": {"clerk": "clerk_a"},
                "sessions": ["s0001"],
                "acknowledged": {"by": "supervisor_a", "at": "2026-11-05", "note": "张三 said"},
            }
        ],
        "versions": {"policy": "2026.11", "engines": {"embedder": {"name": "sface"}}},
        "kept": kept,
        "signing_key": key,
        **overrides,
    }
    return write_package(folder, **values)


@pytest.fixture()
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture()
def package(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    folder = tmp_path / "package"
    _write(folder, key)
    return folder


def _verify(folder: Path, key: Ed25519PrivateKey) -> PackageVerification:
    return verify_package(folder, key.public_key())


def _audit_lines(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / AUDIT_FILE).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _write_audit(folder: Path, records: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    (folder / AUDIT_FILE).write_text(text, encoding="utf-8")


def _resign(folder: Path, key: Ed25519PrivateKey) -> None:
    """What a dishonest exporter holding the key could do: list the files as they now are."""
    import hashlib

    manifest = json.loads((folder / MANIFEST).read_bytes())
    for item in manifest["files"]:
        raw = (folder / item["name"]).read_bytes()
        item["sha256"], item["size"] = hashlib.sha256(raw).hexdigest(), len(raw)
    raw_manifest = (
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    ).encode()
    (folder / MANIFEST).write_bytes(raw_manifest)
    (folder / SIGNATURE).write_text(base64.b64encode(key.sign(raw_manifest)).decode())


def test_when_a_package_is_exported_then_it_verifies_offline(
    package: Path, key: Ed25519PrivateKey
) -> None:
    result = _verify(package, key)
    assert result.ok, result.reason
    assert result.problems == ()
    assert result.start == START and result.end == END
    manifest = json.loads((package / MANIFEST).read_bytes())
    assert [f["name"] for f in manifest["files"]] == list(FILES)
    assert sorted(p.name for p in package.iterdir()) == sorted([*FILES, MANIFEST, SIGNATURE])
    records = _audit_lines(package)
    entries = [r for r in records if r["type"] == "entry"]
    heads = [r for r in records if r["type"] == "head"]
    # widened to the nearest signed heads: anchored at the start, signed at the end
    assert heads[0]["seq"] == entries[0]["seq"] - 1
    assert heads[-1]["seq"] == entries[-1]["seq"]
    assert manifest["audit"]["first_seq"] == entries[0]["seq"] > 0
    report = json.loads((package / "report.json").read_bytes())
    assert report["totals"][0]["captures"] == 6  # 3 a day at outlet 1, over two days


def test_when_a_file_is_altered_then_it_is_named(package: Path, key: Ed25519PrivateKey) -> None:
    flags = json.loads((package / "flags.json").read_bytes())
    flags[0]["sentence"] = "nothing to see"
    (package / "flags.json").write_text(json.dumps(flags))
    result = _verify(package, key)
    assert not result.ok
    assert [(p.kind, p.file) for p in result.problems] == [("file", "flags.json")]
    assert "flags.json was altered" in result.reason


def test_when_a_file_is_removed_then_it_is_named(package: Path, key: Ed25519PrivateKey) -> None:
    (package / "versions.json").unlink()
    result = _verify(package, key)
    assert not result.ok
    assert [(p.kind, p.file) for p in result.problems] == [("file", "versions.json")]
    assert "versions.json is missing" in result.reason


def test_when_a_file_is_added_then_it_is_named(package: Path, key: Ed25519PrivateKey) -> None:
    (package / "notes").mkdir()
    (package / "notes" / "extra.txt").write_text("more")
    result = _verify(package, key)
    assert not result.ok
    assert [(p.kind, p.file) for p in result.problems] == [("file", "notes/extra.txt")]
    assert "notes/extra.txt was added" in result.reason


def test_when_an_entry_is_altered_then_the_file_and_its_seq_are_named(
    package: Path, key: Ed25519PrivateKey
) -> None:
    records = _audit_lines(package)
    target = next(r for r in records if r["type"] == "entry" and r["action"] == "capture.verdict")
    target["outcome"] = "passed" if target["outcome"] == "failed" else "failed"
    _write_audit(package, records)
    result = _verify(package, key)
    assert not result.ok
    kinds = {(p.kind, p.file, p.seq) for p in result.problems}
    assert ("file", AUDIT_FILE, None) in kinds
    assert ("entry", AUDIT_FILE, target["seq"]) in kinds
    assert f"entry {target['seq']} was altered" in result.reason


def test_when_an_entry_is_altered_and_rehashed_then_the_signed_head_names_it(
    package: Path, key: Ed25519PrivateKey
) -> None:
    """Recomputing every hash after the edit does not help: the signed heads pin them."""
    records = _audit_lines(package)
    entries = [AuditEntry(**{k: v for k, v in r.items() if k != "type"}) for r in records
               if r["type"] == "entry"]  # fmt: skip
    heads = [r for r in records if r["type"] == "head"]
    rebuilt: list[AuditEntry] = []
    for i, e in enumerate(entries):
        outcome = "approved" if i == 3 else e.outcome
        last = rebuilt[-1] if rebuilt else None
        again = next_entry(last, e.actor, e.action, outcome, outlet=e.outlet,
                           objects=e.objects, time=e.time)  # fmt: skip
        if last is None:  # the slice's first entry links to the anchor, not the genesis
            again = replace(again, seq=e.seq, prev_hash=e.prev_hash, hash="")
            again = replace(again, hash=again.computed_hash())
        rebuilt.append(again)
    _write_audit(package, [{"type": "entry", **asdict(e)} for e in rebuilt] + heads)
    result = _verify(package, key)
    assert not result.ok
    head_problems = [p for p in result.problems if p.kind == "head"]
    assert head_problems and all(p.seq is not None for p in head_problems)
    assert "differs from the one signed at" in result.reason


def test_when_an_entry_is_removed_then_its_seq_is_named(
    package: Path, key: Ed25519PrivateKey
) -> None:
    records = _audit_lines(package)
    entries = [r for r in records if r["type"] == "entry"]
    gone = entries[5]
    _write_audit(package, [r for r in records if r is not gone])
    result = _verify(package, key)
    assert not result.ok
    assert any(p.kind == "file" and p.file == AUDIT_FILE for p in result.problems)
    missing = [p for p in result.problems if p.kind == "entry" and p.seq == gone["seq"]]
    assert missing and "missing" in missing[0].message


def test_when_an_entry_is_added_inside_the_slice_then_it_is_named(
    package: Path, key: Ed25519PrivateKey
) -> None:
    records = _audit_lines(package)
    entries = [r for r in records if r["type"] == "entry"]
    after = AuditEntry(**{k: v for k, v in entries[4].items() if k != "type"})
    forged = next_entry(after, "clerk_a", "number.bind", "ok", outlet="1",
                        objects={"session": "s9999"}, time=after.time)  # fmt: skip
    at = records.index(entries[4]) + 1
    _write_audit(package, [*records[:at], {"type": "entry", **asdict(forged)}, *records[at:]])
    result = _verify(package, key)
    assert not result.ok
    assert any(p.kind == "file" and p.file == AUDIT_FILE for p in result.problems)
    named = [p for p in result.problems if p.kind == "entry" and p.seq == forged.seq]
    assert named and "added" in named[0].message


def test_when_an_entry_is_added_after_the_last_signed_head_then_it_is_named(
    package: Path, key: Ed25519PrivateKey
) -> None:
    records = _audit_lines(package)
    entries = [r for r in records if r["type"] == "entry"]
    last = AuditEntry(**{k: v for k, v in entries[-1].items() if k != "type"})
    forged = next_entry(last, "clerk_a", "session.create", "ok", outlet="1",
                        objects={"session": "s9999"}, time=last.time)  # fmt: skip
    at = records.index(entries[-1]) + 1
    _write_audit(package, [*records[:at], {"type": "entry", **asdict(forged)}, *records[at:]])
    _resign(package, key)  # even with the manifest re-signed: no head covers it
    result = _verify(package, key)
    assert not result.ok
    assert any(p.kind == "head" and p.seq == forged.seq for p in result.problems), result.reason


def test_when_the_manifest_is_altered_then_its_signature_fails(
    package: Path, key: Ed25519PrivateKey
) -> None:
    manifest = json.loads((package / MANIFEST).read_bytes())
    manifest["to"] = "2026-11-30"
    (package / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    result = _verify(package, key)
    assert not result.ok
    assert result.problems[0].kind == "signature" and result.problems[0].file == SIGNATURE
    assert "manifest.json or its signature was altered" in result.problems[0].message


def test_when_the_public_key_is_not_the_signers_then_it_is_named_the_wrong_key(
    package: Path,
) -> None:
    other = Ed25519PrivateKey.generate()
    result = _verify(package, other)
    assert not result.ok
    assert result.problems[0].kind == "signature"
    assert "the public key given is" in result.problems[0].message
    assert any(p.kind == "head" and "do not verify" in p.message for p in result.problems)


def test_when_the_report_does_not_follow_from_the_entries_then_it_is_named(
    package: Path, key: Ed25519PrivateKey
) -> None:
    report = json.loads((package / "report.json").read_bytes())
    report["totals"][0]["passed"] += 1
    (package / "report.json").write_text(json.dumps(report))
    _resign(package, key)  # a dishonest exporter: the files and signature agree, the sums do not
    result = _verify(package, key)
    assert not result.ok
    assert [(p.kind, p.file) for p in result.problems] == [("report", "report.json")]
    assert "passed" in result.reason


def test_a_package_holds_no_unmasked_id_or_mobile_number_and_no_note(package: Path) -> None:
    for path in package.iterdir():
        assert find_personal_data(path.name, path.read_text(encoding="utf-8")) == []
    flags = json.loads((package / "flags.json").read_bytes())
    assert flags[0]["acknowledged"] == {"by": "supervisor_a", "at": "2026-11-05"}
    text = "".join(p.read_text(encoding="utf-8") for p in package.iterdir())
    assert "张三" not in text and MASKED_ID in text and MASKED_MOBILE in text


def test_when_an_entry_holds_an_unmasked_id_then_nothing_is_exported(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    entries, heads = _chain(key)
    part, covering = _slice(entries, heads)
    leaked = next_entry(part[-1], "clerk_a", "capture.verdict", "passed", outlet="1",
                        objects={"id": "110101199003074578"}, time=part[-1].time)  # fmt: skip
    with pytest.raises(ConflictError, match=r"entry \d+ .*unmasked ID"):
        _write(tmp_path / "p", key, entries=[*part, leaked], heads=covering)
    assert not (tmp_path / "p").exists()


def test_when_a_planted_mobile_number_is_in_a_file_then_verify_names_it(
    package: Path, key: Ed25519PrivateKey
) -> None:
    flags = json.loads((package / "flags.json").read_bytes())
    flags[0]["sentence"] = "call 13812345678"
    (package / "flags.json").write_text(json.dumps(flags))
    _resign(package, key)
    result = _verify(package, key)
    assert [(p.kind, p.file) for p in result.problems] == [("personal_data", "flags.json")]
    assert "13812345678" not in result.reason


def test_hashes_and_signatures_are_not_taken_for_numbers() -> None:
    text = json.dumps({"hash": "0" * 20 + "13812345678" + "a" * 33, "n": "1101**********457X"})
    assert find_personal_data("x.json", text) == []
    assert find_personal_data("x.json", '{"id": "11010119900307457X"}') != []


def test_when_the_manifest_lists_a_path_out_of_the_folder_then_it_is_not_read(
    package: Path, key: Ed25519PrivateKey
) -> None:
    manifest = json.loads((package / MANIFEST).read_bytes())
    manifest["files"].append({"name": "../secret", "sha256": "0" * 64, "size": 1})
    (package / MANIFEST).write_text(json.dumps(manifest))
    result = _verify(package, key)
    assert any(p.kind == "manifest" and "'../secret'" in p.message for p in result.problems)


def test_slice_bounds_reach_the_heads_either_side_of_the_period() -> None:
    assert slice_bounds(10, 20, [4, 9, 15, 22, 30]) == (10, 22)  # anchored at 9, signed at 22
    assert slice_bounds(10, 20, [20]) == (0, 20)  # no head before: from the first entry
    assert slice_bounds(10, 20, [3]) == (4, None)  # none at or after the end: sign one


@pytest.mark.parametrize("edit", ["seq_as_text", "cut_line", "bad_time"])
def test_when_the_audit_file_is_malformed_then_it_is_named_not_a_crash(
    package: Path, key: Ed25519PrivateKey, edit: str
) -> None:
    records = _audit_lines(package)
    if edit == "cut_line":
        text = (package / AUDIT_FILE).read_text(encoding="utf-8")
        (package / AUDIT_FILE).write_text(text[: len(text) // 2], encoding="utf-8")
    else:
        field, value = ("seq", "7") if edit == "seq_as_text" else ("time", "yesterday")
        records[2][field] = value
        _write_audit(package, records)
    result = _verify(package, key)
    assert not result.ok
    assert any(p.kind == "file" and p.file == AUDIT_FILE for p in result.problems)
    assert any(p.kind == "entry" and "line" in p.message for p in result.problems), result.reason
