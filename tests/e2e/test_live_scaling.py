"""Slow clients are dropped without holding anyone up; several servers share one PostgreSQL."""

from __future__ import annotations

import base64
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.test_incident_life import report_body
from tests.e2e.test_live_feeds import receive, until, ws_url
from tests.live import LiveServer, bearer, seed
from tests.support import free_port


def stalled_board_client(port: int, token: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A tiny receive window, so the server's writes back up quickly.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws/board?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


@pytest.fixture
def small_queue_server(
    store_url: str, tmp_path: Path
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    key = new_key()
    tokens = seed(Settings(db=store_url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(db=store_url, key=key, port=free_port(), log_path=tmp_path / "s.log")
    live.start(ws_queue_limit="25")
    try:
        yield live, tokens
    finally:
        live.stop()


def test_a_client_that_stops_reading_is_dropped_alone(
    small_queue_server: tuple[LiveServer, dict[str, str]],
) -> None:
    live, tokens = small_queue_server
    op = bearer(tokens["op"])
    stalled = stalled_board_client(live.port, tokens["op"])
    try:
        # The reader keeps reading while the calls are posted (no queue limit on its side):
        # with the default limit of 16 frames it would stop reading its socket, miss the
        # server's pongs, and close on a keepalive timeout whenever 900 calls take more
        # than about 40 s, which says how fast the machine is, not what the server does.
        with connect(ws_url(live, "/ws/board", token=tokens["op"]), max_queue=None) as reader:
            receive(reader)
            # 1. More calls than the kernel buffers toward the stalled socket hold (4 MiB at
            #    most here); a call cannot be coalesced like a GPS fix, so its queue overflows.
            long_place = "路" * 1800  # each call's board frame is then ~6 kB

            def call(_: int) -> dict[str, str]:
                body = report_body()
                body["location"]["description"] = long_place  # type: ignore[index]
                with httpx.Client(base_url=live.url, timeout=60) as http:
                    made: dict[str, str] = http.post("/api/incidents", json=body, headers=op).json()
                    return made

            with ThreadPoolExecutor(8) as pool:
                reported = list(pool.map(call, range(900)))
            # 2. The reading client got every one of them, in log order.
            ids = set()
            last = 0
            while len(ids) < len(reported):
                message = receive(reader)
                if message["type"] == "heartbeat":
                    continue
                assert message["log_position"] > last
                last = message["log_position"]
                if message.get("event") == "Reported":
                    ids.add(message["id"])
            assert ids == {r["incident_id"] for r in reported}
        # 3. The stalled one was dropped by the server (queue over its limit).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            stats = httpx.get(f"{live.url}/api/feeds", headers=op).json()
            if stats["dropped_clients"] >= 1:
                break
            time.sleep(0.2)
        assert stats["dropped_clients"] == 1
        assert stats["clients"] == 0
    finally:
        stalled.close()


@pytest.mark.postgres
def test_a_change_through_one_server_reaches_the_other_servers_clients(
    postgres_url: str, tmp_path: Path
) -> None:
    key = new_key()
    tokens = seed(Settings(db=postgres_url, cipher_key=key), NETWORK, USERS)
    first = LiveServer(postgres_url, key, free_port(), tmp_path / "a.log").start()
    second = LiveServer(postgres_url, key, free_port(), tmp_path / "b.log").start()
    try:
        with connect(ws_url(second, "/ws/board", token=tokens["op"])) as board:
            receive(board)
            # 1. A call taken through the first server ...
            made = httpx.post(
                f"{first.url}/api/incidents", json=report_body(), headers=bearer(tokens["op"])
            ).json()
            # 2. ... reaches the console connected to the second.
            seen, _ = until(board, lambda m: m.get("event") == "Reported")
            assert seen["id"] == made["incident_id"]
            # 3. And the second server can dispatch it at once (its board is current).
            answer = httpx.post(
                f"{second.url}/api/incidents/{made['incident_id']}/dispatch",
                json={},
                headers=bearer(tokens["op"]),
            )
            assert answer.json()["status"] == "offered"
    finally:
        first.stop()
        second.stop()
