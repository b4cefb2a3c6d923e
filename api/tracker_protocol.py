"""What tracker apps send, read into fixes: the OsmAnd protocol and Traccar Client's JSON.

No I/O here: the route hands over the fields it received and gets back, per
report, the device identifier, the fix to store or the reason it will not be
used, and the alarm if any.

Forms read (the field names are the protocol's):
- OsmAnd fields, in a query string or a form body: `id` or `deviceid`, `lat` and
  `lon` or `location=lat,lon`, `timestamp`, `speed`, `bearing` or `heading`,
  `accuracy`, `altitude`, `batt`, `charge`, `valid`, `alarm`, `event`;
- Traccar Client's JSON, `{"device_id", "location": {"timestamp", "coords":
  {"latitude", "longitude", "speed", "heading", "accuracy", "altitude"},
  "battery": {"level", "is_charging"}, "event", "alarm"?, "extras"?}}`, also
  with a list of locations;
- a JSON list of objects with the OsmAnd fields (Traccar's client SDK when it
  uploads as JSON).

Units and conventions:
- `timestamp`: Unix seconds or milliseconds (a number from 2^31 on is
  milliseconds, as Traccar reads it), or ISO-8601; a time without a zone is
  UTC (what GPS receivers report); none at all means now.
- `speed`: knots, as the OsmAnd protocol has it; `speed_unit=mps` or `kmh`
  says otherwise (the OsmAnd app itself sends m/s: add `&speed_unit=mps` to its
  URL template). Traccar Client's JSON speed is m/s. The speed limit is told in
  the unit received.
- `-1` means unknown for speed, heading and battery; a negative accuracy means
  the fix itself is invalid (iOS marks a fix without coordinates so).
- `lat=0&lon=0` is a device without a fix, not a van in the Gulf of Guinea.

A report that cannot become a fix (none in it, marked invalid, unreadable, too
old, too far in the future, implausible) is still a report from the van: the
route acknowledges it so the device's queue moves on, and records why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rescue.domain.validation import check_latitude, check_longitude
from rescue.services.positions import PositionReport

# The REST route's limits (rescue.api.schemas.ReportPosition), kept in km/h and metres.
MAX_SPEED_KMH = 400.0
MAX_ACCURACY_M = 100_000.0
SPEED_UNITS = {"kn": 1.852, "mps": 3.6, "kmh": 1.0}
# Unix times from here on are milliseconds (Traccar's rule: what fits an int is seconds).
MILLISECONDS_FROM = 2**31 - 1
IDENTIFIERS = ("id", "deviceid", "device_id")
# The fields kept, as received, with a refused report (the identifier never is: a token).
RECORDED = (
    "lat",
    "lon",
    "location",
    "timestamp",
    "speed",
    "speed_unit",
    "bearing",
    "heading",
    "accuracy",
    "altitude",
    "batt",
    "charge",
    "valid",
    "alarm",
    "event",
)
MAX_TEXT = 100
# `+08:00` in a query string that was not percent-encoded arrives as ` 08:00`.
_SPACED_OFFSET = re.compile(r"(T[0-9:.]+) ([0-9]{2}:?[0-9]{2})$")


@dataclass(frozen=True)
class Limits:
    """When a fix is usable: `now` and how far ahead of it or behind it a fix may be."""

    now: datetime
    future_s: float
    max_age_s: float


@dataclass(frozen=True)
class TrackerReport:
    """One report of a device: a fix to store, or the reason it will not be used."""

    device: str | None
    fix: PositionReport | None
    refusal: tuple[str, str] | None  # (kind, reason); kinds are Van.REFUSALS
    received: dict[str, str]
    alarm: str | None
    recorded_at: datetime  # the fix's time, or when the report came


class Refusal(ValueError):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


class NotReports(ValueError):
    """A body that holds no reports at all (the request, not a report, is at fault)."""


def read_fields(fields: Mapping[str, Any], limits: Limits) -> TrackerReport:
    """A report from OsmAnd fields (values as text from a query or form, or JSON values)."""
    device = next((_text(fields[k]) for k in IDENTIFIERS if _text(fields.get(k))), None)
    received = {k: _text(fields[k])[:MAX_TEXT] for k in RECORDED if fields.get(k) is not None}
    alarm = _text(fields.get("alarm"))[:MAX_TEXT].strip().lower() or None
    try:
        recorded_at = _moment(fields.get("timestamp"), limits.now)
    except Refusal as refused:
        refusal = (refused.kind, str(refused))
        return TrackerReport(device, None, refusal, received, alarm, limits.now)
    try:
        fix = _fix(fields, recorded_at, limits)
    except Refusal as refused:
        refusal = (refused.kind, str(refused))
        return TrackerReport(device, None, refusal, received, alarm, recorded_at)
    return TrackerReport(device, fix, None, received, alarm, recorded_at)


def read_json(body: Any, limits: Limits) -> list[TrackerReport]:
    """The reports of a JSON body: Traccar Client's object, or a list of OsmAnd objects."""
    if isinstance(body, list):
        if not body or not all(isinstance(item, dict) for item in body):
            raise NotReports("a JSON list must hold report objects")
        return [read_fields(item, limits) for item in body]
    if not isinstance(body, dict):
        raise NotReports("send a JSON object with device_id and location")
    locations = body.get("location")
    if isinstance(locations, dict):
        locations = [locations]
    if not isinstance(locations, list) or not all(isinstance(x, dict) for x in locations):
        # No location: the request may still name its device (then it is refused as a
        # report without a position, not as a request).
        locations = [{}]
    return [
        read_fields({"device_id": body.get("device_id"), **traccar_fields(location)}, limits)
        for location in locations
    ]


