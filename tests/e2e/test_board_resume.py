"""Resuming `/ws/board?after=N` while changes are in flight: none twice, none missing."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import httpx
from websockets.sync.client import connect

from rescue.bootstrap import bootstrap
from rescue.projections.changes import board_changes
from rescue.settings import Settings
from tests.e2e.conftest import NETWORK
from tests.e2e.test_live_feeds import ws_url
from tests.live import LiveServer, bearer

Server = tuple[LiveServer, dict[str, str]]
RECONNECTS = 40
# A resume that never brings the changes asked for fails after this long: the board's
# heartbeats would otherwise keep the read going for ever.
READ_DEADLINE_S = 60
# Two writers per van: the log grows from several requests at once.
WRITERS = [("crew-tow", NETWORK.vans[0].van_id), ("crew-repair", NETWORK.vans[1].van_id)] * 2


@contextmanager
def writing(live: LiveServer, tokens: dict[str, str]) -> Iterator[list[int]]:
    """Threads posting one position after another until the block ends; yields a count of
    the positions stored (each answered 202). A 429 is waited out as its Retry-After
    says, as a crew's app does: the posts come faster than a crew's rate limit."""
    stop = threading.Event()
    stored = [0]
    lock = threading.Lock()

    def post(who: str, van_id: str, n: int) -> None:
        with httpx.Client(base_url=live.url, headers=bearer(tokens[who]), timeout=30) as http:
            while not stop.is_set():
                fix = {
                    "lat": 34.0 + random.random() / 10,
                    "lon": 113.0 + n / 100,
                    "recorded_at": datetime.now(UTC).isoformat(),
                }
                answer = http.post(f"/api/vans/{van_id}/positions", json=fix)
                if answer.status_code == 429:
                    stop.wait(float(answer.headers["Retry-After"]))
                    continue
                assert answer.status_code == 202, answer.text
                with lock:
                    stored[0] += 1

    threads = [
        threading.Thread(target=post, args=(who, van_id, n), daemon=True)
        for n, (who, van_id) in enumerate(WRITERS)
    ]
    for thread in threads:
        thread.start()
    try:
        yield stored
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def read_changes(live: LiveServer, token: str, after: int, count: int) -> list[int]:
    """Connects with `?after=`, reads at least `count` changes, disconnects; returns the
    position of every change it read (a batch frame is read whole)."""
    seen: list[int] = []
    deadline = time.monotonic() + READ_DEADLINE_S
    with connect(ws_url(live, "/ws/board", token=token, after=after)) as board:
        while len(seen) < count:
            assert time.monotonic() < deadline, (
                f"{len(seen)} of {count} changes after {after} in {READ_DEADLINE_S} s"
            )
            message = json.loads(board.recv(timeout=30))
            if message["type"] == "batch":
                seen += [change["log_position"] for change in message["changes"]]
            elif message["type"] == "change":
                seen.append(message["log_position"])
    return seen


def board_positions(live: LiveServer, after: int) -> list[int]:
    """The log positions after `after` whose events change the board, read from the store."""
    app = bootstrap(Settings(db=live.db, cipher_key=live.key), follow=False)
    try:
        van_ids: dict[Any, str] = {}
        positions: list[int] = []
        start = 0
        while page := app.store.recorder.select_notifications(
            start=start, limit=5000, inclusive_of_start=False
        ):
            for notification in page:
                event = app.store.mapper.to_domain_event(notification)
                if type(event).__qualname__ in ("Van.Registered", "VanTrack.Started"):
                    van_ids[event.originator_id] = event.van_id
                if notification.id > after and board_changes(event, van_ids):
                    positions.append(notification.id)
            start = page[-1].id
        return positions
    finally:
        app.close()


def test_reconnecting_while_writers_post_sees_every_change_once(server: Server) -> None:
    live, tokens = server
    token = tokens["op"]
    chance = random.Random(13)
    with connect(ws_url(live, "/ws/board", token=token)) as board:
        start = json.loads(board.recv(timeout=30))["log_position"]
    seen: list[int] = []
    # 1. While four writers post positions, a console reconnects again and again,
    #    each time after the last change it saw, reading a few changes in between.
    with writing(live, tokens) as stored:
        for _ in range(RECONNECTS):
            last = seen[-1] if seen else start
            seen += read_changes(live, token, last, chance.randint(1, 25))
    # 2. Everything written is stored now; one more resume reads up to the end.
    expected = board_positions(live, start)
    assert len(expected) == stored[0] > RECONNECTS
    last = seen[-1]
    seen += read_changes(live, token, last, len([p for p in expected if p > last]))
    # 3. Strictly increasing (nothing twice, nothing out of order) and complete.
    out_of_order = [(a, b) for a, b in pairwise(seen) if a >= b]
    assert out_of_order == []
    assert seen == expected
