"""The simulator's known road speeds: by place and hour, with a modest draw per trip."""

from __future__ import annotations

import random

import pytest

from rescue.bench.eta_errors import error_report, simulated_trips, split_holdout
from rescue.domain.eta import fit_cells
from rescue.simulator.scenarios import CrewBehaviour


def test_a_road_speed_depends_on_the_place_and_the_hour() -> None:
    crew = CrewBehaviour()
    # 1. City streets at the rush hour crawl; open roads at night run fast.
    rush_in_shanghai = crew.known_speed_kmh("Shanghai", "evening_peak")
    day_in_henan = crew.known_speed_kmh("Henan", "day")
    night_in_xinjiang = crew.known_speed_kmh("Xinjiang", "night")
    assert rush_in_shanghai < day_in_henan < night_in_xinjiang
    # 2. The same place is slower at its rush hour than at night.
    assert crew.known_speed_kmh("Henan", "morning_peak") < crew.known_speed_kmh("Henan", "night")


def test_each_trip_draws_its_speed_within_the_spread_around_the_known_one() -> None:
    crew = CrewBehaviour(speed_spread=0.15)
    known = crew.known_speed_kmh("Henan", "day")
    rng = random.Random(3)
    draws = [crew.trip_speed_kmh("Henan", "day", rng) for _ in range(2000)]
    assert all(0.85 * known <= d <= 1.15 * known for d in draws)
    assert min(draws) < 0.9 * known and max(draws) > 1.1 * known  # it does vary
    assert sum(draws) / len(draws) == pytest.approx(known, rel=0.02)
    steady = CrewBehaviour(speed_spread=0.0)
    assert steady.trip_speed_kmh("Henan", "day", rng) == known


def test_a_road_speed_table_needs_every_hour_band() -> None:
    with pytest.raises(ValueError, match="road speeds"):
        CrewBehaviour(road_speeds_kmh={"mixed": {"day": 50.0}})
    with pytest.raises(ValueError, match="speed_spread"):
        CrewBehaviour(speed_spread=1.0)


def test_fitting_simulated_trips_learns_the_place_and_hour() -> None:
    trips = simulated_trips(6000, seed=5)
    cells = {c.key: c for c in fit_cells(trips, 30)}
    # 1. A fitted cell's pace (minutes per geodesic km) is the known speed's, within the draw.
    crew = CrewBehaviour()
    for province, band in (("Shanghai", "evening_peak"), ("Guangdong", "night")):
        known_pace = crew.circuity / crew.known_speed_kmh(province, band) * 60
        cell = cells[f"province={province}|{band}"]
        assert cell.min_per_km == pytest.approx(known_pace, rel=0.1)
    # 2. On trips it was not fitted on, the fitted model beats the fixed 50 km/h rule.
    train, test = split_holdout(trips, 0.3)
    report = error_report(train, test, min_trips=30, circuity=1.3, speed_kmh=50.0)
    overall = report["overall"]
    assert overall["fitted_median_abs_min"] < 0.5 * overall["default_median_abs_min"]
