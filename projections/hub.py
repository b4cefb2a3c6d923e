"""Fan-out of board changes to WebSocket clients.

The log follower applies each event to the live board in its own thread and
hands the changes here; they are serialised once and queued for every client
that wants them, in the event loop. Each client has a bounded queue:

- a client that falls behind has its queued GPS updates coalesced (only the
  latest per van is kept; the position it stands for is the latest one), which
  is lossless for the map and shrinks the backlog to one message per van;
- a client still over the limit after that is closed with code 4008 ("too
  slow"), so it can reconnect with `?after=` and resume. It never delays the
  writers or the other clients: nothing here waits on a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from rescue.projections.changes import Doc
from rescue.projections.live import LiveView

TOO_SLOW = 4008
# How long the changes of a burst wait to go out together: the least, the most, and
# how much longer per console watching. Every fan-out wakes each console's sender for
# a frame of its own; with hundreds of consoles on one process those frames, not the
# changes in them, are what the loop spends its time on. So the wait grows with the
# consoles, the frames a second stay about the same and each frame carries more.
FAN_OUT_DELAY_S = 0.025
MAX_FAN_OUT_DELAY_S = 0.1
FAN_OUT_DELAY_PER_CONSOLE_S = 0.0002
DEFAULT_QUEUE_LIMIT = 2000
# A shared snapshot serves consoles opening later, with the changes fanned out since
# it was taken queued behind it, until this many changes have gone by.
SNAPSHOT_CATCH_UP_LIMIT = 1000


def frame(position: int, item: Doc) -> bytes:
    return orjson.dumps({"type": "change", "log_position": position, **item})


def fan_out_delay(consoles: int) -> float:
    """Seconds a burst waits before going out to `consoles` consoles (clients without keys)."""
    return min(MAX_FAN_OUT_DELAY_S, max(FAN_OUT_DELAY_S, consoles * FAN_OUT_DELAY_PER_CONSOLE_S))


def both(*filters: Callable[[Doc], bool] | None) -> Callable[[Doc], bool] | None:
    """A filter passing what every given filter passes (None when there is none)."""
    active = [f for f in filters if f is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda item: all(f(item) for f in active)


Entry = tuple[int, tuple[str, str] | None, bytes]  # position, (van, fix time) if GPS, frame


@dataclass(slots=True)
class Chunk:
    """Changes queued together; `body` is their frames joined, shared by every client
    that takes the whole burst, so fanning a burst out costs one append per client."""

    entries: list[Entry]
    body: bytes

    @staticmethod
    def of(entries: list[Entry]) -> Chunk:
        return Chunk(entries, b",".join(e[2] for e in entries))

    @property
    def first(self) -> int:
        return self.entries[0][0]

    @property
    def last(self) -> int:
        return self.entries[-1][0]


def entry(position: int, item: Doc, data: bytes) -> Entry:
    # Only a pure GPS change can be coalesced: it carries the whole fix.
    fix = (
        (item["id"], item["changes"]["position_at"])
        if item["event"] == "PositionReported"
        else None
    )
    return (position, fix, data)


@dataclass(eq=False)
class Client:
    """One socket's queue of changes; `wanted(item)` filters what it gets.

    With `keys`, the filter is only asked about changes whose `id` or whose
    `van_id` is among them (the filter may add keys as it goes, e.g. a crew's
    new job): a thousand tablets each want a sliver of the board, and asking
    every tablet's filter about every change cost more than the rest of the
    fan-out together.
    """

    wanted: Callable[[Doc], bool] | None  # None: everything
    keys: set[str] | None = None
    limit: int = DEFAULT_QUEUE_LIMIT
    # Changes at or below this position were already covered (snapshot or replay).
    covered: int = 0
    queue: deque[Chunk] = field(default_factory=deque)
    queued: int = 0  # changes in the queue
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed_reason: str | None = None
    coalesced: int = 0
    # Called once when the client is dropped: cancels its handler, which may be
    # stuck writing to a socket nobody reads.
    on_drop: Callable[[], object] | None = None

    def offer(self, chunk: Chunk) -> None:
        """Queues a burst of changes (already filtered for this client)."""
        if self.closed_reason is not None or not chunk.entries or chunk.last <= self.covered:
            return
        if chunk.first <= self.covered:
            chunk = Chunk.of([e for e in chunk.entries if e[0] > self.covered])
        self.queue.append(chunk)
        self.queued += len(chunk.entries)
        if self.queued > self.limit:
            self._coalesce()
            if self.queued > self.limit:
                self.closed_reason = "too slow: the client did not keep up with the board"
                self.queue.clear()
                self.queued = 0
                if self.on_drop is not None:
                    self.on_drop()
        self.ready.set()

    def take(self, most: int) -> Chunk | None:
        """The next chunks to send (at most `most` changes unless one chunk is bigger), joined."""
        if not self.queue:
            return None
        chunks: list[Chunk] = []
        count = 0
        while self.queue and (not chunks or count + len(self.queue[0].entries) <= most):
            chunk = self.queue.popleft()
            chunks.append(chunk)
            count += len(chunk.entries)
        self.queued -= count
        if len(chunks) == 1:
            return chunks[0]
        return Chunk([e for c in chunks for e in c.entries], b",".join(c.body for c in chunks))

    def _coalesce(self) -> None:
        entries = [e for chunk in self.queue for e in chunk.entries]
        # Per van, keep the newest fix (not the last queued: tablets resend old fixes).
        best: dict[str, tuple[str, int]] = {}
        for index, (_, fix, _) in enumerate(entries):
            if fix is not None and (fix[0] not in best or fix[1] >= best[fix[0]][0]):
                best[fix[0]] = (fix[1], index)
        kept = [e for index, e in enumerate(entries) if e[1] is None or best[e[1][0]][1] == index]
        self.coalesced += len(entries) - len(kept)
        self.queue = deque([Chunk.of(kept)]) if kept else deque()
        self.queued = len(kept)


class BoardHub:
    """Attached to the live board; owned by the event loop that serves the sockets."""

    def __init__(self, view: LiveView, loop: asyncio.AbstractEventLoop) -> None:
        self.view = view
        self.loop = loop
        self.clients: set[Client] = set()
        self._pending: deque[tuple[int, list[Doc]]] = deque()
        self._pending_lock = threading.Lock()
        self._scheduled = False
        self.frames_sent = 0
        self.dropped_clients = 0
        self.snapshots_built = 0
        self._snapshot: SharedSnapshot | None = None
        view.subscribe(self._on_changes)

    def close(self) -> None:
        self.view.unsubscribe(self._on_changes)

    def _on_changes(self, position: int, changes: list[Doc]) -> None:
        """Called in the follower's thread: hand over and wake the loop once per burst."""
        if not changes:
            return
        with self._pending_lock:
            self._pending.append((position, changes))
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
            self.loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        # Changes of the next few milliseconds go out together: far fewer frames
        # for every client to send and parse, for at most MAX_FAN_OUT_DELAY_S latency.
        consoles = sum(1 for client in self.clients if client.keys is None)
        self.loop.call_later(fan_out_delay(consoles), self._fan_out)

    def _fan_out(self) -> None:
        with self._pending_lock:
            batch = list(self._pending)
            self._pending.clear()
            self._scheduled = False
        if not self.clients and self._snapshot is None:
            # Nobody to send to, and a client that opens later is covered to at least
            # the view's position, past every change of this burst: no frames to build.
            return
        # Each change is serialised once, and the burst joined once, whatever the
        # number of clients; only filtered clients get a chunk of their own.
        items = [(position, item) for position, changes in batch for item in changes]
        entries = [entry(position, item, frame(position, item)) for position, item in items]
        shared: Chunk | None = None
        keyed: list[Client] = []
        for client in list(self.clients):
            wanted = client.wanted
            if wanted is None:
                shared = shared or Chunk.of(entries)
                client.offer(shared)
            elif client.keys is not None:
                keyed.append(client)
            else:
                client.offer(
                    Chunk.of(
                        [e for e, (_, item) in zip(entries, items, strict=True) if wanted(item)]
                    )
                )
        if keyed:
            self._fan_out_keyed(keyed, entries, items)
        if self._snapshot is not None and not self._snapshot.follow(entries, items):
            self._snapshot = None

    @staticmethod
    def _fan_out_keyed(
        clients: list[Client], entries: list[Entry], items: list[tuple[int, Doc]]
    ) -> None:
        by_key: dict[str, list[Client]] = {}
        for client in clients:
            for key in client.keys or ():
                by_key.setdefault(key, []).append(client)
        picked: dict[Client, list[Entry]] = {}
        for e, (_, item) in zip(entries, items, strict=True):
            candidates = by_key.get(item["id"], [])
            van_id = item["changes"].get("van_id")
            if van_id is not None and van_id != item["id"]:
                candidates = candidates + by_key.get(van_id, [])
            for client in dict.fromkeys(candidates):
                keys = client.keys or set()
                known = len(keys)
                if client.wanted is not None and client.wanted(item):
                    picked.setdefault(client, []).append(e)
                if len(keys) != known:  # e.g. a job offered: its changes later in this burst
                    for key in keys:
                        holders = by_key.setdefault(key, [])
                        if client not in holders:
                            holders.append(client)
        for client, chosen in picked.items():
            client.offer(Chunk.of(chosen))

    def register(self, client: Client, *, snapshot: bool = False) -> tuple[int, str | None]:
        """Adds a client; returns the position its snapshot (or a replay) must cover,
        and the snapshot's frame when asked for.

        Runs in the loop thread, as the fan-out does, so every change is either
        at or below the returned position (in the snapshot), queued for this
        client here, or still to be fanned out to it. A snapshot is encoded
        once and shared by every console opening until too many changes have
        gone by: hundreds of consoles reconnecting at once (a server restarted)
        would otherwise each cost a whole board's encoding in the event loop.
        """
        if not snapshot:
            with self.view.lock:
                self.clients.add(client)
                client.covered = self.view.position
                return self.view.position, None
        shared = self._snapshot
        if shared is None:
            position, text = self.view.snapshot_frame()
            shared = self._snapshot = SharedSnapshot(position, text, SNAPSHOT_CATCH_UP_LIMIT)
            self.snapshots_built += 1
        self.clients.add(client)
        client.covered = shared.position
        client.offer(shared.catch_up(client.wanted))
        return shared.position, shared.text

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)
        if client.closed_reason is not None:
            self.dropped_clients += 1


