"""An incident, and the whole board, as they stood at a past moment: what was known when the
dispatch decision was made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rescue.bootstrap import Rescue
from rescue.domain.ids import track_uuid
from rescue.projections.timetravel import board_as_of
from rescue.services.positions import PositionReport, PositionWriter
from tests.builders import OPERATOR, ZZ_LAT, ZZ_LON, crew, report, reported
from tests.builders import served as served_world

P1 = (ZZ_LAT - 0.005, ZZ_LON)
P2 = (ZZ_LAT - 0.009, ZZ_LON + 0.001)


def fix(app: Rescue, writer: PositionWriter, van_id: str, lat: float, lon: float) -> datetime:
    """Stores one GPS report of the van; returns the moment it was recorded in the log."""
    writer.submit(van_id, [PositionReport(lat, lon, datetime.now(UTC) - timedelta(seconds=5))])
    moment: datetime = list(app.store.events.get(track_uuid(van_id)))[-1].timestamp
    return moment


def vans(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["van_id"]: v for v in board["vans"]}


def at(history: dict[str, Any], kind: str) -> datetime:
    return datetime.fromisoformat(next(e["at"] for e in history["events"] if e["type"] == kind))


def test_history_and_board_as_of_moments_around_the_dispatch(store_url: str) -> None:
    with served_world(store_url) as world:
        app = world.app
        writer: PositionWriter = world.client.app.state.positions  # type: ignore[attr-defined]
        # 1. V1 reports a fix near the caller; then the call comes in, is dispatched, V1 moves
        #    on and accepts. Between the commands we note the time.
        first_fix = fix(app, writer, "V1", *P1)
        incident_id = reported(app, report())
        before_dispatch = datetime.now(UTC)
        app.dispatch.dispatch(incident_id, OPERATOR.actor)
        after_dispatch = datetime.now(UTC)
        second_fix = fix(app, writer, "V1", *P2)
        app.steps.take(incident_id, "accept", {"eta_min": 10.0}, crew("V1"))
        after_accept = datetime.now(UTC)
        whole = app.queries.history(incident_id, None, with_caller=False)
        offered_at = at(whole, "Offered")
        assert first_fix < at(whole, "Reported") < before_dispatch < offered_at < after_dispatch
        assert after_dispatch < second_fix < at(whole, "Accepted") < after_accept

        # 2. History as of a moment before the dispatch: no van, no dispatch decision yet.
        before = app.queries.history(incident_id, before_dispatch, with_caller=False)
        assert [e["type"] for e in before["events"]] == ["Reported"]
        assert before["state"]["van_id"] is None
        assert before["state"]["last_dispatch"] is None

        # 3. History as of a moment after it: the van, and the candidates ranked then.
        then = app.queries.history(incident_id, after_dispatch, with_caller=False)
        assert [e["type"] for e in then["events"]] == ["Reported", "Offered"]
        assert then["state"]["status"] == "offered"
        assert then["state"]["van_id"] == "V1"
        candidates = then["state"]["last_dispatch"]["candidates"]
        assert [c["van_id"] for c in candidates] == ["V1", "V2"]
        assert candidates[0]["origin"] == "position"
        assert candidates[0]["distance_km"] < candidates[1]["distance_km"]

        # 4. The board before the dispatch: both vans free, V1 at its first fix, the call open.
        board = board_as_of(app.store, before_dispatch)
        assert {k: v["status"] for k, v in vans(board).items()} == {
            "V1": "available",
            "V2": "available",
        }
        assert (vans(board)["V1"]["lat"], vans(board)["V1"]["lon"]) == P1
        assert vans(board)["V2"]["lat"] is None
        (call_then,) = board["incidents"]
        assert (call_then["status"], call_then["van_id"]) == ("reported", None)

        # 5. After the dispatch: V1 offered the job, still where it was; V2 free.
        board = board_as_of(app.store, after_dispatch)
        assert vans(board)["V1"]["status"] == "offered"
        assert (vans(board)["V1"]["lat"], vans(board)["V1"]["lon"]) == P1
        assert vans(board)["V2"]["status"] == "available"
        assert board["incidents"][0]["van_id"] == "V1"

        # 6. After the acceptance: V1 busy at its second fix.
        board = board_as_of(app.store, after_accept)
        assert vans(board)["V1"]["status"] == "busy"
        assert (vans(board)["V1"]["lat"], vans(board)["V1"]["lon"]) == P2
        assert board["incidents"][0]["status"] == "accepted"

        # 7. Before the network was loaded there was nothing on the board.
        assert board_as_of(app.store, first_fix - timedelta(days=1))["vans"] == []

        # 8. Over HTTP, for operators and auditors; the moment needs an offset.
        answer = world.get("/api/board", "auditor", params={"as_of": after_dispatch.isoformat()})
        assert answer.status_code == 200, answer.text
        assert vans(answer.json())["V1"]["status"] == "offered"
        assert world.get("/api/board", "operator").status_code == 200
        assert world.get("/api/board", "crew1").status_code == 403
        naive = after_dispatch.replace(tzinfo=None).isoformat()
        assert world.get("/api/board", "auditor", params={"as_of": naive}).status_code == 422


def test_the_board_now_matches_the_live_board(store_url: str) -> None:
    with served_world(store_url) as world:
        app = world.app
        # 1. A call offered to V1.
        incident_id = reported(app, report())
        app.dispatch.dispatch(incident_id, OPERATOR.actor)
        # 2. Replayed up to now, the board says what the live board says.
        replayed = board_as_of(app.store, datetime.now(UTC))
        live = app.view.snapshot()
        assert {v["van_id"]: v["status"] for v in replayed["vans"]} == {
            v["van_id"]: v["status"] for v in live["vans"]
        }
        assert [i["incident_id"] for i in replayed["incidents"]] == [incident_id]
