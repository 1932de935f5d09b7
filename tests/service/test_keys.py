"""The keys the service loads: one index key or several (oldest first), from the settings or a
key file; both forms at once, or an index key equal to another key, refuse to start."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from realname.errors import SetupError
from realname.records.crypto import FieldCipher
from realname.service.keys import generate_key_file_content, load_keys
from realname.service.settings import ServiceSettings
from tests.service.conftest import b64, key_settings

URL = "sqlite:///unused.db"


def _settings(**values: Any) -> ServiceSettings:
    return ServiceSettings(_env_file=None, database_url=URL, **values)


def _file(tmp_path: Path, values: dict[str, Any]) -> ServiceSettings:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    return _settings(key_file=path)


def _raw(text: str) -> bytes:
    return base64.b64decode(text)


def test_one_index_key_in_the_settings_indexes_as_before() -> None:
    keys = key_settings()
    cipher = load_keys(_settings(**keys)).cipher
    alone = FieldCipher([_raw(keys["data_keys"])], _raw(keys["index_key"]))
    assert cipher.index_keys == (_raw(keys["index_key"]),)
    assert cipher.index("x") == alone.index("x")


def test_several_index_keys_in_the_settings_are_oldest_first() -> None:
    keys = key_settings()
    old = keys.pop("index_key")
    new = b64(b"n" * 32)
    cipher = load_keys(_settings(index_keys=f"{old}, {new}", **keys)).cipher
    assert cipher.index_keys == (_raw(old), _raw(new))
    assert cipher.indexes("x")[1] == FieldCipher([_raw(keys["data_keys"])], _raw(old)).index("x")


def test_a_key_file_gives_index_keys_or_index_key(tmp_path: Path) -> None:
    keys = key_settings()
    common = {"data_keys": [keys["data_keys"]], "audit_signing_key": keys["audit_signing_key"]}
    new = b64(b"n" * 32)
    several = load_keys(_file(tmp_path, {**common, "index_keys": [keys["index_key"], new]}))
    assert several.cipher.index_keys == (_raw(keys["index_key"]), _raw(new))
    single = load_keys(_file(tmp_path, {**common, "index_key": keys["index_key"]}))
    assert single.cipher.index("x") == several.cipher.indexes("x")[1]


def test_both_forms_at_once_refuse_to_start(tmp_path: Path) -> None:
    keys = key_settings()
    common = {"data_keys": [keys["data_keys"]], "audit_signing_key": keys["audit_signing_key"]}
    both = {**common, "index_key": keys["index_key"], "index_keys": [b64(b"n" * 32)]}
    with pytest.raises(SetupError, match="both index_key and index_keys"):
        load_keys(_file(tmp_path, both))
    with pytest.raises(SetupError, match="both index_key and index_keys"):
        load_keys(_settings(index_keys=b64(b"n" * 32), **keys))


def test_an_index_key_equal_to_another_key_refuses_to_start(tmp_path: Path) -> None:
    keys = key_settings()
    index = keys.pop("index_key")
    with pytest.raises(SetupError, match="each other"):
        load_keys(_settings(index_keys=f"{index},{index}", **keys))
    with pytest.raises(SetupError, match="every data key"):
        load_keys(_settings(index_keys=f"{index},{keys['data_keys']}", **keys))
    with pytest.raises(SetupError, match="incomplete"):
        load_keys(_file(tmp_path, {"data_keys": [keys["data_keys"]], "index_keys": []}))


def test_a_generated_key_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(generate_key_file_content(), encoding="utf-8")
    assert len(load_keys(_settings(key_file=path)).cipher.index_keys) == 1


def test_keys_announced_for_a_rotation_load_from_the_settings_and_the_key_file(
    tmp_path: Path,
) -> None:
    keys = key_settings()
    data, index = b64(b"d" * 32), b64(b"n" * 32)
    cipher = load_keys(_settings(data_keys_next=data, index_keys_next=index, **keys)).cipher
    assert cipher.next_data_keys == (_raw(data),) and cipher.next_index_keys == (_raw(index),)
    assert cipher.index_keys == (_raw(keys["index_key"]),)  # still what is written
    common = {"data_keys": [keys["data_keys"]], "audit_signing_key": keys["audit_signing_key"]}
    common["index_key"] = keys["index_key"]
    filed = load_keys(_file(tmp_path, {**common, "index_keys_next": [index]})).cipher
    assert filed.next_index_keys == (_raw(index),) and filed.next_data_keys == ()
    assert filed.indexes("x") == cipher.indexes("x")
    with pytest.raises(SetupError, match="index_keys_next must be a list"):
        load_keys(_file(tmp_path, {**common, "index_keys_next": {"a": index}}))
    with pytest.raises(SetupError, match="each other"):
        load_keys(_settings(index_keys_next=keys["index_key"], **keys))
