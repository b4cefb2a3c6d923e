"""Scenarios: how many calls, where, of what kind, and how crews behave.

A scenario is plain data, so a test or the CLI can take one of the named
scenarios and change a field (`dataclasses.replace`). Rates are for the
whole network being simulated at a time-of-day factor of 1.0; the hourly
profile averages 1.0 over a day, so `calls_per_hour * 24` calls arrive on an
ordinary day.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from rescue.domain.eta import HOUR_BANDS
from rescue.domain.validation import CHINA_TZ
from rescue.domain.vocabulary import FaultCategory

__all__ = [
    "HOURLY_PROFILE",
    "ORDINARY_FAULT_MIX",
    "ROAD_CLASS",
    "ROAD_SPEEDS_KMH",
    "SCENARIOS",
    "SCENE_MINUTES",
    "SNOW_FAULT_MIX",
    "CrewBehaviour",
    "Scenario",
    "named_scenario",
    "ordinary_day",
    "snowstorm",
    "station_out",
]

F = FaultCategory


def _normalised(values: tuple[float, ...]) -> tuple[float, ...]:
    mean = sum(values) / len(values)
    return tuple(v / mean for v in values)


# Calls by local hour (China time): quiet at night, a morning and a larger
# evening rush when most vehicles are on the road. Scaled to average 1.0.
HOURLY_PROFILE: tuple[float, ...] = _normalised(
    (
        0.30, 0.22, 0.18, 0.16, 0.18, 0.30, 0.60, 1.20, 1.60, 1.40, 1.20, 1.15,
        1.10, 1.10, 1.15, 1.20, 1.40, 1.70, 1.60, 1.20, 0.90, 0.70, 0.55, 0.40,
    )
)  # fmt: skip

# Share of calls by fault on an ordinary day: batteries and tyres lead, as in
# any roadside-assistance statistics; about a quarter needs a tow truck.
ORDINARY_FAULT_MIX: Mapping[str, float] = {
    F.BATTERY: 0.24,
    F.FLAT_TIRE: 0.20,
    F.OUT_OF_FUEL: 0.06,
    F.LOCKOUT: 0.06,
    F.ENGINE_FAILURE: 0.10,
    F.OVERHEATING: 0.08,
    F.TRANSMISSION: 0.04,
    F.ELECTRICAL: 0.08,
    F.ACCIDENT: 0.09,
    F.OTHER: 0.05,
}

# In snow: flat batteries in the cold and cars in the ditch; nobody overheats.
SNOW_FAULT_MIX: Mapping[str, float] = {
    F.BATTERY: 0.30,
    F.FLAT_TIRE: 0.07,
    F.OUT_OF_FUEL: 0.05,
    F.LOCKOUT: 0.05,
    F.ENGINE_FAILURE: 0.08,
    F.OVERHEATING: 0.01,
    F.TRANSMISSION: 0.06,
    F.ELECTRICAL: 0.09,
    F.ACCIDENT: 0.23,
    F.OTHER: 0.06,
}

# Time on scene (simulated minutes, uniform between the two) before the crew
# reports the outcome: diagnosis and repair, or hooking the vehicle up.
SCENE_MINUTES: Mapping[str, tuple[float, float]] = {
    F.BATTERY: (10, 25),
    F.FLAT_TIRE: (15, 30),
    F.OUT_OF_FUEL: (5, 15),
    F.LOCKOUT: (10, 25),
    F.ENGINE_FAILURE: (20, 40),
    F.OVERHEATING: (20, 45),
    F.TRANSMISSION: (15, 30),
    F.ELECTRICAL: (25, 50),
    F.ACCIDENT: (30, 60),
    F.OTHER: (20, 45),
}


# The known road speeds: a van's average speed over a whole trip (km/h of road
# driven, circuity apart) by the kind of roads around the site and the hour
# band of departure (China time, the bands the ETA model fits). The four
# municipalities are city streets, crawling at the rush hours; the wide
# western provinces are open roads; the rest a mix of town and highway.
ROAD_SPEEDS_KMH: Mapping[str, Mapping[str, float]] = {
    "city": {"night": 45, "morning_peak": 22, "day": 30, "evening_peak": 20, "evening": 35},
    "mixed": {"night": 62, "morning_peak": 38, "day": 48, "evening_peak": 35, "evening": 52},
    "open": {"night": 72, "morning_peak": 58, "day": 64, "evening_peak": 55, "evening": 66},
}
ROAD_CLASS: Mapping[str, str] = {
    **dict.fromkeys(("Beijing", "Shanghai", "Tianjin", "Chongqing"), "city"),
    **dict.fromkeys(("Tibet", "Qinghai", "Xinjiang", "Inner Mongolia", "Gansu", "Ningxia"), "open"),
}  # every other province: "mixed"


@dataclass(frozen=True)
class CrewBehaviour:
    """How crews answer offers and drive. Times are simulated seconds.

    An offer is accepted with `p_accept`, declined with `p_decline`, and left
    unanswered otherwise (the server moves it on when it times out).

    A trip's road speed is the known speed of its place and hour
    (`ROAD_SPEEDS_KMH` by `ROAD_CLASS`), times one draw, uniform within
    `speed_spread` (0.15: 85-115%), for what no table knows: this driver,
    this day's traffic, a closed lane. Snow scales it further (the
    scenario's `storm_speed_factor`).
    """

    p_accept: float = 0.88
    p_decline: float = 0.08
    answer_s: tuple[float, float] = (15.0, 90.0)
    depart_s: tuple[float, float] = (30.0, 180.0)
    road_speeds_kmh: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in ROAD_SPEEDS_KMH.items()}
    )
    speed_spread: float = 0.15  # one trip's speed: the known speed x uniform(1 -/+ this)
    circuity: float = 1.3  # road km per great-circle km
    fix_interval_s: float = 30.0  # one GPS fix this often while moving
    fixes_per_post: int = 4  # fixes sent together in one POST
    # A crew writes to the desk about a job now and then ("traffic, 10 min late").
    p_message: float = 0.3
    # ... and photographs the job (a small generated JPEG with the scene's position).
    p_photo: float = 0.5

    def __post_init__(self) -> None:
        if not (self.p_accept >= 0 and self.p_decline >= 0 and self.p_accept + self.p_decline <= 1):
            raise ValueError("need 0 <= p_accept, p_decline and p_accept + p_decline <= 1")
        if self.fix_interval_s <= 0 or self.fixes_per_post < 1:
            raise ValueError("fix_interval_s must be > 0 and fixes_per_post >= 1")
        bands = {name for _, _, name in HOUR_BANDS}
        for kind, speeds in self.road_speeds_kmh.items():
            if set(speeds) != bands or min(speeds.values()) <= 0:
                raise ValueError(f"road speeds of {kind!r} need a speed > 0 for each of {bands}")
        if not 0 <= self.speed_spread < 1:
            raise ValueError("speed_spread must be >= 0 and < 1")

    def known_speed_kmh(self, province: str, band: str) -> float:
        """The road speed of a province at an hour band, before the trip's own draw."""
        return float(self.road_speeds_kmh[ROAD_CLASS.get(province, "mixed")][band])

    def trip_speed_kmh(self, province: str, band: str, rng: random.Random) -> float:
        """One trip's average road speed: the known speed, varied by `speed_spread`."""
        spread = self.speed_spread
        return self.known_speed_kmh(province, band) * rng.uniform(1 - spread, 1 + spread)


