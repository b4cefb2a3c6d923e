"""The read-model routes answer from any server process, at one log position."""

from __future__ import annotations

from typing import Any

from rescue.projections.runner import ProjectionRunner
from tests.builders import FakeClock, served
from tests.integration.test_scorecards import a_day_of_calls, caught_up

VIEWS = ("board", "vans", "stations", "kpis")


def test_a_process_that_does_not_run_the_read_models_answers_the_views_as_stored(
    store_url: str,
) -> None:
    clock = FakeClock()
    with served(store_url, clock=clock) as world:
        a_day_of_calls(world, clock)
        head = caught_up(world).position
        in_memory: dict[str, Any] = {}
        for view in VIEWS:
            answer = world.get(f"/api/views/{view}", "operator")
            assert answer.status_code == 200, answer.text
            in_memory[view] = answer.json()
            assert in_memory[view]["log_position"] == head
        assert in_memory["kpis"]["kpis"], "the day's completed calls make KPI rows"
        # The world has two stations, each with its load.
        assert {s["station_id"] for s in in_memory["stations"]["stations"]} == {"S1", "S2"}
        # This process loses the election: its runner holds no models any more.
        runner: ProjectionRunner = world.client.app.state.projections  # type: ignore[attr-defined]
        with runner.lock:
            runner._leader = lambda: False  # type: ignore[method-assign]
            runner.models = None
        for view in VIEWS:
            stored = world.get(f"/api/views/{view}", "operator")
            assert stored.status_code == 200, stored.text
            answer = stored.json()
            if view == "vans":  # `stale` is worked out per request from the wall clock
                for doc in (*answer["vans"], *in_memory["vans"]["vans"]):
                    doc.pop("stale")
            assert answer == in_memory[view], view
