"""Time travel: an incident as it stood at a moment, against loading it as it stands now.

Both are the application's own reads (`history(id, as_of)` answers
`GET /api/incidents/{id}/history?as_of=`, `incident_details` answers
`GET /api/incidents/{id}`), with the caller's data unsealed as the routes do,
on a log of the given size. The moment is an event in the middle of each
incident's life. The two are interleaved per incident so both see the same
cache state; latencies are per call, p50 and p99 over all sampled incidents.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any
from uuid import UUID

from rich.progress import Progress

from rescue.bench.corpus import Corpus
from rescue.bootstrap import bootstrap

__all__ = ["bench_time_travel"]


def _pct_ms(samples_ns: list[int], q: int) -> float:
    if len(samples_ns) < 2:
        return samples_ns[0] / 1e6
    return statistics.quantiles(samples_ns, n=100, method="inclusive")[q - 1] / 1e6


def bench_time_travel(
    corpus: Corpus, samples: int = 500, seed: int = 9, progress: Progress | None = None
) -> dict[str, Any]:
    rng = random.Random(seed)
    chosen = rng.sample(list(corpus.incident_ids), min(samples, len(corpus.incident_ids)))
    # No live board: these reads go to the store, and replaying the whole log
    # into a board first would only lengthen the set-up.
    app = bootstrap(corpus.settings(), follow=False)
    try:
        moments = []
        for incident_id in chosen:
            events: list[Any] = list(app.store.events.get(UUID(incident_id)))
            moments.append((incident_id, events[len(events) // 2].timestamp, len(events)))
        for incident_id, moment, _ in moments[:10]:  # warm imports and statement caches
            app.queries.history(incident_id, moment, with_caller=True)
            app.queries.incident_details(incident_id, with_caller=True)
        task = (
            progress.add_task("time travel queries", total=len(moments))
            if progress is not None
            else None
        )
        as_of_ns: list[int] = []
        now_ns: list[int] = []
        for incident_id, moment, _ in moments:
            t0 = time.perf_counter_ns()
            app.queries.history(incident_id, moment, with_caller=True)
            as_of_ns.append(time.perf_counter_ns() - t0)
            t0 = time.perf_counter_ns()
            app.queries.incident_details(incident_id, with_caller=True)
            now_ns.append(time.perf_counter_ns() - t0)
            if progress is not None and task is not None:
                progress.advance(task)
    finally:
        app.close()
    return {
        "log_events": corpus.events,
        "incidents": len(moments),
        "events_per_incident": round(statistics.mean(m[2] for m in moments), 1),
        "as_of_p50_ms": round(_pct_ms(as_of_ns, 50), 3),
        "as_of_p99_ms": round(_pct_ms(as_of_ns, 99), 3),
        "current_p50_ms": round(_pct_ms(now_ns, 50), 3),
        "current_p99_ms": round(_pct_ms(now_ns, 99), 3),
    }
