"""Live feeds through a real server and real WebSocket clients."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import NETWORK
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer

TOW_VAN, REPAIR_VAN = NETWORK.vans[0].van_id, NETWORK.vans[1].van_id
Server = tuple[LiveServer, dict[str, str]]


def ws_url(live: LiveServer, path: str, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"ws://127.0.0.1:{live.port}{path}?{query}"


_unread: dict[int, deque[dict[str, Any]]] = {}


def receive(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    """The next message, with the changes of a `batch` frame taken one at a time."""
    unread = _unread.setdefault(id(ws), deque())
    if not unread:
        message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
        if message.get("type") == "batch":
            assert [c["log_position"] for c in message["changes"]][-1] == message["log_position"]
            unread.extend(message["changes"])
        else:
            unread.append(message)
    return unread.popleft()


def until(
    ws: ClientConnection, matches: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Reads messages until one matches; returns it and everything read before it."""
    seen: list[dict[str, Any]] = []
    while True:
        message = receive(ws, timeout)
        if matches(message):
            return message, seen
        seen.append(message)


def fix(minutes_ago: float, lat: float, lon: float) -> dict[str, object]:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"lat": lat, "lon": lon, "recorded_at": at.isoformat()}


def test_a_rest_position_reaches_a_board_client(server: Server) -> None:
    live, tokens = server
    with connect(ws_url(live, "/ws/board", token=tokens["op"])) as board:
        # 0. The client offered per-message compression; the server declined it (compressing
        # every change once per socket cost more than the fan-out itself).
        assert board.request is not None and board.response is not None
        assert "permessage-deflate" in board.request.headers["Sec-WebSocket-Extensions"]
        assert "Sec-WebSocket-Extensions" not in board.response.headers
        # 1. The snapshot shows every van of the network.
        snapshot = receive(board)
        assert snapshot["type"] == "snapshot"
        assert len(snapshot["vans"]) == len(NETWORK.vans)
        # 2. A crew reports a position over REST; the board hears of it.
        answer = httpx.post(
            f"{live.url}/api/vans/{REPAIR_VAN}/positions",
            json=fix(1, 34.5, 113.5),
            headers=bearer(tokens["crew-repair"]),
        )
        assert answer.status_code == 202
        moved, _ = until(board, lambda m: m.get("event") == "PositionReported")
        assert moved["id"] == REPAIR_VAN
        assert moved["changes"]["lat"] == 34.5
        assert moved["log_position"] > snapshot["log_position"]


def test_an_offer_reaches_exactly_the_right_crew(server: Server) -> None:
    live, tokens = server
    with (
        connect(ws_url(live, "/ws/crew", token=tokens["crew-repair"])) as right,
        connect(ws_url(live, "/ws/crew", token=tokens["crew-tow"])) as other,
    ):
        assert receive(right)["type"] == "snapshot"
        assert receive(other)["type"] == "snapshot"
        # 1. A battery call at HQ is offered to HQ's repair van, not its tow truck.
        op = bearer(tokens["op"])
        incident = httpx.post(f"{live.url}/api/incidents", json=report_body(), headers=op).json()
        httpx.post(
            f"{live.url}/api/incidents/{incident['incident_id']}/dispatch", json={}, headers=op
        )
        offer, _ = until(right, lambda m: m.get("event") == "Offered" and m["kind"] == "incident")
        assert offer["id"] == incident["incident_id"]
        assert offer["changes"]["van_id"] == REPAIR_VAN
        # 2. The tow truck's tablet hears nothing of it.
        with pytest.raises(TimeoutError):
            other.recv(timeout=1.5)
        # 3. The crew accepts over the socket, with the REST route's rules.
        right.send(
            json.dumps(
                {
                    "type": "step",
                    "ref": 1,
                    "incident_id": incident["incident_id"],
                    "action": "accept",
                    "data": {"eta_min": 7},
                    "key": "k1",
                }
            )
        )
        ack, _ = until(right, lambda m: m.get("type") == "ack")
        assert (ack["ref"], ack["status"], ack["body"]["status"]) == (1, 200, "accepted")
        right.send(
            json.dumps(
                {
                    "type": "step",
                    "ref": 2,
                    "incident_id": incident["incident_id"],
                    "action": "accept",
                    "data": {"eta_min": 7},
                    "key": "k2",
                }
            )
        )
        refused, _ = until(right, lambda m: m.get("type") == "ack")
        assert refused["status"] == 409
        # 4. The tow truck's tablet tries to act on a job that is not with its van: 403.
        other.send(
            json.dumps(
                {
                    "type": "step",
                    "ref": 3,
                    "incident_id": incident["incident_id"],
                    "action": "depart",
                    "key": "k3",
                }
            )
        )
        foreign, _ = until(other, lambda m: m.get("type") == "ack")
        assert (foreign["ref"], foreign["status"]) == (3, 403)
        assert f"not with van {TOW_VAN}" in foreign["body"]["detail"]


