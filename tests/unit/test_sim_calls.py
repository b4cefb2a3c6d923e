"""Planned calls: seeded, valid for the API, at the scenario's rates, places and fault mixes."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest

from rescue.api.schemas import ReportIncident
from rescue.domain.validation import CHINA_TZ
from rescue.simulator.calls import Place, call_places, plan_calls
from rescue.simulator.network import build_network
from rescue.simulator.scenarios import (
    HOURLY_PROFILE,
    ordinary_day,
    snowstorm,
)

NETWORK = build_network()
PLACES = call_places([(s.lat, s.lon) for s in NETWORK.stations], 30.0)
START = datetime(2025, 1, 15, 0, 0, tzinfo=CHINA_TZ)
TODAY = date(2025, 1, 16)


def test_the_same_seed_plans_the_same_calls_and_another_seed_others() -> None:
    scenario = ordinary_day(start=START, hours=6, calls_per_hour=30)
    first = plan_calls(scenario, PLACES, seed=4, today=TODAY)
    again = plan_calls(scenario, PLACES, seed=4, today=TODAY)
    other = plan_calls(scenario, PLACES, seed=5, today=TODAY)
    assert first == again
    assert [c.report for c in first] != [c.report for c in other]


def test_every_planned_call_is_a_valid_report_for_the_api() -> None:
    calls = plan_calls(
        snowstorm("Henan", start=START, hours=24, calls_per_hour=20), PLACES, 8, today=TODAY
    )
    assert len(calls) > 100
    for call in calls:
        ReportIncident.model_validate(call.report)  # raises on anything the API would refuse
        assert date.fromisoformat(call.report["vehicle"]["sold_on"]) <= TODAY
    # Arrival times are increasing and inside the scenario.
    times = [c.at_s for c in calls]
    assert times == sorted(times)
    assert times[0] >= 0 and times[-1] < 24 * 3600


def test_calls_arrive_at_the_scenario_rate_shaped_by_the_hour_of_day() -> None:
    # 1. Ten days at 100 calls an hour: about 24,000 calls.
    scenario = ordinary_day(start=START, hours=240, calls_per_hour=100)
    calls = plan_calls(scenario, PLACES, seed=1, today=TODAY)
    assert abs(len(calls) - 24_000) < 24_000 * 0.03

    # 2. Per hour of the day, in proportion to the profile (within 10 %).
    per_hour = Counter(int(c.at_s // 3600) % 24 for c in calls)  # the scenario starts at midnight
    for hour in (3, 8, 17):
        expected = 100 * 10 * HOURLY_PROFILE[hour]
        assert abs(per_hour[hour] - expected) < expected * 0.1, (hour, per_hour[hour], expected)
    assert per_hour[17] > 5 * per_hour[3]


def test_a_snowstorm_brings_ten_times_the_calls_to_its_province_only() -> None:
    ordinary = plan_calls(
        ordinary_day(start=START, hours=72, calls_per_hour=100), PLACES, 2, today=TODAY
    )
    storm = plan_calls(
        snowstorm("Henan", start=START, hours=72, calls_per_hour=100), PLACES, 2, today=TODAY
    )
    henan_ordinary = sum(c.province == "Henan" for c in ordinary)
    henan_storm = sum(c.province == "Henan" for c in storm)
    elsewhere_ordinary = len(ordinary) - henan_ordinary
    elsewhere_storm = len(storm) - henan_storm
    assert henan_ordinary > 50
    assert 8.5 < henan_storm / henan_ordinary < 11.5
    assert 0.9 < elsewhere_storm / elsewhere_ordinary < 1.1
    # Snow changes what goes wrong: more accidents and flat batteries in Henan.
    storm_faults = Counter(c.category for c in storm if c.province == "Henan")
    usual_faults = Counter(c.category for c in ordinary)
    assert storm_faults["accident"] / henan_storm > 2 * usual_faults["accident"] / len(ordinary)
    assert all(c.in_storm == (c.province == "Henan") for c in storm)


def test_calls_happen_within_reach_of_the_network() -> None:
    from rescue.simulator.geo import NearestPoint

    stations = NearestPoint([(s.lat, s.lon) for s in NETWORK.stations])
    calls = plan_calls(ordinary_day(start=START, hours=24), PLACES, 3, today=TODAY)
    # The place is within 30 km of a station, the caller within 15 km of the place.
    assert max(stations.nearest(c.report["location"]["lat"], c.report["location"]["lon"])[1]
               for c in calls) < 30 + 15 + 1  # fmt: skip


def test_a_storm_over_a_province_out_of_reach_is_refused() -> None:
    henan_only = [p for p in PLACES if p.province == "Henan"]
    with pytest.raises(ValueError, match="Tibet"):
        plan_calls(snowstorm("Tibet", start=START, hours=1), henan_only, 1)
    with pytest.raises(ValueError):
        plan_calls(ordinary_day(start=START, hours=None), henan_only, 1)
    assert isinstance(henan_only[0], Place)
