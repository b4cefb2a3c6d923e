"""Position ingest into the store against raw `sqlite3` inserts of the same rows.

Every side writes the same rows in the same batches to its own SQLite file in
WAL mode with synchronous=FULL (the library's settings and SQLite's default),
one transaction per batch:

* writer: the whole group-commit path from GPS reports (`PositionWriter._append`:
  each track's versions, encoding, the hash chain, the save);
* store: the store's batched append of those rows (`insert_rows` of the
  application recorder: the library's transaction, the events, their hash
  chain row), the rows being the ones the writer just stored;
* raw: `executemany` of the same rows into a table of the same schema.

The three alternate batch by batch, so they see the same disk at the same moment;
ratios are of median batch times (fsync time can vary by several times from
one batch to the next). Nothing else runs in the process meanwhile: the
application's live board is off (its follower thread would slow whichever side
runs next).
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

from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.actors import Actor
from rescue.places.network import Network
from rescue.services.positions import PositionReport, PositionWriter, _Job
from rescue.settings import Settings
from rescue.simulator.network import scaled_network
from rescue.store.privacy import new_key


def bench_ingest(vans: int = 1000, batches: int = 40, seed: int = 3) -> dict[str, Any]:
    """One report per van per batch: a fleet at 1 Hz committing once per second of reports."""
    with tempfile.TemporaryDirectory() as folder:
        network = scaled_network(max(1, vans // 2), vans, seed=seed)
        writer_db, store_db = Path(folder) / "writer.db", Path(folder) / "store.db"
        writer_app, store_app = _app(writer_db, network), _app(store_db, network)
        writer = PositionWriter(writer_app.runner)
        writer.close()  # the bench drives _append itself, in this thread
        start = datetime.now(UTC) - timedelta(hours=2)
        raw = _RawTable(Path(folder) / "raw.db")
        times: dict[str, list[float]] = {"writer": [], "store": [], "raw": []}
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
            before = writer_app.store.recorder.max_notification_id() or 0
            t0 = time.perf_counter()
            writer._append(jobs, read_back=False)  # as a server process following the log
            writer_elapsed = time.perf_counter() - t0
            rows = _rows_after(writer_db, before)
            t0 = time.perf_counter()
            store_app.store.recorder.insert_rows(rows)  # type: ignore[attr-defined]
            store_elapsed = time.perf_counter() - t0
            raw_elapsed = raw.insert(rows)
            if b > 0:  # the first batch loads every track: not the steady state
                times["writer"].append(writer_elapsed)
                times["store"].append(store_elapsed)
                times["raw"].append(raw_elapsed)
        raw.close()
        writer_app.close()
        store_app.close()
    rate = {side: vans / statistics.median(t) for side, t in times.items()}
    return {
        "vans": vans,
        "batch": vans,
        "positions": vans * batches,
        "store_per_s": round(rate["store"]),
        "writer_per_s": round(rate["writer"]),
        "raw_per_s": round(rate["raw"]),
        "store_ratio": round(rate["store"] / rate["raw"], 3),
        "writer_ratio": round(rate["writer"] / rate["raw"], 3),
    }


def _app(db: Path, network: Network) -> Rescue:
    app = bootstrap(Settings(db=f"sqlite:///{db}", cipher_key=new_key()), follow=False)
    app.network.load_network(
        [dataclasses.asdict(s) for s in network.stations],
        [dataclasses.asdict(v) for v in network.vans],
        Actor(role="admin", name="bench"),
    )
    return app


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
