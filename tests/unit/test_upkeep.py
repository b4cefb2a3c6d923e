"""The odometer read from a GPS track: real hops count; jitter, stale fixes and jumps do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescue.domain.dispatch import geodesic_km
from rescue.domain.upkeep import Odometer, OdometerRules, due_status

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RULES = OdometerRules()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_hops_add_up_and_jitter_does_not() -> None:
    odometer = Odometer()
    odometer.add(34.75, 113.62, at(0), RULES)
    # Parked: a metre or two of GPS noise, a hundred times, adds nothing.
    for i in range(100):
        odometer.add(34.75 + (i % 2) * 1e-5, 113.62, at(0.1 * (i + 1)), RULES)
    assert odometer.km == 0.0
    # A slow crawl in steps under the jitter limit still adds up once it clears it.
    for i in range(1, 11):
        odometer.add(34.75 + i * 0.0001, 113.62, at(20 + i), RULES)
    assert odometer.km == pytest.approx(geodesic_km(34.75, 113.62, 34.751, 113.62), abs=0.012)


def test_stale_fixes_and_impossible_jumps_are_not_distance() -> None:
    odometer = Odometer()
    odometer.add(34.75, 113.62, at(0), RULES)
    odometer.add(34.85, 113.62, at(10), RULES)  # 11 km in 10 minutes
    leg = geodesic_km(34.75, 113.62, 34.85, 113.62)
    assert odometer.km == pytest.approx(leg)
    odometer.add(34.75, 113.62, at(5), RULES)  # recorded before the last fix used
    odometer.add(39.90, 116.40, at(11), RULES)  # Beijing a minute later
    assert odometer.km == pytest.approx(leg)
    odometer.add(34.75, 113.62, at(20), RULES)  # back, measured from the last good fix
    assert odometer.km == pytest.approx(2 * leg)


def test_due_status() -> None:
    assert due_status(12_500.0, 2_000.0, 10_000.0) == {
        "km_driven": 12_500.0,
        "km_since_service": 10_500.0,
        "interval_km": 10_000.0,
        "due_in_km": -500.0,
        "past_due": True,
    }
    assert due_status(500.0, 0.0, 10_000.0)["past_due"] is False
