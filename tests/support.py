"""Helpers shared by the tests (importable as ``tests.support``)."""

from __future__ import annotations

import socket
from pathlib import Path


def sqlite_url_for(path: Path) -> str:
    """The SQLite URL of the database file at ``path``: ``sqlite:////abs/path/rescue.db``.

    The path is made absolute, so the URL always has four slashes (``sqlite:///`` + ``/abs``).
    """
    return "sqlite:///" + str(Path(path).resolve())


def sqlite_path_of(url: str) -> Path:
    """The file path named by a URL made by :func:`sqlite_url_for`."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"not a sqlite URL: {url!r}")
    return Path(url[len(prefix) :])


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (bind to port 0, then release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
