"""Consoles opening one after another share one encoded board snapshot: each later one gets
the changes fanned out since it was taken queued behind it, so every console ends up with
the board as it stands, no change missing or twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from rescue.projections import hub as hub_module
from rescue.projections.changes import Doc, merge
from rescue.projections.hub import BoardHub, Client, station_filter
from rescue.projections.live import LiveView

PAUSE_S = 0.1  # past the hub's fan-out delay


def board_with_vans(count: int) -> LiveView:
    view = LiveView()
    for n in range(count):
        view.vans[f"V{n}"] = {"van_id": f"V{n}", "station_id": f"S{n % 2}", "lat": 30.0}
    view.position = 1
    return view


def move(view: LiveView, hub: BoardHub, position: int, van_id: str, lat: float) -> None:
    """What the log follower does with a GPS fix: the board first, then the hub."""
    item: Doc = {
        "kind": "van",
        "id": van_id,
        "event": "PositionReported",
        "changes": {"lat": lat, "position_at": f"2026-12-03T08:00:{position:02d}+00:00"},
    }
    with view.lock:
        merge(view.vans[van_id], item["changes"])
        view.position = position
    hub._on_changes(position, [item])


def console_board(snapshot: str, client: Client) -> dict[str, float]:
    """A console's picture of the vans' latitudes: its snapshot, then its queued changes."""
    lats = {v["van_id"]: v["lat"] for v in orjson.loads(snapshot)["vans"]}
    positions = []
    while (chunk := client.take(10_000)) is not None:
        for position, _, data in chunk.entries:
            change = orjson.loads(data)
            positions.append(position)
            lats[change["id"]] = change["changes"]["lat"]
    assert positions == sorted(set(positions)), "a change came twice or out of order"
    return lats


def run(scenario: Callable[[BoardHub, LiveView], Awaitable[Any]], vans: int = 4) -> Any:
    async def main() -> Any:
        view = board_with_vans(vans)
        return await scenario(BoardHub(view, asyncio.get_running_loop()), view)

    return asyncio.run(main())


def test_consoles_opening_later_share_the_snapshot_and_get_what_came_after() -> None:
    async def scenario(hub: BoardHub, view: LiveView) -> None:
        first = Client(wanted=None)
        at, first_snapshot = hub.register(first, snapshot=True)
        assert at == 1 and first_snapshot is not None
        move(view, hub, 2, "V0", 31.0)
        move(view, hub, 3, "V1", 32.0)
        await asyncio.sleep(PAUSE_S)
        move(view, hub, 4, "V0", 33.0)  # handed to the hub, not yet fanned out
        second = Client(wanted=None)
        at, second_snapshot = hub.register(second, snapshot=True)
        assert at == 1 and second_snapshot == first_snapshot
        await asyncio.sleep(PAUSE_S)
        assert hub.snapshots_built == 1
        expected = {v: doc["lat"] for v, doc in view.vans.items()}
        assert expected == {"V0": 33.0, "V1": 32.0, "V2": 30.0, "V3": 30.0}
        assert console_board(first_snapshot, first) == expected
        assert console_board(second_snapshot, second) == expected

    run(scenario)


def test_a_snapshot_with_too_many_changes_behind_it_is_taken_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_module, "SNAPSHOT_CATCH_UP_LIMIT", 3)

    async def scenario(hub: BoardHub, view: LiveView) -> None:
        hub.register(Client(wanted=None), snapshot=True)
        for position in range(2, 6):
            move(view, hub, position, f"V{position % 4}", 30.0 + position)
        await asyncio.sleep(PAUSE_S)
        late = Client(wanted=None)
        at, snapshot = hub.register(late, snapshot=True)
        assert hub.snapshots_built == 2
        assert at == 5 and snapshot is not None
        assert late.take(10_000) is None  # nothing to catch up on: the snapshot is new
        assert console_board(snapshot, late) == {v: d["lat"] for v, d in view.vans.items()}

    run(scenario)


def test_a_stations_console_catches_up_on_its_own_vans_only() -> None:
    async def scenario(hub: BoardHub, view: LiveView) -> None:
        hub.register(Client(wanted=None), snapshot=True)
        move(view, hub, 2, "V0", 31.0)  # station S0
        move(view, hub, 3, "V1", 32.0)  # station S1
        await asyncio.sleep(PAUSE_S)
        station = Client(wanted=station_filter(view, "S1"))
        hub.register(station, snapshot=True)
        chunk = station.take(10_000)
        assert chunk is not None
        assert [orjson.loads(data)["id"] for _, _, data in chunk.entries] == ["V1"]

    run(scenario)


def test_changes_while_nobody_watches_build_no_frames_and_later_clients_miss_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[int] = []
    framed = hub_module.frame

    def counting_frame(position: int, item: Doc) -> bytes:
        built.append(position)
        return framed(position, item)

    monkeypatch.setattr(hub_module, "frame", counting_frame)

    async def scenario(hub: BoardHub, view: LiveView) -> None:
        move(view, hub, 2, "V0", 31.0)
        move(view, hub, 3, "V1", 32.0)
        await asyncio.sleep(PAUSE_S)
        assert built == []  # fanned out to nobody
        move(view, hub, 4, "V0", 33.0)  # handed to the hub, not yet fanned out
        console = Client(wanted=None)
        at, snapshot = hub.register(console, snapshot=True)
        plain = Client(wanted=None)
        covered, _ = hub.register(plain)
        assert at == covered == 4 and snapshot is not None
        move(view, hub, 5, "V1", 34.0)
        await asyncio.sleep(PAUSE_S)
        expected = {v: doc["lat"] for v, doc in view.vans.items()}
        assert console_board(snapshot, console) == expected
        assert [e[0] for e in plain.take(10_000).entries] == [5]  # type: ignore[union-attr]
        assert built == [4, 5]  # the burst the clients opened during, and the next

    run(scenario)
