"""Photo bytes, stored by their SHA-256 outside the event log.

The log records each photo's hash (and size, type, who, when); the bytes live
here, under that hash, written once and never changed. Keeping them out of the
log keeps events small and the log fast to replay, and the hash in the chained
event is what proves the bytes later: `rescue audit verify` hashes every
recorded photo's bytes again.

`PhotoStorage` is all the rest of the application asks of a store of photos,
so a server farm can keep them in an object store (anything that can put,
get and list by key) instead of a directory; `DirectoryPhotos` is the one
built here: `<root>/ab/abcdef...` (the first two hex digits fan the files out).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from rescue.store.env import is_sqlite, store_env

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class MissingPhoto(KeyError):
    """No bytes are stored under this hash."""


class PhotoStorage(Protocol):
    def put(self, data: bytes) -> str:
        """Stores the bytes (once; again is a no-op) and returns their SHA-256 in hex."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under the hash, as they are now (`MissingPhoto` if none)."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def hashes(self) -> Iterator[str]:
        """Every hash stored (for backups)."""
        ...


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DirectoryPhotos:
    """Photos as files in one directory tree, each written atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"DirectoryPhotos({str(self.root)!r})"

    def path(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise MissingPhoto(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        sha256 = digest(data)
        target = self.path(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise MissingPhoto(sha256) from None

    def exists(self, sha256: str) -> bool:
        try:
            return self.path(sha256).is_file()
        except MissingPhoto:
            return False

    def hashes(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for fan in sorted(self.root.iterdir()):
            if fan.is_dir():
                for file in sorted(fan.iterdir()):
                    if SHA256.match(file.name):
                        yield file.name


def default_photo_dir(db_url: str) -> Path:
    """Beside the SQLite file (`var/rescue.db` -> `var/rescue.db.photos`); for PostgreSQL,
    `var/photos` under the working directory unless `RESCUE_PHOTOS_DIR` says otherwise."""
    if is_sqlite(db_url):
        database = Path(store_env(db_url)["SQLITE_DBNAME"])
        return database.with_name(database.name + ".photos")
    return Path("var/photos")


def copy_photos(source: PhotoStorage, target: PhotoStorage) -> int:
    """Copies every photo `target` lacks; returns how many. Content-addressed: nothing is
    ever overwritten, so a copy into a live store is safe."""
    copied = 0
    for sha256 in source.hashes():
        if not target.exists(sha256):
            target.put(source.get(sha256))
            copied += 1
    return copied


def photos_beside(backup_file: Path) -> Path:
    """Where `rescue backup --to FILE` keeps the photos: `FILE.photos`."""
    return Path(str(backup_file) + ".photos")