@dataclass(slots=True)
class SharedSnapshot:
    """A board snapshot's frame and the changes fanned out after it, in order."""

    position: int
    text: str
    limit: int
    changes: list[tuple[Entry, Doc]] = field(default_factory=list)

    def follow(self, entries: list[Entry], items: list[tuple[int, Doc]]) -> bool:
        """Keeps a burst's changes past the snapshot; False once there are too many."""
        for e, (position, item) in zip(entries, items, strict=True):
            if position > self.position:
                self.changes.append((e, item))
        return len(self.changes) <= self.limit

    def catch_up(self, wanted: Callable[[Doc], bool] | None) -> Chunk:
        return Chunk.of([e for e, item in self.changes if wanted is None or wanted(item)])


def crew_filter(van_id: str) -> tuple[Callable[[Doc], bool], set[str]]:
    """What one van's tablet wants from the board: its van, and the incidents offered to it.

    Returns the filter and its keys (the van and its jobs, growing as offers
    arrive), for a keyed `Client`.
    """
    mine: set[str] = {van_id}

    def wanted(item: Doc) -> bool:
        if item["kind"] == "van":
            if item["id"] != van_id:
                return False
            offered = item["changes"].get("incident_id")
            if offered:
                mine.add(offered)
            return True
        if item["kind"] == "incident":
            if item["changes"].get("van_id") == van_id:
                mine.add(item["id"])
            return item["id"] in mine
        return False

    return wanted, mine


