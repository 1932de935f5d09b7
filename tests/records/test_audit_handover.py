"""The audit signing key rolled over by a signed hand-over entry (issue 16), attacked: heads by
a key nobody handed over to, by the new key before its hand-over, a hand-over its old key never
signed, a hand-over edited to name the attacker's key, and a verifier given a stranger's key."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from realname.records.audit import (
    HANDOVER,
    AuditChain,
    ChainHead,
    handover_objects,
    sign_head,
    verify_chain,
)

K1, K2, K3 = (Ed25519PrivateKey.generate() for _ in range(3))


def _entries(chain: AuditChain, n: int) -> None:
    for i in range(n):
        chain.append("clerk", "session.start", "ok", objects={"i": str(i)})


def rolled() -> tuple[AuditChain, list[ChainHead]]:
    """Entries 0-9 under K1, a hand-over K1 -> K2 at 10 signed by K1, entries 11-20 under K2."""
    chain = AuditChain()
    _entries(chain, 10)
    heads = [sign_head(chain.entries[4], K1), sign_head(chain.entries[9], K1)]
    handover = chain.append(
        "admin", HANDOVER, "ok", objects=handover_objects(K1.public_key(), K2.public_key())
    )
    heads.append(sign_head(handover, K1))
    _entries(chain, 10)
    heads += [sign_head(chain.entries[15], K2), sign_head(chain.entries[20], K2)]
    return chain, heads


def test_a_chain_verifies_across_the_hand_over_from_either_key() -> None:
    chain, heads = rolled()
    for key in (K1, K2):
        result = verify_chain(chain.entries, heads, key.public_key())
        assert result.ok, result.reason
    # instances restarted one after another: a late K1 head after the hand-over is valid too
    late = [*heads, sign_head(chain.entries[12], K1)]
    late.sort(key=lambda h: h.seq)
    assert verify_chain(chain.entries, late, K1.public_key()).ok


def test_two_hand_overs_are_followed() -> None:
    chain, heads = rolled()
    second = chain.append(
        "admin", HANDOVER, "ok", objects=handover_objects(K2.public_key(), K3.public_key())
    )
    heads.append(sign_head(second, K2))
    _entries(chain, 3)
    heads.append(sign_head(chain.entries[-1], K3))
    for key in (K1, K2, K3):
        assert verify_chain(chain.entries, heads, key.public_key()).ok


def test_a_head_by_a_key_nobody_handed_over_to_is_refused() -> None:
    chain, heads = rolled()
    forged = [*heads, sign_head(chain.entries[-1], K3)]
    result = verify_chain(chain.entries, forged, K1.public_key())
    assert not result.ok and "no hand-over introduced" in result.reason


def test_the_new_key_cannot_sign_before_its_hand_over() -> None:
    chain, heads = rolled()
    early = sorted([*heads, sign_head(chain.entries[7], K2)], key=lambda h: h.seq)
    result = verify_chain(chain.entries, early, K2.public_key())
    assert not result.ok and "before its hand-over at entry 10" in result.reason


def test_a_hand_over_its_old_key_never_signed_is_refused() -> None:
    chain, heads = rolled()
    unsigned = [h for h in heads if h.seq != 10]  # no K1 head at or after the hand-over
    result = verify_chain(chain.entries, unsigned, K2.public_key())
    assert not result.ok and "not signed by the key it hands over from" in result.reason
    assert result.bad_seq == 10


def test_a_hand_over_edited_to_name_the_attackers_key_breaks_the_chain() -> None:
    chain, heads = rolled()
    entries = list(chain.entries)
    evil = handover_objects(K1.public_key(), K3.public_key())
    entries[10] = dataclasses.replace(entries[10], objects=evil)
    forged = [*heads[:3], sign_head(entries[15], K3), sign_head(entries[20], K3)]
    result = verify_chain(entries, forged, K1.public_key())
    assert not result.ok and result.bad_seq == 10 and "altered" in result.reason


def test_a_key_that_is_none_of_the_chain_s_is_refused() -> None:
    chain, heads = rolled()
    result = verify_chain(chain.entries, heads, K3.public_key())
    assert not result.ok and "none of this chain's signing keys" in result.reason
    # without hand-overs, a stranger's key fails on the first head's signature as before
    plain = AuditChain()
    _entries(plain, 3)
    result = verify_chain(plain.entries, [sign_head(plain.entries[2], K1)], K3.public_key())
    assert not result.ok and "no hand-over introduced" in result.reason
