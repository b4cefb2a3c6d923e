"""Projection rebuild against a raw read of the same notifications.

Both read every notification of the same SQLite log in pages of 5,000,
alternately, three times each (medians: the disk cache and other processes
can make single runs vary by half): the
raw side with `sqlite3` (rows fetched, nothing decoded), the rebuild through
the application's recorder, the library's decoder and the read models, then
swapping the result in. The ratio is rebuild rate over raw rate.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from typing import Any

from rescue.bench.corpus import Corpus
from rescue.bootstrap import bootstrap
from rescue.projections.runner import rebuild
from rescue.projections.storage import ViewStore
from rescue.store.env import store_env


def raw_read_seconds(db: str, page: int = 5000) -> tuple[float, int]:
    path = store_env(db)["SQLITE_DBNAME"]
    conn = sqlite3.connect(path)
    started = time.perf_counter()
    last, rows = 0, 0
    while True:
        page_rows = conn.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, page),
        ).fetchall()
        if not page_rows:
            break
        rows += len(page_rows)
        last = page_rows[-1][0]
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, rows


def bench_rebuild(corpus: Corpus, rounds: int = 3) -> dict[str, Any]:
    """Alternates raw reads and rebuilds `rounds` times; compares the medians."""
    raw_times: list[float] = []
    rebuild_times: list[float] = []
    rows, documents = 0, 0
    app = bootstrap(corpus.settings(), follow=False)
    store = ViewStore(corpus.db, name="bench-rebuild")
    try:
        for _ in range(rounds):
            raw_s, rows = raw_read_seconds(corpus.db)
            raw_times.append(raw_s)
            started = time.perf_counter()
            models = rebuild(app.store, store)
            rebuild_times.append(time.perf_counter() - started)
            documents = sum(len(d) for d in models.docs.values())
    finally:
        store.close()
        app.close()
    raw_s, rebuild_s = statistics.median(raw_times), statistics.median(rebuild_times)
    return {
        "events": rows,
        "rounds": rounds,
        "rebuild_s": round(rebuild_s, 2),
        "rebuild_per_s": round(rows / rebuild_s),
        "raw_read_s": round(raw_s, 3),
        "raw_per_s": round(rows / raw_s),
        "ratio": round(raw_s / rebuild_s, 3),
        "documents": documents,
    }