@dataclass(frozen=True)
class Scenario:
    name: str
    start: datetime  # simulated start (aware)
    duration_s: float | None  # simulated seconds of new calls; None: until stopped
    calls_per_hour: float  # at a time-of-day factor of 1.0, whole network
    hourly_profile: tuple[float, ...] = HOURLY_PROFILE
    fault_mix: Mapping[str, float] = field(default_factory=lambda: dict(ORDINARY_FAULT_MIX))
    # Snowstorm: calls in this province are `storm_factor` times as frequent
    # and follow `storm_fault_mix`; driving there is slower, work takes longer.
    storm_province: str | None = None
    storm_factor: float = 10.0
    storm_fault_mix: Mapping[str, float] = field(default_factory=lambda: dict(SNOW_FAULT_MIX))
    storm_speed_factor: float = 0.6
    storm_scene_factor: float = 1.3
    # Station out of service: its vans are put off duty for the run. "auto"
    # picks the station with most vans (ties: lowest id) when the run starts.
    out_station_id: str | None = None
    call_reach_km: float = 30.0  # calls happen within this distance of a station
    p_caller_cancels: float = 0.03  # the caller gets going alone and calls back
    first_call_at_s: float | None = None  # force an early first call (the demo)
    drain_s: float = 4 * 3600.0  # after the calls stop, how long open jobs may run on
    crew: CrewBehaviour = field(default_factory=CrewBehaviour)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("scenario start must carry a time zone")
        if len(self.hourly_profile) != 24:
            raise ValueError("hourly_profile needs 24 values")
        if self.calls_per_hour < 0 or (self.duration_s is not None and self.duration_s <= 0):
            raise ValueError("calls_per_hour must be >= 0 and duration_s > 0")
        for mix in (self.fault_mix, self.storm_fault_mix):
            unknown = set(mix) - {f.value for f in F}
            if unknown:
                raise ValueError(f"unknown fault categories in mix: {sorted(unknown)}")

    def replace(self, **changes: object) -> Scenario:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _today_at(hour: float) -> datetime:
    today = datetime.now(CHINA_TZ).date()
    return datetime.combine(today, time(0), tzinfo=CHINA_TZ) + timedelta(hours=hour)


