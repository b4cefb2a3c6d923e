"""The ETA model: fitting cells from trips, falling back to wider cells, the fixed rule last."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from rescue.domain.eta import (
    DEFAULT_SOURCE,
    EtaModel,
    EtaTable,
    Trip,
    fit_cells,
    hour_band,
    region_of,
)
from rescue.places.provinces import province_of

NOON_CST = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in China


def trips(
    province: str, count: int, min_per_km: float, *, at: datetime = NOON_CST, seed: int = 1
) -> list[Trip]:
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        km = rng.uniform(2, 40)
        made.append(Trip(province, hour_band(at), km, km * min_per_km * rng.uniform(0.9, 1.1), at))
    return made


def test_hour_bands_are_read_in_china_time() -> None:
    assert hour_band(datetime(2026, 3, 2, 0, 30, tzinfo=UTC)) == "morning_peak"  # 08:30 CST
    assert hour_band(datetime(2026, 3, 2, 17, 0, tzinfo=UTC)) == "night"  # 01:00 CST
    assert hour_band(NOON_CST) == "day"


def test_a_province_with_enough_trips_gets_its_own_pace() -> None:
    # 1. Henan drives at 2 min/km, Hubei (same region) at 1 min/km.
    cells = fit_cells(trips("Henan", 40, 2.0) + trips("Hubei", 40, 1.0, seed=2), 30)
    by_key = {c.key: c for c in cells}
    # 2. Each province's cell recovers its own pace; the region pools both.
    assert by_key["province=Henan|day"].min_per_km == pytest.approx(2.0, rel=0.05)
    assert by_key["province=Hubei|day"].min_per_km == pytest.approx(1.0, rel=0.05)
    assert "region=South Central|day" in by_key
    assert by_key["province=Henan|day"].low_ratio < 1 < by_key["province=Henan|day"].high_ratio


def test_sparse_cells_fall_back_to_the_region_then_the_country_then_the_rule() -> None:
    # 1. Henan has only 10 trips; its region has 40 with Hubei's.
    table = EtaTable(
        fit_cells(trips("Henan", 10, 2.0) + trips("Hubei", 30, 1.0, seed=2), 30), 1.3, 50.0
    )
    assert region_of("Henan") == region_of("Hubei") == "South Central"
    assert table.estimate(10.0, "Henan", "day").source == "region=South Central|day"
    # 2. Another region has no cell of its own: the country answers.
    assert table.estimate(10.0, "Jilin", "day").source == "country=China|day"
    # 3. No cell for that hour band anywhere: the fixed rule, without an error band.
    night = table.estimate(10.0, "Henan", "night")
    assert night.source == DEFAULT_SOURCE
    assert night.eta_min == round(10.0 * 1.3 / 50.0 * 60, 1)
    assert night.low_min is None and night.high_min is None


def test_the_estimate_carries_the_cells_error_band() -> None:
    table = EtaTable(fit_cells(trips("Henan", 50, 2.0), 30), 1.3, 50.0)
    estimate = table.estimate(10.0, "Henan", "day")
    assert estimate.source == "province=Henan|day"
    assert estimate.low_min is not None and estimate.high_min is not None
    assert estimate.low_min < estimate.eta_min < estimate.high_min
    assert estimate.eta_min == pytest.approx(20.0, rel=0.05)


def test_short_and_empty_trips_are_not_fitted() -> None:
    junk = [Trip("Henan", "day", 0.2, 5.0, NOON_CST), Trip("Henan", "day", 5.0, 0.0, NOON_CST)]
    assert fit_cells(junk * 20, 1) == []


def test_each_fit_is_an_event_naming_its_cells() -> None:
    model = EtaModel(actor={"role": "admin", "name": "t"})
    cells = fit_cells(trips("Henan", 40, 2.0), 30)
    model.fit(cells, 40, 30, NOON_CST + timedelta(hours=1), {"role": "admin", "name": "t"})
    pending = [type(e).__qualname__ for e in model.collect_events()]
    assert pending == ["EtaModel.Created", "EtaModel.Fitted"]
    assert model.reference()["version"] == 2
    assert model.reference()["cells"] == len(cells)
    assert model.table(1.3, 50.0).estimate(10.0, "Henan", "day").source == "province=Henan|day"


def test_a_point_is_given_the_province_of_its_nearest_city() -> None:
    assert province_of(34.75, 113.62) == "Henan"  # Zhengzhou
    assert province_of(23.13, 113.26) == "Guangdong"  # Guangzhou
    assert province_of(48.85, 2.35) is None  # outside China
