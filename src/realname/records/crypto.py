"""Personal data at rest: AES-256-GCM for ID numbers, names and evidence; HMAC-SHA256 to index
ID numbers without storing them.

The newest 32-byte data key encrypts; separate 32-byte index keys hash. Each ciphertext carries
a key id, so data keys can be rotated: old records stay readable with the old key while new ones
use the new. Index keys rotate too: :meth:`FieldCipher.index` is the newest key's HMAC (what is
written), :meth:`FieldCipher.indexes` every key's (what a look-up matches, until the rows are
re-indexed). Associated data binds a ciphertext to its purpose (a name cannot be swapped into an
ID number column).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from realname.errors import SetupError

__all__ = ["FieldCipher", "generate_key"]

_VERSION = b"\x01"
KEY_BYTES = 32  # AES-256 and HMAC-SHA256 keys: 256 bits


def generate_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"realname-key-id" + key).digest()[:4]


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@dataclass(slots=True)
class FieldCipher:
    """Encrypts fields with the newest data key; decrypts with any key it holds. Indexes with
    the newest index key (``index_key``: one key, or several oldest first).

    ``next_data_keys`` and ``next_index_keys``: keys announced for a rotation, read and matched
    but never written under (so that an instance restarted with them reads what the instances
    already writing under them store, before any instance writes with them; see
    docs/deployment.md)."""

    data_keys: list[bytes]
    index_key: InitVar[bytes | Sequence[bytes]]
    next_data_keys: Sequence[bytes] = ()
    next_index_keys: Sequence[bytes] = ()
    index_keys: tuple[bytes, ...] = field(default=(), init=False, repr=False)
    _by_id: dict[bytes, AESGCM] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self, index_key: bytes | Sequence[bytes]) -> None:
        self.index_keys = (index_key,) if isinstance(index_key, bytes) else tuple(index_key)
        self.next_data_keys = tuple(self.next_data_keys)
        self.next_index_keys = tuple(self.next_index_keys)
        if not self.data_keys:
            raise SetupError("no data encryption key configured")
        if not self.index_keys:
            raise SetupError("no index key configured")
        data = [*self.data_keys, *self.next_data_keys]
        index = [*self.index_keys, *self.next_index_keys]
        for key in [*data, *index]:
            if len(key) != KEY_BYTES:
                raise SetupError("encryption and index keys must be 32 bytes")
        if set(index) & set(data):
            raise SetupError("every index key must differ from every data key")
        if len(set(index)) != len(index):
            raise SetupError("the index keys must differ from each other")
        if len(set(data)) != len(data):
            raise SetupError("the data keys must differ from each other")
        self._by_id = {_key_id(k): AESGCM(k) for k in data}

    def encrypt(self, plaintext: bytes, purpose: str) -> bytes:
        key = self.data_keys[-1]
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext, purpose.encode())
        return _VERSION + _key_id(key) + nonce + sealed

    def is_current(self, blob: bytes) -> bool:
        """Whether ``blob`` was encrypted with the newest data key (a rotation skips it)."""
        return blob[:1] == _VERSION and blob[1:5] == _key_id(self.data_keys[-1])

    def decrypt(self, blob: bytes, purpose: str) -> bytes:
        if len(blob) < 1 + 4 + 12 + 16 or blob[:1] != _VERSION:
            raise SetupError("not a realname ciphertext")
        aead = self._by_id.get(blob[1:5])
        if aead is None:
            raise SetupError("the key that encrypted this field is not configured")
        try:
            return aead.decrypt(blob[5:17], blob[17:], purpose.encode())
        except InvalidTag:
            raise SetupError("the field was altered or belongs to another purpose") from None

    def encrypt_text(self, text: str, purpose: str) -> str:
        return base64.b64encode(self.encrypt(text.encode(), purpose)).decode()

    def decrypt_text(self, token: str, purpose: str) -> str:
        return self.decrypt(base64.b64decode(token), purpose).decode()

    def index(self, value: str) -> str:
        """A keyed hash for look-ups (equal values give equal indexes; no key, no guessing),
        with the newest index key: what is written."""
        return _hmac(self.index_keys[-1], value)

    def indexes(self, value: str) -> tuple[str, ...]:
        """``value``'s index under every index key, newest first (the written one first), then
        under the announced ones (``next_index_keys``): what a look-up matches."""
        keys = [*reversed(self.index_keys), *self.next_index_keys]
        return tuple(_hmac(key, value) for key in keys)
