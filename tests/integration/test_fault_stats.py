"""Fault statistics from the log: per model series, category and fitted part, per month, with the
share of settled repairs that went to the maker under warranty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rescue.bootstrap import Rescue
from rescue.domain.validation import CHINA_TZ
from tests.builders import OPERATOR, crew, line_network, load, open_app, report, reported, served


def _repaired(app: Rescue, body: dict[str, Any], part_no: str | None) -> str:
    """A call repaired on site by V1, fitting `part_no` (original) if given."""
    incident_id = reported(app, body)
    app.dispatch.dispatch(incident_id, OPERATOR.actor)
    for step, data in (("accept", {"eta_min": 9.0}), ("depart", {}), ("arrive", {})):
        app.steps.take(incident_id, step, data, crew("V1"))
    parts = (
        [{"part_no": part_no, "name": part_no, "system": "other", "qty": 1, "original": True}]
        if part_no
        else []
    )
    app.steps.take(
        incident_id, "diagnose", {"cause": "failed", "parts": parts, "findings": []}, crew("V1")
    )
    app.steps.take(incident_id, "resolve", {"outcome": "repaired_on_site"}, crew("V1"))
    app.steps.take(incident_id, "complete", {"customer_signed": True}, crew("V1"))
    return incident_id


def _vehicle(body: dict[str, Any], series: str, days_old: int, km: int) -> dict[str, Any]:
    sold = (datetime.now(CHINA_TZ) - timedelta(days=days_old)).date().isoformat()
    body["vehicle"].update(model_series=series, sold_on=sold, odometer_km=km)
    return body


def test_faults_by_series_category_and_part_with_the_warranty_share(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(1))
        # A new PALADIN (in its 24 month, 60,000 km whole-vehicle warranty) and an old one,
        # both with a battery fitted; a D22 with a flat tyre still open.
        _repaired(app, _vehicle(report(n=1), "PALADIN", 100, 10_000), "BAT-80")
        _repaired(app, _vehicle(report(n=2), "PALADIN", 1000, 90_000), "BAT-80")
        reported(app, _vehicle(report(n=3, category="flat_tire"), "D22", 400, 20_000))
        month = datetime.now(CHINA_TZ).strftime("%Y-%m")
        by_series = app.fault_stats.by("model_series")
        assert by_series["rows"] == [
            {
                "model_series": "D22",
                "month": month,
                "faults": 1,
                "settled": 0,
                "warranty": 0,
                "warranty_share": None,
                "mean_months_in_service": 13.1,
                "mean_km": 20_000,
            },
            {
                "model_series": "PALADIN",
                "month": month,
                "faults": 2,
                "settled": 2,
                "warranty": 1,
                "warranty_share": 0.5,
                "mean_months_in_service": 18.1,
                "mean_km": 50_000,
            },
        ]
        assert [t["model_series"] for t in by_series["totals"]] == ["PALADIN", "D22"]
        by_part = app.fault_stats.by("part_no")
        assert [(r["part_no"], r["faults"], r["warranty"]) for r in by_part["rows"]] == [
            ("BAT-80", 2, 1)
        ]
        by_category = app.fault_stats.by("category")
        assert [(r["category"], r["faults"]) for r in by_category["totals"]] == [
            ("battery", 2),
            ("flat_tire", 1),
        ]
        # A period that ended before these calls has none of them.
        assert (
            app.fault_stats.by("category", end=datetime.now(UTC) - timedelta(days=1))["rows"] == []
        )


def test_fault_statistics_over_http(store_url: str) -> None:
    with served(store_url) as world:
        _repaired(world.app, _vehicle(report(n=1), "PALADIN", 100, 10_000), "BAT-80")
        answer = world.get("/api/stats/faults?by=part_no", "auditor")
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"][0]["part_no"] == "BAT-80"
        assert world.get("/api/stats/faults?by=colour", "auditor").status_code == 422
        assert world.get("/api/stats/faults?from=2026-01-01T00:00", "admin").status_code == 422
        assert world.get("/api/stats/faults", "crew1").status_code == 403
