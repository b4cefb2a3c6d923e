"""How wrong the ETA is: the fitted model against the fixed rule, on trips it was not fitted on.

Two sources of trips:

- the simulator's driving: sites drawn as the simulator draws calls (around
  the demo network's cities, weighted by population), each driven from the
  nearest station at the simulator's known road speeds (by the province's
  kind of roads and the hour band, times one draw per trip within the crews'
  `speed_spread`) and circuity, slowed in the storm province; these trips
  have a known truth, so the report shows what fitting can recover and what
  is noise it cannot (the per-trip draw);
- the log: its trips in departure order, the first part fitted and the rest
  (`holdout`) estimated. A log written by `rescue simulate` at speed S holds
  drives S times shorter than simulated, since events carry wall-clock time;
  the report says what it read and does not rescale it.

Errors are absolute minutes; each row gives the median and 90th percentile
for the fitted model and for the fixed rule over the same trips, per cell
(the cell that answered) and overall.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rescue.domain.dispatch import geodesic_km
from rescue.domain.eta import (
    EtaTable,
    Trip,
    default_minutes,
    fit_cells,
    hour_band,
)
from rescue.simulator.calls import call_places
from rescue.simulator.geo import NearestPoint, destination
from rescue.simulator.network import build_network
from rescue.simulator.scenarios import CrewBehaviour

__all__ = ["error_report", "simulated_trips", "split_holdout"]

# The goal: where a cell has this many trips, the fitted error is at most half the rule's.
GOAL_TRIPS = 30
GOAL_RATIO = 0.5


def simulated_trips(
    count: int,
    *,
    seed: int = 11,
    storm_province: str | None = "Henan",
    storm_speed_factor: float = 0.6,
    crew: CrewBehaviour | None = None,
) -> list[Trip]:
    """`count` drives as the simulator makes them, over a week of departures."""
    crew = crew or CrewBehaviour()
    rng = random.Random(seed)
    network = build_network(seed=7)
    stations = [(s.lat, s.lon) for s in network.stations]
    places = call_places(stations, 30.0)
    weights = [p.weight for p in places]
    nearest = NearestPoint(stations)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    trips: list[Trip] = []
    for place in rng.choices(places, weights=weights, k=count):
        lat, lon = destination(
            place.lat, place.lon, 15.0 * math.sqrt(rng.random()), rng.uniform(0.0, 360.0)
        )
        i, _ = nearest.nearest(lat, lon)
        km = geodesic_km(stations[i][0], stations[i][1], lat, lon)
        departed = start + timedelta(seconds=rng.uniform(0, 7 * 86_400))
        band = hour_band(departed)
        speed = crew.trip_speed_kmh(place.province, band, rng)
        if place.province == storm_province:
            speed *= storm_speed_factor
        trips.append(
            Trip(
                province=place.province,
                band=band,
                km=km,
                minutes=km * crew.circuity / speed * 60,
                departed_at=departed,
            )
        )
    return trips


def split_holdout(trips: Sequence[Trip], holdout: float) -> tuple[list[Trip], list[Trip]]:
    """(fit on, test on): the earliest trips, then the last `holdout` share by departure."""
    if not 0 < holdout < 1:
        raise ValueError("holdout must be between 0 and 1")
    ordered = sorted(trips, key=lambda t: t.departed_at)
    cut = len(ordered) - math.ceil(len(ordered) * holdout)
    return ordered[:cut], ordered[cut:]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[round(q * 100) - 1], 2)


def _row(cell: str, trained: int, fitted: list[float], default: list[float]) -> dict[str, Any]:
    fitted_median, default_median = _pct(fitted, 0.5), _pct(default, 0.5)
    ratio = (
        round(fitted_median / default_median, 3)
        if fitted_median is not None and default_median
        else None
    )
    return {
        "cell": cell,
        "trips_fitted": trained,
        "trips_tested": len(fitted),
        "fitted_median_abs_min": fitted_median,
        "fitted_p90_abs_min": _pct(fitted, 0.9),
        "default_median_abs_min": default_median,
        "default_p90_abs_min": _pct(default, 0.9),
        "ratio": ratio,
        "goal_met": (ratio <= GOAL_RATIO) if ratio is not None and trained >= GOAL_TRIPS else None,
    }


def error_report(
    train: Sequence[Trip],
    test: Sequence[Trip],
    *,
    min_trips: int,
    circuity: float,
    speed_kmh: float,
) -> dict[str, Any]:
    """Fits `train`, estimates `test`; absolute errors of both models, overall and per cell."""
    cells = fit_cells(train, min_trips)
    table = EtaTable(cells, circuity, speed_kmh)
    trained = {c.key: c.trips for c in cells}
    errors: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for trip in test:
        if trip.minutes <= 0:
            continue
        estimate = table.estimate(trip.km, trip.province, trip.band)
        fitted = abs(trip.km * _pace(table, trip) - trip.minutes)
        default = abs(default_minutes(trip.km, circuity, speed_kmh) - trip.minutes)
        for key in (estimate.source, "all"):
            errors[key][0].append(fitted)
            errors[key][1].append(default)
    rows = [
        _row(key, trained.get(key, 0), fitted, default)
        for key, (fitted, default) in sorted(errors.items())
        if key != "all"
    ]
    overall = _row("all", len(train), *errors["all"]) if "all" in errors else None
    return {
        "min_trips": min_trips,
        "trips_fitted": len(train),
        "trips_tested": len(test),
        "cells_fitted": len(cells),
        "overall": overall,
        "cells": rows,
    }


def _pace(table: EtaTable, trip: Trip) -> float:
    # Unrounded minutes per km, so short trips are not judged on the 0.1 min rounding.
    cell = table.cell_for(trip.province, trip.band)
    if cell is None:
        return table.circuity / table.speed_kmh * 60
    return cell.min_per_km
