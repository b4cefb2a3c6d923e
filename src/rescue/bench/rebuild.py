"""Projection rebuild against a raw read of the same notifications.

Both read every notification of the same SQLite log in pages of 5,000: the
raw side with `sqlite3` (rows fetched, nothing decoded), the rebuild through
the application's recorder, the library's decoder and the read models, then
swapping the result in. The ratio is rebuild rate over raw rate.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from rescue.application import RescueApp
from rescue.bench.corpus import Corpus
from rescue.projections.runner import rebuild
from rescue.projections.storage import ViewStore
from rescue.store import store_env


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


def bench_rebuild(corpus: Corpus) -> dict[str, Any]:
    raw_s, rows = raw_read_seconds(corpus.db)
    app = RescueApp(corpus.settings(), follow=False)
    store = ViewStore(corpus.db, name="bench-rebuild")
    try:
        started = time.perf_counter()
        models = rebuild(app, store)
        rebuild_s = time.perf_counter() - started
    finally:
        store.close()
        app.close()
    return {
        "events": rows,
        "rebuild_s": round(rebuild_s, 2),
        "rebuild_per_s": round(rows / rebuild_s),
        "raw_read_s": round(raw_s, 2),
        "raw_per_s": round(rows / raw_s),
        "ratio": round(raw_s / rebuild_s, 3),
        "documents": sum(len(d) for d in models.docs.values()),
    }
