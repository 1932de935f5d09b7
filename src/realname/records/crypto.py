"""Personal data at rest: AES-256-GCM for ID numbers, names and evidence; HMAC-SHA256 to index
ID numbers without storing them.

One 32-byte data key encrypts; a separate 32-byte index key hashes. Each ciphertext carries a
key id, so keys can be rotated: old records stay readable with the old key while new ones use the
new. Associated data binds a ciphertext to its purpose (a name cannot be swapped into an ID
number column).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

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


@dataclass(slots=True)
class FieldCipher:
    """Encrypts fields with the newest data key; decrypts with any key it holds."""

    data_keys: list[bytes]
    index_key: bytes
    _by_id: dict[bytes, AESGCM] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.data_keys:
            raise SetupError("no data encryption key configured")
        for key in [*self.data_keys, self.index_key]:
            if len(key) != KEY_BYTES:
                raise SetupError("encryption and index keys must be 32 bytes")
        if self.index_key in self.data_keys:
            raise SetupError("the index key must differ from every data key")
        self._by_id = {_key_id(k): AESGCM(k) for k in self.data_keys}

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
        """A keyed hash for look-ups (equal values give equal indexes; no key, no guessing)."""
        return hmac.new(self.index_key, value.encode(), hashlib.sha256).hexdigest()