def traccar_fields(location: dict[str, Any]) -> dict[str, Any]:
    """A Traccar Client location as OsmAnd fields (speed stays m/s, and says so)."""
    coords = location.get("coords") if isinstance(location.get("coords"), dict) else {}
    battery = location.get("battery") if isinstance(location.get("battery"), dict) else {}
    extras = location.get("extras") if isinstance(location.get("extras"), dict) else {}
    assert isinstance(coords, dict) and isinstance(battery, dict) and isinstance(extras, dict)
    level = _lenient_number(battery.get("level"))
    fields: dict[str, Any] = {
        "lat": coords.get("latitude"),
        "lon": coords.get("longitude"),
        "timestamp": location.get("timestamp"),
        "speed": coords.get("speed"),
        "speed_unit": "mps",
        "heading": coords.get("heading"),
        "accuracy": coords.get("accuracy"),
        "altitude": coords.get("altitude"),
        # 0..1 in the JSON, -1 when unknown; a percentage in the OsmAnd fields.
        "batt": level * 100 if level is not None and level >= 0 else None,
        "charge": battery.get("is_charging"),
        "event": location.get("event"),
        "alarm": location.get("alarm") or extras.get("alarm"),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _fix(fields: Mapping[str, Any], recorded_at: datetime, limits: Limits) -> PositionReport:
    lat, lon = _position(fields)
    if _text(fields.get("valid")).lower() in ("false", "0"):
        raise Refusal("invalid", "the device marked the fix invalid (valid=false)")
    accuracy = _number(fields, "accuracy")
    if accuracy is not None and accuracy < 0:
        raise Refusal("invalid", f"the device marked the fix invalid (accuracy {accuracy:g})")
    if accuracy is not None and accuracy > MAX_ACCURACY_M:
        raise Refusal("implausible", f"accuracy {accuracy:g} m is over {MAX_ACCURACY_M:g} m")
    future_s, max_age_s = limits.future_s, limits.max_age_s
    ahead = (recorded_at - limits.now).total_seconds()
    if ahead > future_s:
        raise Refusal(
            "future",
            f"the fix is {ahead:.0f} s ahead of the server's clock (at most {future_s:g} s "
            "allowed); check the device clock",
        )
    if -ahead > max_age_s:
        raise Refusal(
            "too_old",
            f"the fix is from {recorded_at.isoformat()}, {_age(-ahead)} old (at most "
            f"{_age(max_age_s)})",
        )
    return PositionReport(
        lat,
        lon,
        recorded_at,
        speed_kmh=_speed_kmh(fields),
        heading=_heading(fields),
        accuracy_m=accuracy,
        device=_device(fields),
    )


def _position(fields: Mapping[str, Any]) -> tuple[float, float]:
    if not _text(fields.get("lat")) and not _text(fields.get("lon")) and fields.get("location"):
        parts = _text(fields["location"]).split(",")
        if len(parts) != 2:
            raise Refusal("unreadable", "location must be lat,lon")
        fields = {"lat": parts[0], "lon": parts[1]}
    if _text(fields.get("lat")) == "" or _text(fields.get("lon")) == "":
        raise Refusal("no_position", "the report has no position (lat and lon)")
    lat, lon = _number(fields, "lat"), _number(fields, "lon")
    assert lat is not None and lon is not None
    if lat == 0 and lon == 0:
        raise Refusal("no_position", "the report has no position (0, 0: the device had no fix)")
    try:
        return check_latitude(lat), check_longitude(lon)
    except ValueError as error:
        raise Refusal("implausible", str(error)) from None


def _speed_kmh(fields: Mapping[str, Any]) -> float | None:
    unit = _text(fields.get("speed_unit")).lower() or "kn"
    factor = SPEED_UNITS.get(unit)
    if factor is None:
        raise Refusal("unreadable", f"speed_unit must be one of {', '.join(SPEED_UNITS)}")
    speed = _number(fields, "speed")
    if speed is None or speed < 0:  # -1: unknown
        return None
    limit = MAX_SPEED_KMH / factor
    if speed > limit:
        raise Refusal(
            "implausible",
            f"speed {speed:g} {unit} is over {limit:.0f} {unit} ({MAX_SPEED_KMH:g} km/h)",
        )
    return round(speed * factor, 2)


def _heading(fields: Mapping[str, Any]) -> float | None:
    name = "bearing" if fields.get("bearing") is not None else "heading"
    heading = _number(fields, name)
    if heading is None or heading < 0:  # -1: unknown
        return None
    if heading > 360:
        raise Refusal("implausible", f"{name} {heading:g} is over 360 degrees")
    return heading


def _device(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the app sent besides the fix; a value that does not read is left out."""
    battery = _lenient_number(fields.get("batt"))
    altitude = _lenient_number(fields.get("altitude"))
    charge = _text(fields.get("charge")).lower()
    device = {
        "battery_pct": battery if battery is not None and 0 <= battery <= 100 else None,
        "charging": {"true": True, "1": True, "false": False, "0": False}.get(charge),
        "altitude_m": altitude,
        "event": _text(fields.get("event"))[:MAX_TEXT] or None,
        "alarm": _text(fields.get("alarm"))[:MAX_TEXT] or None,
    }
    kept = {k: v for k, v in device.items() if v is not None}
    return kept or None


def _moment(raw: Any, now: datetime) -> datetime:
    text = _text(raw).strip()
    if not text:
        return now
    try:
        number = float(text)
    except ValueError:
        return _iso_moment(text)
    if not math.isfinite(number):
        raise Refusal("unreadable", f"timestamp {text!r} is not a time")
    if abs(number) >= MILLISECONDS_FROM:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        raise Refusal("unreadable", f"timestamp {text!r} is out of range") from None


def _iso_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_SPACED_OFFSET.sub(r"\1+\2", text))
    except ValueError:
        raise Refusal(
            "unreadable", f"timestamp {text!r} is neither Unix time nor ISO-8601"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise Refusal("unreadable", f"timestamp {text!r} is out of range") from None


def _number(fields: Mapping[str, Any], name: str) -> float | None:
    raw = fields.get(name)
    if raw is None or _text(raw).strip() == "":
        return None
    value = _lenient_number(raw)
    if value is None:
        raise Refusal("unreadable", f"{name} must be a number, got {_text(raw)[:MAX_TEXT]!r}")
    return value


def _lenient_number(raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw) if _is_number(raw) else float(_text(raw))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_number(raw: Any) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool)


def _text(raw: Any) -> str:
    """A field as text: JSON values as the query string would carry them."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float):
        return repr(raw)
    return ""


def _age(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
