"""Builders for the after-sales record tests: completed incidents with what the crew found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rescue.bootstrap import Rescue
from tests.builders import OPERATOR, crew, report, reported

ENGINE_PART = {
    "part_no": "E-1001",
    "name": "fuel pump",
    "system": "engine",
    "qty": 1,
    "original": True,
}
OTHER_PART = {"part_no": "O-2002", "name": "relay", "system": "other", "qty": 2, "original": True}


def call(
    series: str = "D22", odometer_km: int = 12_000, sold_days_ago: int = 200
) -> dict[str, Any]:
    """A call about a vehicle of `series`, sold `sold_days_ago` days ago, at `odometer_km`."""
    body = report(category="engine_failure")
    sold_on = (datetime.now(UTC) - timedelta(days=sold_days_ago)).date().isoformat()
    body["vehicle"].update(model_series=series, odometer_km=odometer_km, sold_on=sold_on)
    body["caller"] = {"name": "张三丰", "phone": "13912345678"}
    return body


def worked(
    app: Rescue,
    body: dict[str, Any],
    *,
    van_id: str = "V1",
    cause: str = "fuel pump seized",
    parts: list[dict[str, Any]] | None = None,
    findings: list[str] | None = None,
    signed: bool = True,
    complete: bool = True,
) -> str:
    """Reports the call, sends the nearest van and works the job to completion; the incident id."""
    incident_id = reported(app, body)
    app.dispatch.dispatch(incident_id, OPERATOR.actor)
    hands = crew(van_id)
    app.steps.take(incident_id, "accept", {"eta_min": 15.0}, hands)
    app.steps.take(incident_id, "depart", {}, hands)
    app.steps.take(incident_id, "arrive", {}, hands)
    app.steps.take(
        incident_id,
        "diagnose",
        {
            "cause": cause,
            "parts": [ENGINE_PART, OTHER_PART] if parts is None else parts,
            "findings": findings or [],
        },
        hands,
    )
    app.steps.take(
        incident_id, "resolve", {"outcome": "repaired_on_site", "tow_station_id": None}, hands
    )
    if complete:
        app.steps.take(
            incident_id, "complete", {"customer_signed": signed, "satisfaction": 4}, hands
        )
    return incident_id


def history_events(app: Rescue, incident_id: str) -> dict[str, dict[str, Any]]:
    """The incident's events by type (the latest of each type)."""
    events = app.queries.history(incident_id, None, with_caller=False)["events"]
    return {e["type"]: e for e in events}
