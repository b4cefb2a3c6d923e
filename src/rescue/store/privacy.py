"""Sealing personal data (caller name and phone) with the library's AES-GCM cipher.

Only those fields are sealed, not whole events: positions are the volume and
carry nothing personal, and auditors must be able to read the rest of the
record with ordinary tools.

With a key table (rescue.store.caller_keys) each caller's data is sealed with
that caller's own key and the sealed value names it: `k1:<key id>:<base64>`.
Destroying the key erases the caller everywhere at once without touching the
log. Values sealed before that (plain base64, one key for everyone) still
open with that first key, kept in the table; erasing one of those callers
withholds their values, as they cannot be shredded alone. An erased caller
reads as `erased_caller()`.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

from rescue.domain.validation import check_phone
from rescue.store.caller_keys import CallerKeys

KEY_BYTES = 32
PER_CALLER = "k1"
ERASED = "[erased]"


def erased_caller() -> dict[str, Any]:
    """What an erased caller's name and phone read as, in every answer and export."""
    return {"name": ERASED, "phone": ERASED, "erased": True}


def is_erased(caller: dict[str, Any]) -> bool:
    return bool(caller.get("erased"))


def phone_key(phone: str) -> str:
    """The form a phone is looked up by: normalised when it is a valid number."""
    try:
        return check_phone(phone)
    except ValueError:
        return phone.strip()


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
    """Seals and opens small JSON values; without a key both refuse.

    With `keys` (the store's key table) values are sealed per caller, keyed by
    their phone; without, with the one key (tools reading a store offline).
    """

    def __init__(self, key: str | None, keys: CallerKeys | None = None) -> None:
        self._key = key
        self._cipher = _cipher(key) if key else None
        self.keys = keys

    @property
    def has_key(self) -> bool:
        return self._cipher is not None

    def seal(self, value: dict[str, Any]) -> str:
        cipher = self._require()
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        if self.keys is None:
            return base64.b64encode(cipher.encrypt(plain)).decode("ascii")
        key_id, key = self.keys.key_for(self.master, phone_key(str(value.get("phone", ""))))
        sealed = base64.b64encode(_cipher(key).encrypt(plain)).decode("ascii")
        return f"{PER_CALLER}:{key_id}:{sealed}"

    def open(self, sealed: str) -> dict[str, Any]:
        """The value; `erased_caller()` once the caller's key was destroyed."""
        cipher = self._require()
        if sealed.startswith(PER_CALLER + ":"):
            _, key_id, body = sealed.split(":", 2)
            if self.keys is None:
                raise MissingKey("a value sealed per caller is opened with the store's key table")
            key = self.keys.key(self.master, key_id)
            if key is None:
                return erased_caller()
            return _opened(_cipher(key), body)
        if self.keys is None:
            return _opened(cipher, sealed)
        if self.keys.withheld(self.master, sealed):
            return erased_caller()
        return _opened(_cipher(self.keys.legacy_key(self.master)), sealed)

    def erase(self, phone: str, legacy_sealed: list[str]) -> tuple[int, int]:
        """Destroys the caller's key and withholds their values sealed with the shared key.

        `legacy_sealed` are values sealed before per-caller keys; those of this
        phone are withheld. Returns (keys destroyed, legacy values withheld).
        """
        self._require()
        if self.keys is None:
            raise MissingKey("erasure needs the store's key table")
        wanted = phone_key(phone)
        legacy = self.keys.legacy_key(self.master) if legacy_sealed else None
        theirs = [
            s
            for s in legacy_sealed
            if legacy is not None
            and phone_key(str(_opened(_cipher(legacy), s).get("phone", ""))) == wanted
        ]
        self.keys.withhold(self.master, theirs)
        return self.keys.destroy(self.master, wanted), len(theirs)

    @property
    def master(self) -> str:
        self._require()
        assert self._key is not None
        return self._key

    def _require(self) -> AESCipher:
        if self._cipher is None:
            raise MissingKey(
                "no cipher key: set RESCUE_CIPHER_KEY or RESCUE_KEY_FILE "
                "to read or record callers' personal data"
            )
        return self._cipher


def _cipher(key: str) -> AESCipher:
    return AESCipher(Environment(env={AESCipher.CIPHER_KEY: key}))


def _opened(cipher: AESCipher, body: str) -> dict[str, Any]:
    opened: dict[str, Any] = json.loads(cipher.decrypt(base64.b64decode(body)))
    return opened