def changes_after(live: LiveServer, token: str, after: int, count: int) -> list[dict[str, Any]]:
    with connect(ws_url(live, "/ws/board", token=token, after=after)) as board:
        return [receive(board) for _ in range(count)]


def test_resume_after_a_position_has_no_gap_and_no_repeat(server: Server) -> None:
    live, tokens = server
    crew = bearer(tokens["crew-repair"])
    with connect(ws_url(live, "/ws/board", token=tokens["op"])) as board:
        snapshot = receive(board)
        # 1. Live: three positions arrive; remember where the client stood after the first.
        for n in range(3):
            httpx.post(
                f"{live.url}/api/vans/{REPAIR_VAN}/positions",
                json=fix(10 - n, 34.0 + n / 100, 113.0),
                headers=crew,
            )
        first, _ = until(board, lambda m: m.get("event") == "PositionReported")
        live_rest = [receive(board) for _ in range(2)]
    # 2. Disconnected: more changes happen (a call and positions).
    httpx.post(f"{live.url}/api/incidents", json=report_body(), headers=bearer(tokens["op"]))
    for n in range(3, 6):
        httpx.post(
            f"{live.url}/api/vans/{REPAIR_VAN}/positions",
            json=fix(10 - n, 34.0 + n / 100, 113.0),
            headers=crew,
        )
    # 3. Resuming after the first position gives the next ones exactly once, in order.
    resumed = changes_after(live, tokens["op"], first["log_position"], 6)
    assert resumed[:2] == live_rest
    positions = [m["log_position"] for m in resumed]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert all(p > first["log_position"] for p in positions)
    assert [m["event"] for m in resumed] == ["PositionReported"] * 2 + ["Reported"] + [
        "PositionReported"
    ] * 3
    assert first["log_position"] > snapshot["log_position"]

    # 4. The same after a server restart: the replay comes from the stored log.
    live.stop()
    live.start()
    assert changes_after(live, tokens["op"], first["log_position"], 6) == resumed


def test_an_osmand_report_moves_the_van(server: Server) -> None:
    live, tokens = server
    with connect(ws_url(live, "/ws/board", token=tokens["aud"])) as board:
        receive(board)
        # 1. A tracker app sends the OsmAnd protocol with the crew token as device id.
        now = int(datetime.now(UTC).timestamp())
        answer = httpx.get(
            f"{live.url}/osmand",
            params={
                "id": tokens["crew-tow"],
                "lat": "34.81",
                "lon": "113.52",
                "timestamp": str(now),
                "speed": "10",
                "bearing": "90",
                "accuracy": "5",
            },
        )
        assert answer.status_code == 200
        moved, _ = until(board, lambda m: m.get("event") == "PositionReported")
        assert (moved["id"], moved["changes"]["lat"], moved["changes"]["lon"]) == (
            TOW_VAN,
            34.81,
            113.52,
        )
        assert moved["changes"]["speed_kmh"] == 18.52  # 10 knots
    # 2. A wrong device id is refused and records nothing.
    assert (
        httpx.get(f"{live.url}/osmand", params={"id": "nope", "lat": "1", "lon": "2"}).status_code
        == 401
    )


def test_bad_board_requests_are_closed_with_a_code(server: Server) -> None:
    live, tokens = server
    for url, code in [
        (ws_url(live, "/ws/board"), 4401),
        (ws_url(live, "/ws/board", token="wrong"), 4401),
        (ws_url(live, "/ws/board", token=tokens["crew-tow"]), 4403),
        (ws_url(live, "/ws/board", token=tokens["op"], after="x"), 4400),
        (ws_url(live, "/ws/crew", token=tokens["op"]), 4403),
    ]:
        with connect(url) as ws:
            if "token" not in url:
                ws.send("not json")
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=15)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code, url
