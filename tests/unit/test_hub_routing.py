"""The hub routes keyed clients (crew tablets) by van and job without asking every filter
about every change, and still gives each exactly what its filter wants, in log order."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from rescue.projections.changes import Doc
from rescue.projections.hub import BoardHub, Chunk, Client, crew_filter
from rescue.projections.live import LiveView


def crew_client(van_id: str) -> Client:
    """A tablet's client, as /ws/crew builds it."""
    wanted, keys = crew_filter(van_id)
    return Client(wanted=wanted, keys=keys)


def van(van_id: str, **changes: Any) -> Doc:
    return {"kind": "van", "id": van_id, "event": "Changed", "changes": changes}


def gps(van_id: str, at: str) -> Doc:
    return {
        "kind": "van",
        "id": van_id,
        "event": "PositionReported",
        "changes": {"lat": 34.0, "lon": 113.0, "position_at": at},
    }


def incident(incident_id: str, **changes: Any) -> Doc:
    return {"kind": "incident", "id": incident_id, "event": "Changed", "changes": changes}


def received(client: Client) -> list[tuple[int, str, str]]:
    out = []
    while (chunk := client.take(10_000)) is not None:
        assert isinstance(chunk, Chunk)
        for position, _, data in chunk.entries:
            item = orjson.loads(data)
            assert item["log_position"] == position
            out.append((position, item["kind"], item["id"]))
    return out


def test_each_crew_gets_its_van_and_jobs_only_in_log_order() -> None:
    async def scenario() -> tuple[list[Client], Client]:
        hub = BoardHub(LiveView(), asyncio.get_running_loop())
        crews = [crew_client(f"V{n}") for n in range(1, 201)]
        console = Client(wanted=None)
        for client in [*crews, console]:
            hub.clients.add(client)
        # One burst: V7 is offered job A (the van change names it), then A changes without
        # naming the van, then other vans move, then job B is offered to V9 by its own change.
        burst = [
            van("V7", status="offered", incident_id="A"),
            incident("A", status="accepted"),
            gps("V8", "2026-11-27T08:00:00+00:00"),
            gps("V7", "2026-11-27T08:00:01+00:00"),
            incident("B", status="offered", van_id="V9"),
            incident("B", status="accepted"),
            incident("C", status="reported"),
            {"kind": "station", "id": "S1", "event": "Changed", "changes": {"free": 3}},
        ]
        for position, item in enumerate(burst, start=10):
            hub._on_changes(position, [item])
        await asyncio.sleep(0.2)  # past the fan-out delay
        # A later burst: job A changes again; V7's tablet still follows it.
        hub._on_changes(30, [incident("A", status="en_route")])
        await asyncio.sleep(0.2)
        return crews, console

    crews, console = asyncio.run(scenario())
    assert received(crews[6]) == [
        (10, "van", "V7"),
        (11, "incident", "A"),
        (13, "van", "V7"),
        (30, "incident", "A"),
    ]
    assert received(crews[7]) == [(12, "van", "V8")]
    assert received(crews[8]) == [(14, "incident", "B"), (15, "incident", "B")]
    # Every other tablet got nothing; the console got everything, in order.
    assert all(received(c) == [] for n, c in enumerate(crews) if n not in (6, 7, 8))
    assert [p for p, _, _ in received(console)] == [10, 11, 12, 13, 14, 15, 16, 17, 30]
