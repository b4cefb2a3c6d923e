"""A van's parts on the record: loaded, fitted on a job, returned, written off, never below zero."""

from __future__ import annotations

from typing import Any

import pytest

from rescue.bootstrap import Rescue
from rescue.domain.actors import Actor
from rescue.domain.errors import Conflict
from rescue.domain.parts import VanStock
from tests.builders import (
    OPERATOR,
    crew,
    ids_with,
    line_network,
    load,
    open_app,
    report,
    reported,
    served,
)

STATION_STAFF = Actor(role="admin", name="stores")
BATTERY = {"part_no": "BAT-60AH", "name": "battery 60 Ah"}


def _on_scene(app: Rescue) -> str:
    incident_id = reported(app, report())
    app.dispatch.dispatch(incident_id, OPERATOR.actor)
    for step, data in (("accept", {"eta_min": 9.0}), ("depart", {}), ("arrive", {})):
        app.steps.take(incident_id, step, data, crew("V1"))
    return incident_id


def _part(qty: int, *, from_van: bool = True, part_no: str = "BAT-60AH") -> dict[str, Any]:
    return {
        "part_no": part_no,
        "name": "battery 60 Ah",
        "system": "other",
        "qty": qty,
        "original": True,
        "from_van": from_van,
    }


def _diagnose(app: Rescue, incident_id: str, parts: list[dict[str, Any]]) -> None:
    app.steps.take(
        incident_id, "diagnose", {"cause": "dead cell", "parts": parts, "findings": []}, crew("V1")
    )


def test_a_part_fitted_from_the_van_leaves_its_stock_once(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(1))
        app.parts.adjust(
            "V1", BATTERY["part_no"], BATTERY["name"], 3, "loaded", None, STATION_STAFF
        )
        incident_id = _on_scene(app)
        # 1. Two fitted from the van, one brought by the customer: two come off.
        _diagnose(app, incident_id, [_part(2), _part(1, from_van=False, part_no="FUSE-10A")])
        assert app.parts.stock("V1") == [{**BATTERY, "qty": 1}]
        # 2. A corrected diagnosis counts the difference, not the whole again.
        _diagnose(app, incident_id, [_part(1)])
        assert app.parts.stock("V1") == [{**BATTERY, "qty": 2}]
        # 3. Every change is an event of the van's stock.
        stock: VanStock = app.store.repository.get(ids_with(app, VanStock.Opened)[0])
        kinds = [type(e).__name__ for e in app.store.repository.event_store.get(stock.id)]
        assert kinds == ["Opened", "Restocked", "Consumed", "PutBack"]


def test_fitting_more_than_the_van_holds_is_refused_and_records_nothing(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(1))
        app.parts.adjust(
            "V1", BATTERY["part_no"], BATTERY["name"], 1, "loaded", None, STATION_STAFF
        )
        incident_id = _on_scene(app)
        version = app.queries.incident(incident_id).version
        with pytest.raises(Conflict, match=r"2 x BAT-60AH \(on the van: 1\)") as refused:
            _diagnose(app, incident_id, [_part(2)])
        assert refused.value.state["stock"] == [{**BATTERY, "qty": 1}]
        assert app.queries.incident(incident_id).version == version
        assert app.queries.incident(incident_id).diagnosis is None
        assert app.parts.stock("V1") == [{**BATTERY, "qty": 1}]


def test_returns_and_write_offs_never_take_the_stock_below_zero(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(1))
        with pytest.raises(Conflict, match="carries no parts"):
            app.parts.adjust("V1", "BAT-60AH", None, -1, "scrap", None, STATION_STAFF)
        with pytest.raises(Conflict, match="give its name"):
            app.parts.adjust("V1", "BAT-60AH", None, 2, "loaded", None, STATION_STAFF)
        app.parts.adjust("V1", "BAT-60AH", "battery 60 Ah", 4, "loaded", None, STATION_STAFF)
        app.parts.adjust("V1", "BAT-60AH", None, 1, "topped up", None, STATION_STAFF)
        app.parts.adjust("V1", "BAT-60AH", None, -2, "back to stores", "returned", STATION_STAFF)
        app.parts.adjust("V1", "BAT-60AH", None, -1, "cracked case", None, STATION_STAFF)
        with pytest.raises(Conflict, match=r"3 x BAT-60AH \(on the van: 2\)"):
            app.parts.adjust("V1", "BAT-60AH", None, -3, "scrap", "written_off", STATION_STAFF)
        assert app.parts.stock("V1") == [{**BATTERY, "qty": 2}]


def test_stock_over_http_for_the_roles_that_may_see_and_change_it(store_url: str) -> None:
    with served(store_url) as world:
        # 1. The admin loads the van; its crew sees it, the other van's crew may not.
        loaded = world.post(
            "/api/vans/V1/stock", "admin", json={**BATTERY, "delta": 2, "reason": "loaded"}
        )
        assert loaded.status_code == 200, loaded.text
        assert world.get("/api/vans/V1/stock", "crew1").json() == [{**BATTERY, "qty": 2}]
        assert world.get("/api/vans/V1/stock", "crew2").status_code == 403
        assert world.get("/api/vans/V2/stock", "operator").json() == []
        assert world.get("/api/vans/V9/stock", "operator").status_code == 404
        # 2. A diagnosis fitting more than is on the van: 409 naming what is there.
        incident_id = _on_scene(world.app)
        refused = world.post(
            f"/api/incidents/{incident_id}/diagnose",
            "crew1",
            json={"cause": "dead cell", "parts": [_part(3)]},
        )
        assert refused.status_code == 409
        assert "on the van: 2" in refused.json()["detail"]
        fitted = world.post(
            f"/api/incidents/{incident_id}/diagnose",
            "crew1",
            json={"cause": "dead cell", "parts": [_part(2)]},
        )
        assert fitted.status_code == 200, fitted.text
        assert world.get("/api/vans/V1/stock", "crew1").json() == []
        # 3. Nonsense is refused with 422, never stored.
        for body in (
            {**BATTERY, "delta": 0, "reason": "x"},
            {**BATTERY, "delta": 2, "reason": "x", "kind": "returned"},
            {"part_no": "", "delta": 1, "reason": "x"},
        ):
            assert world.post("/api/vans/V1/stock", "admin", json=body).status_code == 422, body
