"""Parts-aware dispatch: a van carrying the likely parts goes first only within the margin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rescue.domain.dispatch import FleetIndex, rank_by_geodesic
from rescue.domain.likely_parts import LikelyParts, LikelyPartsError, rank_by_parts
from tests.unit.test_dispatch import CAPS, NOW, china_lat, china_lon, fleets

margins = st.floats(0.0, 120.0, allow_nan=False)
# The ETAs are tenths of a minute; the rule compares them to a millionth.
SLACK = 1e-6


@settings(max_examples=150, deadline=None)
@given(
    vans=fleets(),
    lat=china_lat,
    lon=china_lon,
    capability=st.sampled_from(CAPS),
    margin=margins,
    k=st.integers(1, 8),
    data=st.data(),
)
def test_never_a_van_beyond_the_margin_preferred_nor_one_without_the_capability(
    vans: list, lat: float, lon: float, capability: str, margin: float, k: int, data: st.DataObject
) -> None:
    nearest = FleetIndex(vans, NOW).nearest(lat, lon, capability, k=k + 10)
    carries = {c.van_id: data.draw(st.booleans()) for c in nearest}
    ranking = rank_by_parts(nearest, carries, ["P-1"], margin, k)
    ranked = ranking.ranked
    capable = {v.van_id for v in vans if capability in v.capabilities and v.on_duty and v.available}
    # 1. Only vans the nearest-van rule would consider, each once, at most k.
    assert {c.van_id for c, _ in ranked} <= capable
    assert len({c.van_id for c, _ in ranked}) == len(ranked) == min(k, len(nearest))
    # 2. A van ranked ahead of a nearer one carries the parts, the nearer one does not, and
    #    the extra ETA is within the margin.
    for i, (ahead, ahead_carries) in enumerate(ranked):
        for behind, behind_carries in ranked[i + 1 :]:
            if ahead.eta_min > behind.eta_min:
                assert ahead_carries and not behind_carries
                assert ahead.eta_min - behind.eta_min <= margin + SLACK
    # 3. Every van left out is one the ranked vans all beat under the same rule.
    left_out = [c for c in nearest if c.van_id not in {r.van_id for r, _ in ranked}]
    for out in left_out:
        for kept, kept_carries in ranked:
            if kept.eta_min > out.eta_min:
                assert kept_carries and not carries[out.van_id]
                assert kept.eta_min - out.eta_min <= margin + SLACK
    # 4. The reason is given exactly when the first van is not the nearest.
    moved = bool(ranked) and ranked[0][0].van_id != nearest[0].van_id
    assert (ranking.why is not None) == moved


@settings(max_examples=60, deadline=None)
@given(vans=fleets(), lat=china_lat, lon=china_lon, capability=st.sampled_from(CAPS))
def test_with_no_carrying_van_the_order_is_the_nearest_van_order(
    vans: list, lat: float, lon: float, capability: str
) -> None:
    nearest = rank_by_geodesic(vans, lat, lon, capability, NOW, k=12)
    ranking = rank_by_parts(nearest, {}, ["P-1"], 15.0, 5)
    assert ranking.candidates == nearest[:5]
    assert ranking.why is None
    assert (
        rank_by_parts(nearest, {c.van_id: True for c in nearest}, [], 15.0, 5).candidates
        == (nearest[:5])
    )


def test_a_carrying_van_goes_first_up_to_the_margin_and_not_beyond() -> None:
    from rescue.domain.dispatch import Candidate

    near = Candidate("NEAR", "S1", 5.0, 7.8, "home")
    inside = Candidate("IN", "S2", 14.0, 22.8, "home")  # 15.0 min later: on the margin
    outside = Candidate("OUT", "S3", 15.0, 22.9, "home")  # 15.1 min later
    assert rank_by_parts([near, inside], {"IN": True}, ["B"], 15.0, 5).candidates == [inside, near]
    ranking = rank_by_parts([near, outside], {"OUT": True}, ["B"], 15.0, 5)
    assert ranking.candidates == [near, outside]
    assert ranking.why is None
    moved = rank_by_parts([near, inside], {"IN": True}, ["B"], 15.0, 5)
    assert moved.why is not None and "IN carries B" in moved.why and "15 min margin" in moved.why
    assert moved.record() == {
        "likely_parts": ["B"],
        "margin_min": 15.0,
        "carrying_van_ids": ["IN"],
        "why": moved.why,
    }
    assert moved.as_dicts()[0] == {**inside.as_dict(), "carries_parts": True, "likely_parts": ["B"]}


def test_the_table_picks_the_series_then_any_series(tmp_path: Path) -> None:
    shipped = LikelyParts.load()
    assert shipped.for_fault("flat_tire", "PALADIN") != shipped.for_fault("flat_tire", "D22")
    assert shipped.for_fault("flat_tire", "UNKNOWN") == shipped.for_fault("flat_tire", None)
    assert shipped.for_fault("accident", "PALADIN") == ()
    for parts in shipped.categories.values():
        for numbers in parts.values():
            assert all(p in shipped.names for p in numbers)
    own = tmp_path / "table.json"
    own.write_text(json.dumps({"categories": {"battery": {"*": ["X-1"]}}}))
    assert LikelyParts.load(own).for_fault("battery", "PALADIN") == ("X-1",)
    own.write_text(json.dumps({"categories": {"battery": {"*": "X-1"}}}))
    with pytest.raises(LikelyPartsError, match=r"battery\.\*"):
        LikelyParts.load(own)
