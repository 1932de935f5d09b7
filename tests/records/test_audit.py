import dataclasses
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from realname.records.audit import AuditChain, read_export, sign_head, verify_chain, write_export


@pytest.fixture()
def signed(tmp_path: Path):
    key = Ed25519PrivateKey.generate()
    chain = AuditChain()
    heads = []
    for i in range(20):
        entry = chain.append(
            "clerk-1",
            "capture_verdict",
            "passed" if i % 3 else "failed",
            outlet="outlet-7",
            objects={"session": f"s{i}"},
        )
        if i in (9, 19):
            heads.append(sign_head(entry, key))
    return chain.entries, heads, key.public_key()


def test_an_intact_chain_verifies(signed) -> None:
    entries, heads, public = signed
    result = verify_chain(entries, heads, public)
    assert result.ok and result.first_bad is None and result.entries == 20 and result.heads == 2


def test_an_edited_entry_is_named(signed) -> None:
    entries, heads, public = signed
    entries[7] = dataclasses.replace(
        entries[7], outcome="passed" if entries[7].outcome == "failed" else "failed"
    )
    result = verify_chain(entries, heads, public)
    assert not result.ok and result.first_bad == 7 and "altered" in result.reason


def test_a_deleted_entry_is_detected(signed) -> None:
    entries, heads, public = signed
    del entries[4]
    result = verify_chain(entries, heads, public)
    assert not result.ok and result.first_bad == 4


def test_reordered_entries_are_detected(signed) -> None:
    entries, heads, public = signed
    entries[5], entries[6] = entries[6], entries[5]
    result = verify_chain(entries, heads, public)
    assert not result.ok and result.first_bad == 5


def test_entries_cut_off_the_end_are_detected_by_the_signed_head(signed) -> None:
    entries, heads, public = signed
    result = verify_chain(entries[:15], heads, public)
    assert not result.ok and "cut off" in result.reason


def test_a_rewritten_chain_fails_the_signature(signed) -> None:
    entries, heads, public = signed
    forged = AuditChain()
    for e in entries:
        forged.append(e.actor, e.action, "passed", outlet=e.outlet, objects=e.objects, time=e.time)
    result = verify_chain(forged.entries, heads, public)
    assert not result.ok  # the heads no longer match the rewritten entries
    fake_heads = [dataclasses.replace(h, hash=forged.entries[h.seq].hash) for h in heads]
    result = verify_chain(forged.entries, fake_heads, public)
    assert not result.ok and "signature" in result.reason


def test_export_round_trip_and_cli_verify(signed, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from typer.testing import CliRunner

    from realname.cli.main import app

    entries, heads, public = signed
    path = write_export(tmp_path / "audit.jsonl", entries, heads)
    again, again_heads = read_export(path)
    assert again == entries and again_heads == heads
    pem = tmp_path / "audit.pub"
    pem.write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", str(path), "--public-key", str(pem)])
    assert ok.exit_code == 0, ok.output
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace('"outlet-7"', '"outlet-8"')
    path.write_text("\n".join(lines) + "\n")
    bad = runner.invoke(app, ["audit", "verify", str(path), "--public-key", str(pem)])
    assert bad.exit_code == 1
    assert "entry 3" in bad.output