def station_filter(view: LiveView, station_id: str | None) -> Callable[[Doc], bool] | None:
    if station_id is None:
        return None

    def wanted(item: Doc) -> bool:
        kind = item["kind"]
        if kind == "station":
            return bool(item["id"] == station_id)
        if kind == "van":
            van = view.vans.get(item["id"])
            return van is not None and van.get("station_id") == station_id
        incident = view.incidents.get(item["id"], {})
        return bool(
            incident.get("station_id") == station_id
            or item["changes"].get("station_id") == station_id
        )

    return wanted


def bbox_filter(
    view: LiveView, bbox: tuple[float, float, float, float] | None
) -> Callable[[Doc], bool] | None:
    if bbox is None:
        return None
    min_lon, min_lat, max_lon, max_lat = bbox

    def inside(doc: dict[str, Any] | None) -> bool:
        if doc is None or doc.get("lat") is None:
            return False
        return bool(min_lat <= doc["lat"] <= max_lat and min_lon <= doc["lon"] <= max_lon)

    def wanted(item: Doc) -> bool:
        kind = item["kind"]
        if kind == "van":
            # A van entering or leaving the box is news either way.
            return inside(item["changes"]) or inside(view.vans.get(item["id"]))
        if kind == "incident":
            return inside(item["changes"]) or inside(view.incidents.get(item["id"]))
        return inside(item["changes"]) or inside(view.stations.get(item["id"]))

    return wanted
