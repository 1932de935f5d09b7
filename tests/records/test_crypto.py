import pytest

from realname.errors import SetupError
from realname.records.crypto import FieldCipher, generate_key

NUMBER = "110101199003074578"


def test_round_trip_and_no_plaintext_in_the_ciphertext() -> None:
    cipher = FieldCipher([generate_key()], generate_key())
    token = cipher.encrypt_text(NUMBER, "id_number")
    assert NUMBER not in token
    assert cipher.decrypt_text(token, "id_number") == NUMBER
    assert cipher.encrypt_text(NUMBER, "id_number") != token  # a fresh nonce each time


def test_a_ciphertext_is_bound_to_its_purpose_and_detects_tampering() -> None:
    cipher = FieldCipher([generate_key()], generate_key())
    blob = cipher.encrypt(NUMBER.encode(), "id_number")
    with pytest.raises(SetupError):
        cipher.decrypt(blob, "name")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SetupError):
        cipher.decrypt(tampered, "id_number")


def test_keys_rotate_old_records_stay_readable() -> None:
    old, new, index = generate_key(), generate_key(), generate_key()
    token = FieldCipher([old], index).encrypt_text(NUMBER, "id_number")
    rotated = FieldCipher([old, new], index)
    assert rotated.decrypt_text(token, "id_number") == NUMBER
    fresh = rotated.encrypt_text(NUMBER, "id_number")
    with pytest.raises(SetupError):
        FieldCipher([old], index).decrypt_text(fresh, "id_number")


def test_index_is_keyed_and_stable() -> None:
    index = generate_key()
    a = FieldCipher([generate_key()], index)
    b = FieldCipher([generate_key()], index)
    assert a.index(NUMBER) == b.index(NUMBER) and NUMBER not in a.index(NUMBER)
    assert FieldCipher([generate_key()], generate_key()).index(NUMBER) != a.index(NUMBER)


def test_bad_keys_are_refused() -> None:
    key = generate_key()
    with pytest.raises(SetupError):
        FieldCipher([], key)
    with pytest.raises(SetupError):
        FieldCipher([b"short"], key)
    with pytest.raises(SetupError):
        FieldCipher([key], key)


def test_several_index_keys_write_with_the_newest_and_match_under_every_one() -> None:
    data, old, new = generate_key(), generate_key(), generate_key()
    single = FieldCipher([data], old)
    assert FieldCipher([data], [old]).index(NUMBER) == single.index(NUMBER)  # unchanged
    assert single.indexes(NUMBER) == (single.index(NUMBER),)
    both = FieldCipher([data], [old, new])
    assert both.index(NUMBER) == FieldCipher([data], new).index(NUMBER)
    assert both.indexes(NUMBER) == (both.index(NUMBER), single.index(NUMBER))  # newest first
    assert both.index_keys == (old, new)


def test_index_keys_must_differ_from_each_other_and_from_every_data_key() -> None:
    data, index = generate_key(), generate_key()
    with pytest.raises(SetupError, match="each other"):
        FieldCipher([data], [index, index])
    with pytest.raises(SetupError, match="every data key"):
        FieldCipher([data, generate_key()], [index, data])
    with pytest.raises(SetupError, match="no index key"):
        FieldCipher([data], [])
    with pytest.raises(SetupError, match="32 bytes"):
        FieldCipher([data], [index, b"short"])


def test_announced_keys_are_read_and_matched_but_never_written_with() -> None:
    data, new_data, index, new_index = (generate_key() for _ in range(4))
    writing = FieldCipher([data, new_data], [index, new_index])  # restarted with both keys
    announced = FieldCipher([data], [index], next_data_keys=[new_data], next_index_keys=[new_index])
    old = FieldCipher([data], [index])
    # what an instance already writing with the new keys stores, the announced one reads and finds
    token = writing.encrypt_text(NUMBER, "id_number")
    assert announced.decrypt_text(token, "id_number") == NUMBER
    assert writing.index(NUMBER) in announced.indexes(NUMBER)
    # ... while it writes as the instances that do not know them yet, which read it
    assert old.decrypt_text(announced.encrypt_text(NUMBER, "id_number"), "id_number") == NUMBER
    assert announced.index(NUMBER) == old.index(NUMBER)
    assert announced.indexes(NUMBER) == (old.index(NUMBER), writing.index(NUMBER))  # written first
    with pytest.raises(SetupError, match="each other"):
        FieldCipher([data], [index], next_index_keys=[index])
    with pytest.raises(SetupError, match="each other"):
        FieldCipher([data], [index], next_data_keys=[data])
    with pytest.raises(SetupError, match="every data key"):
        FieldCipher([data], [index], next_index_keys=[data])
