"""verify_chain on a slice of the chain: anchored by the head signed just before it."""

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from realname.records.audit import AuditChain, ChainHead, sign_head, verify_chain


@pytest.fixture()
def chain():
    key = Ed25519PrivateKey.generate()
    audit = AuditChain()
    heads = []
    for i in range(30):
        entry = audit.append("clerk-1", "capture.verdict", "passed", objects={"session": f"s{i}"})
        if i in (9, 19, 29):
            heads.append(sign_head(entry, key))
    return audit.entries, heads, key


def test_a_slice_anchored_by_the_head_before_it_verifies(chain) -> None:
    entries, heads, key = chain
    result = verify_chain(entries[10:20], heads[:2], key.public_key())
    assert result.ok and result.anchored and result.first_seq == 10
    assert "from entry 10" in result.reason


def test_a_slice_without_its_anchor_is_intact_but_not_anchored(chain) -> None:
    entries, heads, key = chain
    result = verify_chain(entries[10:20], heads[1:2], key.public_key())
    assert result.ok and not result.anchored and "no signed head anchors it" in result.reason


def test_an_altered_entry_in_a_slice_is_named_by_its_seq(chain) -> None:
    entries, heads, key = chain
    part = list(entries[10:20])
    part[3] = dataclasses.replace(part[3], outcome="failed")
    result = verify_chain(part, heads[:2], key.public_key())
    assert not result.ok and result.first_bad == 3 and result.bad_seq == 13
    assert "entry 13 was altered" in result.reason


def test_a_removed_entry_in_a_slice_is_named_by_its_seq(chain) -> None:
    entries, heads, key = chain
    part = list(entries[10:20])
    del part[4]
    result = verify_chain(part, heads[:2], key.public_key())
    assert not result.ok and result.bad_seq == 14 and "entry 14" in result.reason


def test_a_forged_first_entry_does_not_link_to_the_anchor(chain) -> None:
    entries, heads, key = chain
    forged = AuditChain()
    first = entries[10]
    # a slice whose first entry claims another predecessor: the anchor catches it
    fake = dataclasses.replace(first, prev_hash="1" * 64)
    fake = dataclasses.replace(fake, hash=fake.computed_hash())
    forged.entries.append(fake)
    result = verify_chain(forged.entries, heads[:1], key.public_key())
    assert not result.ok and "entry 10 does not link to the head signed at entry 9" in result.reason


def test_a_head_with_a_bad_signature_is_named(chain) -> None:
    entries, heads, key = chain
    other = Ed25519PrivateKey.generate()
    bad: ChainHead = sign_head(entries[9], other)
    result = verify_chain(entries[10:20], [bad, heads[1]], key.public_key())
    # signed by another key: named with that key (issue 16: keys come only through hand-overs)
    assert not result.ok and "the head at entry 9 is signed by key" in result.reason
    assert "no hand-over introduced" in result.reason
    # the same head claiming the right key's id: its signature is what fails
    spoofed = dataclasses.replace(bad, key_id=heads[0].key_id)
    result = verify_chain(entries[10:20], [spoofed, heads[1]], key.public_key())
    assert not result.ok and "signature of the head at entry 9" in result.reason


def test_a_head_past_the_slice_means_entries_were_cut_off(chain) -> None:
    entries, heads, key = chain
    result = verify_chain(entries[10:25], heads, key.public_key())
    assert not result.ok and "cut off" in result.reason and result.bad_seq == 25
