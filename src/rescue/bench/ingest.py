"""Position ingest into the store against raw `sqlite3` inserts of the same rows.

Both sides write the same stored rows in the same batches to a SQLite file in
WAL mode with synchronous=FULL (the library's settings and SQLite's default),
one transaction per batch. The store side goes through the real group-commit
path (`PositionWriter._append`: events on each van's track, encoding, the
save); the raw side is `executemany` of the rows the store wrote, read back
from its file, so the comparison is of the same bytes.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import statistics
import tempfile
import time
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rescue.actors import Actor
from rescue.application import RescueApp, load_network
from rescue.positions import PositionReport, PositionWriter, _Job
from rescue.privacy import new_key
from rescue.settings import Settings
from rescue.simulator.network import scaled_network


def bench_ingest(vans: int = 1000, batches: int = 40, seed: int = 3) -> dict[str, Any]:
    """One report per van per batch: a fleet at 1 Hz committing once per second of reports.

    Store and raw batches alternate, each raw batch inserting the rows the store
    batch just wrote, so both see the same disk at the same moment; the ratio is
    of median batch times (this machine's fsync time varies by several times).
    """
    with tempfile.TemporaryDirectory() as folder:
        store_db = Path(folder) / "store.db"
        app = RescueApp(Settings(db=f"sqlite:///{store_db}", cipher_key=new_key()))
        network = scaled_network(max(1, vans // 2), vans, seed=seed)
        load_network(
            app,
            [dataclasses.asdict(s) for s in network.stations],
            [dataclasses.asdict(v) for v in network.vans],
            Actor(role="admin", name="bench"),
        )
        writer = PositionWriter(app)
        writer.close()  # the bench drives _append itself, in this thread
        start = datetime.now(UTC) - timedelta(hours=2)
        raw = _RawTable(Path(folder) / "raw.db")
        store_times: list[float] = []
        raw_times: list[float] = []
        for b in range(batches + 1):
            jobs = [
                _Job(
                    v.van_id,
                    [
                        PositionReport(
                            34.0 + i * 1e-4, 113.0 + b * 1e-4, start + timedelta(seconds=b)
                        )
                    ],
                    None,
                    Future(),
                )
                for i, v in enumerate(network.vans)
            ]
            before = app.recorder.max_notification_id() or 0
            t0 = time.perf_counter()
            writer._append(jobs)
            elapsed = time.perf_counter() - t0
            rows = _rows_after(store_db, before)
            raw_elapsed = raw.insert(rows)
            if b > 0:  # the first batch loads every track: not the steady state
                store_times.append(elapsed)
                raw_times.append(raw_elapsed)
        raw.close()
        app.close()
    store_rate = vans / statistics.median(store_times)
    raw_rate = vans / statistics.median(raw_times)
    return {
        "vans": vans,
        "batch": vans,
        "positions": vans * batches,
        "store_per_s": round(store_rate),
        "raw_per_s": round(raw_rate),
        "ratio": round(store_rate / raw_rate, 3),
    }


def _rows_after(db: Path, after: int) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "WHERE rowid > ? ORDER BY rowid",
            (after,),
        ).fetchall()


class _RawTable:
    """The baseline: the same table, the same durability, one executemany per batch."""

    def __init__(self, db: Path) -> None:
        self.conn = sqlite3.connect(db, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )

    def insert(self, rows: list[tuple[Any, ...]]) -> float:
        t0 = time.perf_counter()
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", rows)
        self.conn.execute("COMMIT")
        return time.perf_counter() - t0

    def close(self) -> None:
        self.conn.close()


if __name__ == "__main__":
    import json

    print(json.dumps(bench_ingest(), indent=2))
