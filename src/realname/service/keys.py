"""The service's secrets: data keys (AES-GCM), index keys (HMAC) and the audit signing key.

From settings (``REALNAME_DATA_KEYS``, ``REALNAME_INDEX_KEYS`` or ``REALNAME_INDEX_KEY``,
``REALNAME_AUDIT_SIGNING_KEY``) or a JSON ``REALNAME_KEY_FILE`` (``{"data_keys": [...],
"index_keys": [...], "audit_signing_key": ...}``, base64; a single ``"index_key": ...`` is read
too, not both). Data and index keys are listed oldest first: the newest encrypts and indexes,
any of them reads and matches (see :mod:`realname.service.usecases.keys`). Keys announced for a
rotation (``REALNAME_DATA_KEYS_NEXT``, ``REALNAME_INDEX_KEYS_NEXT``; ``data_keys_next`` and
``index_keys_next`` in the file) are read and matched, never written with. In dev mode, missing
keys are generated once and kept in a key file beside the SQLite database (``<db>.keys.json``,
mode 0600) so that a restart can read its own data. Outside dev mode missing keys, and the
documented example keys of the README, refuse start-up.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from realname.errors import SetupError
from realname.records.crypto import FieldCipher, generate_key
from realname.service.settings import ServiceSettings
from realname.service.store.db import sqlite_path

__all__ = [
    "DOCUMENTED_KEYS",
    "ServiceKeys",
    "dev_key_file",
    "generate_key_file_content",
    "load_keys",
]

# Every key is 32 raw bytes: AES-256-GCM, HMAC-SHA-256 and an Ed25519 seed (their sizes, not
# a policy).
KEY_BYTES = 32

# The example keys printed in the README (never valid outside dev mode).
DOCUMENTED_KEYS = frozenset(
    {
        base64.b64encode(b"realname-example-data-key-000001").decode(),
        base64.b64encode(b"realname-example-index-key-00001").decode(),
        base64.b64encode(b"realname-example-audit-key-00001").decode(),
        base64.b64encode(bytes(32)).decode(),
    }
)


@dataclass(frozen=True, slots=True)
class ServiceKeys:
    cipher: FieldCipher
    signing_key: Ed25519PrivateKey
    source: str  # "settings", "key file PATH", "dev key file PATH"

    @property
    def public_key_raw(self) -> bytes:
        return self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _decode(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SetupError(f"{what} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise SetupError(f"{what} must be 32 bytes (base64 of 32 random bytes)")
    return raw


def dev_key_file(settings: ServiceSettings) -> Path:
    """Where dev mode keeps its generated keys: beside the SQLite file (or in the cwd)."""
    db_file = sqlite_path(settings.database_url.get_secret_value())
    if db_file is None:
        return Path("realname-dev.keys.json").resolve()
    return db_file.with_name(db_file.name + ".keys.json").resolve()


def _generated() -> dict[str, object]:
    signing = Ed25519PrivateKey.generate()
    raw = signing.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return {
        "data_keys": [base64.b64encode(generate_key()).decode()],
        "index_keys": [base64.b64encode(generate_key()).decode()],
        "audit_signing_key": base64.b64encode(raw).decode(),
    }


def _read_key_file(path: Path) -> dict[str, object]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetupError(f"key file {path} does not exist") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise SetupError(f"key file {path} cannot be read: {type(exc).__name__}") from None
    if not isinstance(raw, dict):
        raise SetupError(f"key file {path} must hold a JSON object")
    return raw


def _write_dev_file(path: Path, values: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(values, fh, indent=2)


def _split(joined: str) -> list[str]:
    return [k for k in joined.split(",") if k.strip()]


def _from_settings(settings: ServiceSettings) -> dict[str, object] | None:
    """The keys given as settings, or None when they are not all there."""
    index = settings.index_keys or settings.index_key
    if not (settings.data_keys and index and settings.audit_signing_key):
        return None
    values: dict[str, object] = {
        "data_keys": _split(settings.data_keys.get_secret_value()),
        "audit_signing_key": settings.audit_signing_key.get_secret_value(),
    }
    if settings.index_key is not None:
        values["index_key"] = settings.index_key.get_secret_value()
    if settings.index_keys is not None:
        values["index_keys"] = _split(settings.index_keys.get_secret_value())
    for name in ("data_keys_next", "index_keys_next"):
        announced = getattr(settings, name)
        if announced is not None:
            values[name] = _split(announced.get_secret_value())
    return values


def _values(settings: ServiceSettings) -> tuple[dict[str, object], str]:
    """The key texts and where they came from."""
    if settings.key_file is not None:
        return _read_key_file(settings.key_file), f"key file {settings.key_file}"
    values = _from_settings(settings)
    if values is not None:
        return values, "settings"
    if settings.dev_mode:
        path = dev_key_file(settings)
        if not path.exists():
            _write_dev_file(path, _generated())
        return _read_key_file(path), f"dev key file {path}"
    raise SetupError(
        "keys missing: set REALNAME_DATA_KEYS, REALNAME_INDEX_KEYS (or REALNAME_INDEX_KEY) and "
        "REALNAME_AUDIT_SIGNING_KEY, or REALNAME_KEY_FILE (or REALNAME_DEV_MODE=1)"
    )


def _key_list(value: object) -> list[str] | None:
    """A list of key texts from a list or a comma-separated string; None if neither."""
    if isinstance(value, str):
        value = _split(value)
    if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
        return None
    return [k.strip() for k in value]


def _index_keys(values: dict[str, object], source: str) -> list[str] | None:
    """The index keys, oldest first: ``index_keys`` or the single ``index_key``, not both."""
    single, several = values.get("index_key"), values.get("index_keys")
    if single is not None and several is not None:
        raise SetupError(f"keys from {source} give both index_key and index_keys: keep one")
    if single is not None:
        return [single.strip()] if isinstance(single, str) else None
    return _key_list(several)


def _announced(values: dict[str, object], kind: str, source: str) -> list[str]:
    """The ``data`` or ``index`` keys announced for a rotation (``<kind>_keys_next``)."""
    value = values.get(f"{kind}_keys_next")
    if not value:
        return []
    keys = _key_list(value)
    if keys is None:
        raise SetupError(f"keys from {source}: {kind}_keys_next must be a list of keys")
    return keys


def load_keys(settings: ServiceSettings) -> ServiceKeys:
    """The keys the service runs with, or :class:`SetupError`."""
    values, source = _values(settings)
    data_keys = _key_list(values.get("data_keys"))
    index_keys = _index_keys(values, source)
    signing = values.get("audit_signing_key")
    if data_keys is None or index_keys is None or not isinstance(signing, str):
        raise SetupError(f"keys from {source} are incomplete (data_keys, index_keys, audit key)")
    announced = {name: _announced(values, name, source) for name in ("data", "index")}
    texts = [*data_keys, *index_keys, *announced["data"], *announced["index"], signing.strip()]
    if not settings.dev_mode and DOCUMENTED_KEYS.intersection(texts):
        raise SetupError("a documented example key is configured: generate real keys")
    cipher = FieldCipher(
        [_decode(k, "a data key") for k in data_keys],
        [_decode(k, "an index key") for k in index_keys],
        next_data_keys=[_decode(k, "a data key") for k in announced["data"]],
        next_index_keys=[_decode(k, "an index key") for k in announced["index"]],
    )
    signing_key = Ed25519PrivateKey.from_private_bytes(_decode(signing, "the audit signing key"))
    return ServiceKeys(cipher, signing_key, source)


def generate_key_file_content() -> str:
    """A fresh key file (JSON) for ``REALNAME_KEY_FILE``."""
    return json.dumps(_generated(), indent=2) + "\n"
