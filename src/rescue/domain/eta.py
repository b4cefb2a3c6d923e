"""Travel times learned from completed trips, and the record of each fitted model.

Pure code: the caller hands in trips (where, when, how far, how long) and gets
back cells of a table; a dispatch asks the table for the ETA of a distance at
a site's province and hour. A cell needs `min_trips` trips to be trusted; a
site whose cell has fewer falls back to the wider cell (the province's region,
then the whole country, always within the same hour band) and finally to the
fixed rule (geodesic km x circuity / speed).

Each cell holds the pace (minutes per geodesic km, the median of its trips:
a few trips stuck in traffic do not move it) and the spread of its trips
around that pace (the 10th and 90th percentile of actual / predicted), which
gives the error band shown with each recommendation.

Every fit is recorded as `EtaModel.Fitted` on the one `EtaModel` aggregate, so
a dispatch decision can name the model version it used and an auditor can
read the cells it was given.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from rescue.domain.ids import NAMESPACE

__all__ = [
    "DEFAULT_SOURCE",
    "ETA_MODEL_ID",
    "HOUR_BANDS",
    "REGIONS",
    "Estimate",
    "EtaCell",
    "EtaModel",
    "EtaTable",
    "Trip",
    "default_minutes",
    "fit_cells",
    "hour_band",
    "region_of",
]

ETA_MODEL_ID: UUID = uuid5(NAMESPACE, "eta-model")
DEFAULT_SOURCE = "default"

# The network's clock: hours of the day are read in China Standard Time.
CHINA_TIME = timezone(timedelta(hours=8))

# (first hour, hour after the last, name): the rush hours apart from the rest of the day.
HOUR_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 6, "night"),
    (6, 10, "morning_peak"),
    (10, 16, "day"),
    (16, 20, "evening_peak"),
    (20, 24, "evening"),
)

# The country's six traditional regions; a province's cell falls back to its region's.
REGIONS: dict[str, tuple[str, ...]] = {
    "North": ("Beijing", "Tianjin", "Hebei", "Shanxi", "Inner Mongolia"),
    "Northeast": ("Liaoning", "Jilin", "Heilongjiang"),
    "East": ("Shanghai", "Jiangsu", "Zhejiang", "Anhui", "Fujian", "Jiangxi", "Shandong"),
    "South Central": ("Henan", "Hubei", "Hunan", "Guangdong", "Guangxi", "Hainan"),
    "Southwest": ("Chongqing", "Sichuan", "Guizhou", "Yunnan", "Tibet"),
    "Northwest": ("Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang"),
}
_REGION_OF = {province: region for region, members in REGIONS.items() for province in members}

# Trips shorter than this say more about GPS and tapping than about roads.
MIN_TRIP_KM = 1.0


def hour_band(moment: datetime) -> str:
    """The hour band of a moment (an aware datetime), read in China Standard Time."""
    hour = moment.astimezone(CHINA_TIME).hour
    for first, after, name in HOUR_BANDS:
        if first <= hour < after:
            return name
    raise AssertionError(hour)  # the bands cover 0..23


def region_of(province: str | None) -> str | None:
    return _REGION_OF.get(province or "")


def default_minutes(km: float, circuity: float, speed_kmh: float) -> float:
    """The fixed rule every dispatch used before any trips were fitted."""
    return km * circuity / speed_kmh * 60


@dataclass(frozen=True, slots=True)
class Trip:
    """One completed drive: from departure to arrival on scene."""

    province: str | None  # of the site
    band: str  # hour band of the departure
    km: float  # geodesic km from where the van started to the site
    minutes: float  # departure to arrival
    departed_at: datetime


@dataclass(frozen=True, slots=True)
class EtaCell:
    """The pace of one (scope, band) cell and the spread of its trips around it."""

    scope: str  # "province", "region" or "country"
    name: str  # the province's or region's name; "China" for the country
    band: str
    trips: int
    min_per_km: float
    low_ratio: float  # 10th percentile of actual / predicted minutes
    high_ratio: float  # 90th percentile

    @property
    def key(self) -> str:
        return f"{self.scope}={self.name}|{self.band}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "name": self.name,
            "band": self.band,
            "trips": self.trips,
            "min_per_km": self.min_per_km,
            "low_ratio": self.low_ratio,
            "high_ratio": self.high_ratio,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EtaCell:
        return cls(
            scope=str(data["scope"]),
            name=str(data["name"]),
            band=str(data["band"]),
            trips=int(data["trips"]),
            min_per_km=float(data["min_per_km"]),
            low_ratio=float(data["low_ratio"]),
            high_ratio=float(data["high_ratio"]),
        )


@dataclass(frozen=True, slots=True)
class Estimate:
    eta_min: float  # rounded to 0.1
    source: str  # the cell's key, or "default"
    low_min: float | None  # the error band: None for the fixed rule, which has none measured
    high_min: float | None


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    cuts = statistics.quantiles(sorted_values, n=100, method="inclusive")
    return cuts[round(q * 100) - 1]


def _cell(scope: str, name: str, band: str, trips: Sequence[Trip]) -> EtaCell:
    pace = statistics.median(t.minutes / t.km for t in trips)
    ratios = sorted(t.minutes / (t.km * pace) for t in trips)
    return EtaCell(
        scope=scope,
        name=name,
        band=band,
        trips=len(trips),
        min_per_km=round(pace, 4),
        low_ratio=round(_quantile(ratios, 0.10), 3),
        high_ratio=round(_quantile(ratios, 0.90), 3),
    )


def fit_cells(trips: Iterable[Trip], min_trips: int) -> list[EtaCell]:
    """The cells with at least `min_trips` usable trips, province, region and country per band.

    Trips under `MIN_TRIP_KM` or of no positive duration are left out. The
    result is sorted by key, so the same trips always give the same record.
    """
    if min_trips < 1:
        raise ValueError("min_trips must be at least 1")
    groups: dict[tuple[str, str, str], list[Trip]] = defaultdict(list)
    for trip in trips:
        if trip.km < MIN_TRIP_KM or trip.minutes <= 0:
            continue
        groups[("country", "China", trip.band)].append(trip)
        region = region_of(trip.province)
        if region is not None and trip.province is not None:
            groups[("region", region, trip.band)].append(trip)
            groups[("province", trip.province, trip.band)].append(trip)
    cells = [
        _cell(scope, name, band, group)
        for (scope, name, band), group in groups.items()
        if len(group) >= min_trips
    ]
    return sorted(cells, key=lambda c: c.key)


class EtaTable:
    """Looks up the narrowest fitted cell for a site, else the fixed rule."""

    __slots__ = ("_cells", "circuity", "speed_kmh")

    def __init__(self, cells: Iterable[EtaCell], circuity: float, speed_kmh: float) -> None:
        self._cells = {cell.key: cell for cell in cells}
        self.circuity = circuity
        self.speed_kmh = speed_kmh

    def __len__(self) -> int:
        return len(self._cells)

    def cell_for(self, province: str | None, band: str) -> EtaCell | None:
        region = region_of(province)
        for key in (
            f"province={province}|{band}" if region is not None else None,
            f"region={region}|{band}" if region is not None else None,
            f"country=China|{band}",
        ):
            if key is not None and key in self._cells:
                return self._cells[key]
        return None

    def estimate(self, km: float, province: str | None, band: str) -> Estimate:
        cell = self.cell_for(province, band)
        if cell is None:
            minutes = default_minutes(km, self.circuity, self.speed_kmh)
            return Estimate(round(minutes, 1), DEFAULT_SOURCE, None, None)
        minutes = km * cell.min_per_km
        return Estimate(
            round(minutes, 1),
            cell.key,
            round(minutes * cell.low_ratio, 1),
            round(minutes * cell.high_ratio, 1),
        )


class EtaModel(Aggregate):
    """The travel-time model dispatch uses: one aggregate, one `Fitted` event per fit."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return ETA_MODEL_ID

    @event("Created")
    def __init__(self, actor: dict[str, Any]) -> None:
        self.cells: list[dict[str, Any]] = []
        self.trips = 0
        self.min_trips = 0
        self.data_until: str | None = None

    def fit(
        self,
        cells: Sequence[EtaCell],
        trips: int,
        min_trips: int,
        data_until: datetime | None,
        actor: dict[str, Any],
    ) -> None:
        self._fitted(
            cells=[c.as_dict() for c in cells],
            trips=trips,
            min_trips=min_trips,
            data_until=data_until.isoformat() if data_until is not None else None,
            actor=actor,
        )

    @event("Fitted")
    def _fitted(
        self,
        cells: list[dict[str, Any]],
        trips: int,
        min_trips: int,
        data_until: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.cells = cells
        self.trips = trips
        self.min_trips = min_trips
        self.data_until = data_until

    def table(self, circuity: float, speed_kmh: float) -> EtaTable:
        return EtaTable((EtaCell.from_dict(c) for c in self.cells), circuity, speed_kmh)

    def reference(self) -> dict[str, Any]:
        """What a dispatch decision records to name this model."""
        return {
            "version": self.version,
            "fitted_at": self.modified_on.isoformat(),
            "trips": self.trips,
            "cells": len(self.cells),
        }
