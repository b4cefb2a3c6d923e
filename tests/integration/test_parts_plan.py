"""Replenishment from the log: consumption, ABC classes, the (T, S) plan, by HTTP and CLI."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from rescue.bootstrap import Rescue
from rescue.cli.main import app as cli
from rescue.domain.actors import Actor
from tests.builders import OPERATOR, crew, line_network, load, open_app, report, reported, served

STATION_STAFF = Actor(role="admin", name="stores")


def _fit_on_a_job(app: Rescue, n: int, parts: dict[str, int]) -> None:
    """A battery call next to V1, repaired with `parts` taken from V1."""
    incident_id = reported(app, report(n=n))
    app.dispatch.dispatch(incident_id, OPERATOR.actor)
    for step, data in (("accept", {"eta_min": 9.0}), ("depart", {}), ("arrive", {})):
        app.steps.take(incident_id, step, data, crew("V1"))
    fitted = [
        {"part_no": p, "name": p, "system": "other", "qty": q, "original": True, "from_van": True}
        for p, q in parts.items()
    ]
    app.steps.take(
        incident_id, "diagnose", {"cause": "worn", "parts": fitted, "findings": []}, crew("V1")
    )
    app.steps.take(incident_id, "resolve", {"outcome": "repaired_on_site"}, crew("V1"))
    app.steps.take(incident_id, "complete", {"customer_signed": True}, crew("V1"))


def _history(app: Rescue) -> None:
    load(app, *line_network(2))
    for part_no, qty in (("BAT-80", 6), ("FUS-15", 40), ("KEY-CR2", 10)):
        app.parts.adjust("V1", part_no, part_no, qty, "loaded", None, STATION_STAFF)
    app.parts.adjust("V2", "BAT-80", "battery", 2, "loaded", None, STATION_STAFF)
    _fit_on_a_job(app, 1, {"BAT-80": 2, "FUS-15": 5})
    _fit_on_a_job(app, 2, {"FUS-15": 5, "KEY-CR2": 1})


def test_consumption_abc_and_the_plan_come_from_the_stock_events(store_url: str) -> None:
    with open_app(store_url) as app:
        _history(app)
        planner = app.planner
        # 1. What was used, per part, station and van.
        assert planner.consumption() == [
            {"part_no": "BAT-80", "station_id": "S1", "van_id": "V1", "qty": 2},
            {"part_no": "FUS-15", "station_id": "S1", "van_id": "V1", "qty": 10},
            {"part_no": "KEY-CR2", "station_id": "S1", "van_id": "V1", "qty": 1},
        ]
        # 2. ABC by value: two batteries (680 each) far above ten fuses (2) and a key battery (8).
        abc = planner.abc()
        assert [(r["part_no"], r["class"]) for r in abc] == [
            ("BAT-80", "A"),
            ("FUS-15", "C"),
            ("KEY-CR2", "C"),
        ]
        assert abc[0]["consumption_value"] == 1360.0
        assert abs(sum(r["share"] for r in abc) - 1.0) < 1e-3
        # 3. The plan for S1: one day of history, so the daily level is that day's use and S
        #    covers T + lead time (10 days) of it; the order tops the vans' stock up to S.
        plan = {r["part_no"]: r for r in planner.replenishment("S1")}
        battery = plan["BAT-80"]
        assert battery["on_hand"] == 4
        assert battery["forecast"] == 20.0
        assert battery["order_up_to"] == 20 and battery["order_qty"] == 16
        assert battery["holdout"] is None  # a week of history is needed to hold one out
        assert plan["FUS-15"]["on_hand"] == 30 and plan["FUS-15"]["order_qty"] == 70
        # 4. S2 used nothing: its van's batteries are on hand and nothing is ordered.
        assert [
            (r["part_no"], r["on_hand"], r["order_qty"]) for r in planner.replenishment("S2")
        ] == [("BAT-80", 2, 0)]


def test_the_plan_over_http_and_on_the_command_line(store_url: str) -> None:
    with served(store_url) as world:
        _history(world.app)
        abc = world.get("/api/parts/abc", "auditor")
        assert abc.status_code == 200, abc.text
        assert abc.json()[0] == {
            "part_no": "BAT-80",
            "name": "12V battery 80Ah",
            "class": "A",
            "qty": 2,
            "consumption_value": 1360.0,
            "share": abc.json()[0]["share"],
            "unit_cost": 680.0,
        }
        # A period before anything was used has no rows; a bad period is refused.
        assert world.get("/api/parts/abc?to=2020-01-01T00:00:00Z", "operator").json() == []
        assert world.get("/api/parts/abc?from=2020-01-01T00:00:00", "admin").status_code == 422
        assert (
            world.get(
                "/api/parts/abc?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z", "admin"
            ).status_code
            == 422
        )
        plan = world.get("/api/parts/replenishment?station_id=S1", "operator").json()
        expected: dict[str, Any] = {"station_id": "S1", "part_no": "BAT-80", "on_hand": 4}
        assert {k: plan[0][k] for k in expected} == expected
        assert {"forecast", "order_up_to", "order_qty"} <= set(plan[0])
        assert world.get("/api/parts/replenishment", "crew1").status_code == 403
    printed = CliRunner().invoke(cli, ["parts", "plan", "--db", store_url])
    assert printed.exit_code == 0, printed.output
    assert "ABC classes by consumption value" in printed.output
    lines = printed.output.splitlines()
    assert any(line.split()[:2] == ["A", "BAT-80"] for line in lines)
    row = next(line.split() for line in lines if line.startswith("S1") and "BAT-80" in line)
    assert row[:7] == ["S1", "BAT-80", "A", "4", "20.00", "20", "16"]