def ordinary_day(
    *, start: datetime | None = None, hours: float | None = 24.0, calls_per_hour: float = 40.0
) -> Scenario:
    """An ordinary day across the network (default: from midnight China time)."""
    return Scenario(
        name="ordinary",
        start=start or _today_at(0),
        duration_s=None if hours is None else hours * 3600.0,
        calls_per_hour=calls_per_hour,
    )


def snowstorm(
    province: str = "Henan",
    *,
    start: datetime | None = None,
    hours: float | None = 24.0,
    calls_per_hour: float = 40.0,
) -> Scenario:
    """A snowstorm in one province: ten times its usual calls, slow roads."""
    return Scenario(
        name="snowstorm",
        start=start or _today_at(0),
        duration_s=None if hours is None else hours * 3600.0,
        calls_per_hour=calls_per_hour,
        storm_province=province,
    )


def station_out(
    station_id: str = "auto",
    *,
    start: datetime | None = None,
    hours: float | None = 24.0,
    calls_per_hour: float = 40.0,
) -> Scenario:
    """An ordinary day with one station out of service (its vans off duty)."""
    return Scenario(
        name="station_out",
        start=start or _today_at(0),
        duration_s=None if hours is None else hours * 3600.0,
        calls_per_hour=calls_per_hour,
        out_station_id=station_id,
    )


SCENARIOS = {"ordinary": ordinary_day, "snowstorm": snowstorm, "station_out": station_out}


def named_scenario(
    name: str,
    *,
    start: datetime | None = None,
    hours: float | None = 24.0,
    calls_per_hour: float = 40.0,
    province: str | None = None,
    station_id: str | None = None,
) -> Scenario:
    """One of `SCENARIOS` by name, with the options the CLI offers."""
    if name == "ordinary":
        return ordinary_day(start=start, hours=hours, calls_per_hour=calls_per_hour)
    if name == "snowstorm":
        return snowstorm(
            province or "Henan", start=start, hours=hours, calls_per_hour=calls_per_hour
        )
    if name == "station_out":
        return station_out(
            station_id or "auto", start=start, hours=hours, calls_per_hour=calls_per_hour
        )
    raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
