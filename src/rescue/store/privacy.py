"""Sealing personal data (caller name and phone) with the library's AES-GCM cipher.

Only those fields are sealed, not whole events: positions are the volume and
carry nothing personal, and auditors must be able to read the rest of the
record with ordinary tools. A sealed value is base64 text inside the event.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

KEY_BYTES = 32


class MissingKey(RuntimeError):
    """Raised when personal data must be sealed or opened but no key was configured."""


def new_key() -> str:
    return AESCipher.create_key(KEY_BYTES)


def load_or_create_key(path: Path) -> tuple[str, bool]:
    """Reads the key file, creating it (mode 0600) if absent; says whether it was created."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key, True


class PersonalData:
    """Seals and opens small JSON values; without a key both refuse."""

    def __init__(self, key: str | None) -> None:
        self._cipher = AESCipher(Environment(env={AESCipher.CIPHER_KEY: key})) if key else None

    @property
    def has_key(self) -> bool:
        return self._cipher is not None

    def seal(self, value: dict[str, Any]) -> str:
        cipher = self._require()
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return base64.b64encode(cipher.encrypt(plain)).decode("ascii")

    def open(self, sealed: str) -> dict[str, Any]:
        cipher = self._require()
        opened: dict[str, Any] = json.loads(cipher.decrypt(base64.b64decode(sealed)))
        return opened

    def _require(self) -> AESCipher:
        if self._cipher is None:
            raise MissingKey(
                "no cipher key: set RESCUE_CIPHER_KEY or RESCUE_KEY_FILE "
                "to read or record callers' personal data"
            )
        return self._cipher
