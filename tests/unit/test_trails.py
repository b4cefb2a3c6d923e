"""Trails: thinning keeps the ends, the order and the budget; stops are found on every fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rescue.places.trails import Fix, metres, stops, thinned, trail_geojson

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def track(gaps_s: list[float], moves_m: list[float]) -> list[Fix]:
    """Fixes going north by `moves_m` metres after `gaps_s` seconds each."""
    fixes = [Fix(T0, 34.0, 113.0)]
    for gap, move in zip(gaps_s, moves_m, strict=False):
        last = fixes[-1]
        fixes.append(Fix(last.at + timedelta(seconds=gap), last.lat + move / 111_195, 113.0))
    return fixes


gaps = st.lists(st.floats(0.5, 600), min_size=1, max_size=300)


@given(gaps, st.integers(2, 50))
def test_thinning_keeps_the_ends_the_order_and_the_budget(gaps_s: list[float], budget: int) -> None:
    fixes = track(gaps_s, [10.0] * len(gaps_s))
    kept = thinned(fixes, budget)
    assert len(kept) <= budget
    assert kept[0] == fixes[0] and kept[-1] == fixes[-1]
    assert [f.at for f in kept] == sorted(f.at for f in kept)
    assert set(kept) <= set(fixes)
    if len(fixes) <= budget:
        assert kept == fixes


def test_a_steady_track_is_thinned_evenly() -> None:
    fixes = track([1.0] * 9999, [5.0] * 9999)  # 10,000 fixes a second apart
    kept = thinned(fixes, 101)
    steps = {(b.at - a.at).total_seconds() for a, b in pairwise(kept)}
    assert len(kept) == 101
    assert steps <= {99.0, 100.0}


def test_a_stop_is_a_stay_within_the_radius_for_long_enough() -> None:
    # 1. Driving, then ten minutes wandering a few metres, then driving on.
    moving = track([10.0] * 10, [200.0] * 10)
    parked_from = moving[-1].at + timedelta(seconds=10)
    parked = [
        Fix(parked_from + timedelta(seconds=30 * i), moving[-1].lat + (i % 3) * 1e-4, 113.0)
        for i in range(21)
    ]
    after = [
        Fix(parked[-1].at + timedelta(seconds=10 * k), parked[-1].lat + k * 0.01, 113.0)
        for k in range(1, 5)
    ]
    fixes = moving + parked + after
    (stop,) = stops(fixes, min_stop_s=300)
    assert stop.start == fixes[10].at if False else stop.end == parked[-1].at
    assert stop.seconds >= 600 and stop.fixes >= 21
    assert metres(stop.lat, stop.lon, parked[0].lat, 113.0) < 60
    # 2. Asking for stays of a quarter of an hour finds none.
    assert stops(fixes, min_stop_s=900) == []


@given(gaps)
def test_a_van_always_moving_has_no_stops(gaps_s: list[float]) -> None:
    assert stops(track(gaps_s, [100.0] * len(gaps_s)), min_stop_s=60) == []


def test_the_geojson_has_a_line_points_and_stops() -> None:
    fixes = track([60.0] * 20, [0.0] * 10 + [500.0] * 10)
    body = trail_geojson(
        list(reversed(fixes)), max_points=10, min_stop_s=300, properties={"van_id": "V1"}
    )
    assert body["van_id"] == "V1" and body["fixes"] == 21 and body["shown"] == 10
    line, *rest = body["features"]
    assert line["geometry"]["type"] == "LineString" and len(line["geometry"]["coordinates"]) == 10
    assert [f["properties"]["kind"] for f in rest] == ["fix"] * 10 + ["stop"]
    assert rest[-1]["properties"]["duration_s"] == 600
    with pytest.raises(ValueError, match="at least 2"):
        thinned(fixes, 1)
