"""The CPU time PostgreSQL's own processes spend serving one database, on this machine.

On SQLite the store's work is done inside the server's processes and counted
with them. On PostgreSQL each connection has a process of its own (a
backend), and when the server runs on the same machine those processes share
its cores with `rescue serve`, the load generator and the baseline: a fix's
cost there is the server's CPU and the backends'. A `BackendClock` reads the
backends of one database from `pg_stat_activity` and their CPU time from
`/proc`, so that a benchmark can report both. A server on another machine
(its processes not visible here) is not measured.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from urllib.parse import urlsplit

from rescue.bench.processes import own_cpu_seconds

__all__ = ["BackendClock", "used_between"]

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid()"
)


class BackendClock:
    """Reads the CPU time of the backends serving the PostgreSQL database at `url`."""

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def for_store(url: str) -> BackendClock | None:
        """A clock for a PostgreSQL database on this machine; None for SQLite or a remote one."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            return None
        if parts.hostname not in _LOCAL_HOSTS:
            return None
        return BackendClock(url)

    def read(self) -> dict[int, float]:
        """Each backend's CPU seconds so far, by process id (those this machine shows)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            pids = [int(row[0]) for row in conn.execute(_BACKENDS).fetchall()]
        return {pid: own_cpu_seconds(pid) for pid in pids if _is_postgres(pid)}


def used_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the backends used between two readings; one born since counts from zero.

    A backend that ended between the readings is not counted: the server's
    pooled connections stay open throughout a benchmark's window.
    """
    return sum(max(0.0, seconds - before.get(pid, 0.0)) for pid, seconds in after.items())


def _is_postgres(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"postgres")
    return False
