"""Bad and abusive WebSocket clients against a real server: each is closed with the code for
what it did, and the server carries on for everyone else, recording nothing for them.

`test_live_feeds.py` covers bad tokens, roles and parameters at the handshake and a first
message that is not JSON; these are the frames that come after it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from rescue.api.routers.live import MAX_FRAME_BYTES
from rescue.bootstrap import bootstrap
from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.builders import ADMIN, line_network, load
from tests.e2e.test_live_feeds import receive, until
from tests.live import LiveServer, bearer
from tests.support import free_port

USERS = {
    "op": ("operator", None),
    "aud": ("auditor", None),
    "crew": ("crew", "V1"),
    # Accounts that flood: the rate limit is per account, so the others stay usable.
    "op-flood": ("operator", None),
    "crew-flood": ("crew", "V2"),
}
FLOOD_FRAMES = 3000


@dataclass
class Served:
    live: LiveServer
    tokens: dict[str, str]

    @contextmanager
    def socket(self, path: str, who: str) -> Iterator[ClientConnection]:
        url = f"ws://127.0.0.1:{self.live.port}{path}?token={self.tokens[who]}"
        with connect(url, max_size=None) as ws:
            assert receive(ws)["type"] == "snapshot"
            yield ws

    def log_position(self) -> int:
        feeds = httpx.get(f"{self.live.url}/api/feeds", headers=bearer(self.tokens["aud"]))
        position: int = feeds.json()["log_position"]
        return position

    def clients(self, expected: int) -> int:
        """Open sockets, once they are `expected` (a closed socket is unregistered just
        after its close frame went out) or after a few seconds."""
        deadline = time.monotonic() + 5
        while True:
            feeds = httpx.get(f"{self.live.url}/api/feeds", headers=bearer(self.tokens["aud"]))
            count: int = feeds.json()["clients"]
            if count == expected or time.monotonic() > deadline:
                return count
            time.sleep(0.05)


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path) -> Iterator[Served]:
    key = new_key()
    app = bootstrap(Settings(db=sqlite_url, cipher_key=key))
    try:
        load(app, *line_network(2))
        tokens = {
            who: app.access.add_user(who, role, van, ADMIN) for who, (role, van) in USERS.items()
        }
    finally:
        app.close()
    live = LiveServer(db=sqlite_url, key=key, port=free_port(), log_path=tmp_path / "server.log")
    live.start()
    try:
        yield Served(live, tokens)
    finally:
        live.stop()


def close_code(ws: ClientConnection, timeout: float = 10.0, within_s: float = 60.0) -> int | None:
    """Reads until the server closes the socket; the code it closed with.

    Fails after `within_s` however busy the socket is: the board's heartbeats
    would otherwise keep a socket the server never closes read for ever.
    """
    deadline = time.monotonic() + within_s
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            assert time.monotonic() < deadline, f"the server kept the socket open {within_s} s"
            ws.recv(timeout=timeout)
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


def flood(ws: ClientConnection, frame: str, count: int) -> int:
    """Sends `frame` up to `count` times as fast as the socket takes them; how many went."""
    sent = 0
    try:
        for _ in range(count):
            ws.send(frame)
            sent += 1
    except ConnectionClosed:
        pass
    return sent


def app_errors(live: LiveServer) -> list[str]:
    """Log lines of an exception in the application: one it did not handle, or a traceback
    through its code. (uvicorn's own WebSocket layer logs text that is not UTF-8 with a
    traceback of its own; that is the server refusing the frame, not a fault.)"""
    return [
        line
        for line in live.log_path.read_text(errors="replace").splitlines()
        if "Exception in ASGI application" in line
        or ("Traceback" in line and ("/api/" in line or "/rescue/" in line))
    ]


def test_malformed_and_oversized_frames_close_the_socket_with_their_code(served: Served) -> None:
    before = served.log_position()
    too_big = json.dumps({"type": "positions", "reports": [], "pad": "x" * MAX_FRAME_BYTES})
    cases: list[tuple[str, str, str | bytes, bool | None, int]] = [
        # (feed, who, frame, send as text?, close code)
        ("/ws/crew", "crew", "not json", None, 4400),
        ("/ws/crew", "crew", "[1, 2, 3]", None, 4400),
        ("/ws/crew", "crew", '"a string"', None, 4400),
        ("/ws/crew", "crew", "{" * 10_000, None, 4400),
        ("/ws/crew", "crew", b'{"type": "step"}', False, 1003),  # a binary frame
        ("/ws/board", "op", b"\x00\x01\x02", False, 1003),
        ("/ws/crew", "crew", b'{"type": "\xff\xfe"}', True, 1007),  # text, not UTF-8
        ("/ws/board", "op", b"\xc3\x28", True, 1007),
        ("/ws/crew", "crew", too_big, None, 1009),
        ("/ws/board", "op", "x" * (MAX_FRAME_BYTES + 1), None, 1009),
        ("/ws/crew", "crew", "é" * (MAX_FRAME_BYTES // 2 + 1), None, 1009),  # counted in bytes
    ]
    wrong = []
    for feed, who, frame, text, expected in cases:
        with served.socket(feed, who) as ws:
            ws.send(frame, text=text)
            code = close_code(ws)
        if code != expected:
            wrong.append((feed, repr(frame)[:40], code, expected))
    # 1. Each socket was closed with the code for what its client sent.
    assert wrong == []
    # 2. Nothing was recorded, no socket is left open, the server logged no error.
    assert served.log_position() == before
    assert served.clients(expected=0) == 0
    assert app_errors(served.live) == []


def test_frames_of_the_wrong_shape_are_answered_and_the_socket_stays(served: Served) -> None:
    before = served.log_position()
    with served.socket("/ws/crew", "crew") as ws:
        frames = [
            {"ref": 1, "type": "teleport"},
            {"ref": 2},
            {"ref": 3, "type": "step", "action": "fly", "incident_id": "x"},
            {"ref": 4, "type": "step", "action": "accept", "incident_id": 7},
            {"ref": 5, "type": "step", "action": "accept", "incident_id": "x", "data": [1]},
            {"ref": 6, "type": "step", "action": "accept", "incident_id": "x", "data": "x"},
            {"ref": 7, "type": "step", "action": "accept", "incident_id": "x", "key": 5},
            {"ref": 8, "type": "positions", "reports": "here"},
            {"ref": 9, "type": "positions", "reports": [{"lat": "north"}]},
            {"ref": 10, "type": "positions", "reports": [{"lat": 91, "lon": 0}]},
            {"ref": 11, "type": "positions", "reports": []},
            {"ref": 12, "type": "positions", "reports": [], "key": "k" * 201},
        ]
        for frame in frames:
            ws.send(json.dumps(frame))
        acks = [until(ws, lambda m: m.get("type") == "ack")[0] for _ in frames]
        # 1. Every frame is answered, in order, as the REST route would answer it.
        assert [a["ref"] for a in acks] == [f["ref"] for f in frames]
        assert {a["status"] for a in acks} == {422}
        # 2. The socket still works: a good command after them is carried out.
        at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
        report = {"lat": 34.7, "lon": 113.6, "recorded_at": at}
        ws.send(json.dumps({"ref": 13, "type": "positions", "reports": [report]}))
        ack, _ = until(ws, lambda m: m.get("type") == "ack")
        assert (ack["ref"], ack["status"]) == (13, 202)
    # 3. Only that position was recorded.
    assert served.log_position() == before + 1
    assert app_errors(served.live) == []


def test_a_flood_of_frames_is_cut_off_and_the_server_carries_on(served: Served) -> None:
    with served.socket("/ws/board", "aud") as watcher:
        before = served.log_position()
        # 1. A tablet and a console each send thousands of frames as fast as they can:
        #    each is closed once past its account's rate limit.
        with served.socket("/ws/crew", "crew-flood") as tablet:
            sent = flood(tablet, json.dumps({"type": "noop"}), FLOOD_FRAMES)
            assert close_code(tablet) == 4429
        with served.socket("/ws/board", "op-flood") as console:
            flood(console, "hello", FLOOD_FRAMES)
            assert close_code(console) == 4429
        assert sent > 1
        # 2. Nothing was recorded for them; the other sockets are open, the server ready.
        assert served.log_position() == before
        assert served.clients(expected=1) == 1
        assert httpx.get(f"{served.live.url}/healthz").json() == {"status": "ok"}
        # 3. Another client still hears of changes: a crew's position reaches the watcher.
        at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
        answer = httpx.post(
            f"{served.live.url}/api/vans/V1/positions",
            json={"lat": 34.8, "lon": 113.6, "recorded_at": at},
            headers=bearer(served.tokens["crew"]),
        )
        assert answer.status_code == 202
        moved, _ = until(watcher, lambda m: m.get("event") == "PositionReported")
        assert (moved["id"], moved["changes"]["lat"]) == ("V1", 34.8)
    assert app_errors(served.live) == []
