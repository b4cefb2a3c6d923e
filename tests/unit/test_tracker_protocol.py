"""Reading tracker reports: the requests real apps send, as their own sources and tests show them.

The query strings and JSON bodies below are the samples of Traccar's OsmAnd decoder tests
and the request shapes of Traccar Client (the current app's SDK, the legacy Android and
iOS apps) and of the OsmAnd app's live tracking.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest

from rescue.api.tracker_protocol import Limits, NotReports, TrackerReport, read_fields, read_json

WEEK_S = 7 * 86_400.0


def limits(now: datetime) -> Limits:
    return Limits(now=now, future_s=120.0, max_age_s=WEEK_S)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def query(text: str, now: datetime) -> TrackerReport:
    """A query string read as the server reads it (the last of a repeated field wins)."""
    return read_fields(dict(parse_qsl(text.lstrip("/?"), keep_blank_values=True)), limits(now))


def fixed(report: TrackerReport) -> Any:
    assert report.refusal is None, report.refusal
    assert report.fix is not None
    return report.fix


# -- Traccar's OsmAnd decoder samples: query strings ------------------------------------


def test_a_report_of_cells_and_wifi_without_a_position_is_refused_as_no_position() -> None:
    report = query(
        "/?id=123456&timestamp=1377177267&cell=257,02,16,2224&cell=257,02,16,2223,-90"
        "&wifi=00-14-22-01-23-45,-80&wifi=00-1C-B3-09-85-15,-70",
        at("2013-08-22T13:15:00Z"),
    )
    assert report.device == "123456"
    assert report.refusal is not None and report.refusal[0] == "no_position"
    assert report.received == {"timestamp": "1377177267"}


def test_a_report_without_an_id_reads_but_names_no_device() -> None:
    report = query("/?timestamp=1377177267&lat=60.0&lon=30.0", at("2013-08-22T13:15:00Z"))
    assert report.device is None
    assert (fixed(report).lat, fixed(report).lon) == (60.0, 30.0)


@pytest.mark.parametrize(
    ("sample", "recorded_at"),
    [
        (
            "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z"
            "&hdop=6.0&altitude=224.0&speed=0.0",
            "2016-01-27T18:55:47+00:00",
        ),
        (
            "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0"
            "&altitude=224.0&speed=0.0",
            "2015-09-12T14:38:06.579000+00:00",
        ),
        # No zone: read as UTC.
        (
            "/?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7"
            "&speed=0.0&id=353861053849681",
            "2014-06-04T09:10:11+00:00",
        ),
        (
            "/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0"
            "&altitude=0&hdop=0.0",
            "2013-08-22T13:14:27+00:00",
        ),
    ],
)
def test_seconds_milliseconds_and_iso_times_are_read(sample: str, recorded_at: str) -> None:
    expected = datetime.fromisoformat(recorded_at)
    fix = fixed(query(sample, expected + timedelta(minutes=1)))
    assert fix.recorded_at == expected
    assert fix.speed_kmh == 0.0


def test_heading_with_deviceid_and_no_timestamp_is_a_fix_of_now() -> None:
    now = datetime.now(UTC)
    report = query(
        "/?lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456", now
    )
    assert report.device == "123456"
    assert (fixed(report).recorded_at, fixed(report).heading) == (now, 0.0)


def test_battery_and_altitude_are_kept_with_the_fix() -> None:
    report = query(
        "/?id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000"
        "&batt=87",
        datetime.now(UTC),
    )
    assert fixed(report).device == {"battery_pct": 87.0, "altitude_m": 350.059479}


def test_location_gives_lat_and_lon() -> None:
    report = query("/?id=123456&timestamp=1377177267&location=60.0,30.0", at("2013-08-22T13:15Z"))
    assert (fixed(report).lat, fixed(report).lon) == (60.0, 30.0)


def test_speed_is_read_in_knots_and_unknown_fields_are_ignored() -> None:
    report = query(
        "/?id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571"
        "&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24",
        at("2017-09-07T05:57:00Z"),
    )
    assert (fixed(report).speed_kmh, fixed(report).heading) == (74.08, 7.19889788244)


# -- Traccar's OsmAnd decoder samples: Traccar Client's JSON ------------------------------

MOTIONCHANGE = {
    "location": {
        "timestamp": "2025-06-15T13:45:12.862Z",
        "coords": {
            "latitude": 37.4219983,
            "longitude": -122.084,
            "accuracy": 5,
            "speed": 0,
            "heading": -1,
            "altitude": 5,
        },
        "is_moving": False,
        "odometer": 0,
        "event": "motionchange",
        "battery": {"level": 1, "is_charging": False},
        "activity": {"type": "still"},
        "extras": {},
        "_": "&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&",
    },
    "device_id": "48241179",
}
IOS_MOCK = {
    "location": {
        "extras": {},
        "mock": True,
        "coords": {
            "speed_accuracy": -1,
            "speed": -1,
            "longitude": -122.406417,
            "ellipsoidal_altitude": 0,
            "floor": None,
            "heading_accuracy": -1,
            "latitude": 37.785834000000001,
            "accuracy": 5,
            "altitude_accuracy": -1,
            "altitude": 0,
            "heading": -1,
        },
        "is_moving": False,
        "age": 188,
        "odometer": 0,
        "uuid": "2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8",
        "event": "motionchange",
        "battery": {"level": -1, "is_charging": False},
        "activity": {"type": "unknown", "confidence": 100},
        "timestamp": "2025-05-09T04:11:30.579Z",
    },
    "device_id": "658765",
}
MOVING = {
    "location": {
        "event": "motionchange",
        "is_moving": False,
        "uuid": "0e9a2473-a9a7-4c00-997b-fb97d2154e75",
        "timestamp": "2021-07-21T08:06:34.444Z",
        "odometer": 0,
        "coords": {
            "latitude": -6.1148096,
            "longitude": 106.6837015,
            "accuracy": 3.8,
            "speed": 18.67,
            "speed_accuracy": 0.26,
            "heading": 63,
            "heading_accuracy": 0.28,
            "altitude": 35.7,
            "altitude_accuracy": 3.8,
        },
        "activity": {"type": "still", "confidence": 100},
        "battery": {"is_charging": False, "level": 0.79},
        "extras": {},
    },
    "device_id": "8737767034",
}


def json_fix(body: dict[str, Any]) -> TrackerReport:
    moment = at(body["location"]["timestamp"])
    [report] = read_json(body, limits(moment + timedelta(seconds=30)))
    return report


def test_traccar_client_json_reads_with_minus_one_as_unknown() -> None:
    report = json_fix(MOTIONCHANGE)
    fix = fixed(report)
    assert report.device == "48241179"
    assert fix.recorded_at == at("2025-06-15T13:45:12.862Z")
    assert (fix.lat, fix.lon, fix.speed_kmh, fix.heading, fix.accuracy_m) == (
        37.4219983,
        -122.084,
        0.0,
        None,
        5.0,
    )
    assert fix.device == {
        "battery_pct": 100.0,
        "charging": False,
        "altitude_m": 5.0,
        "event": "motionchange",
    }


def test_an_unknown_speed_and_battery_are_left_out() -> None:
    fix = fixed(json_fix(IOS_MOCK))
    assert (fix.speed_kmh, fix.heading) == (None, None)
    assert fix.device is not None and "battery_pct" not in fix.device


def test_traccar_client_json_speed_is_metres_per_second() -> None:
    fix = fixed(json_fix(MOVING))
    assert (fix.speed_kmh, fix.heading) == (67.21, 63.0)
    assert fix.device is not None and fix.device["battery_pct"] == 79.0


def test_a_json_sos_comes_from_the_location_or_its_extras() -> None:
    body = {**MOTIONCHANGE, "location": {**MOTIONCHANGE["location"], "alarm": "sos"}}
    assert json_fix(body).alarm == "sos"
    extras = {**MOTIONCHANGE, "location": {**MOTIONCHANGE["location"], "extras": {"alarm": "sos"}}}
    assert json_fix(extras).alarm == "sos"


def test_a_list_of_locations_gives_a_report_each() -> None:
    body = {"device_id": "1", "location": [MOVING["location"], MOVING["location"]]}
    reports = read_json(body, limits(at("2021-07-21T08:07:00Z")))
    assert [r.device for r in reports] == ["1", "1"]


def test_json_without_a_location_is_a_report_without_a_position() -> None:
    [report] = read_json({"device_id": "1"}, limits(datetime.now(UTC)))
    assert report.refusal is not None and report.refusal[0] == "no_position"


@pytest.mark.parametrize("body", [[], [1], "text", 3, None])
def test_json_that_holds_no_reports_is_not_read(body: Any) -> None:
    with pytest.raises(NotReports):
        read_json(body, limits(datetime.now(UTC)))


# -- The client apps' own request shapes --------------------------------------------------


def test_the_client_sdk_form_sends_knots_battery_charge_and_sos() -> None:
    now = datetime.now(UTC)
    fields = {
        "id": "token",
        "lat": "34.75",
        "lon": "113.62",
        "timestamp": str(int(now.timestamp())),
        "accuracy": "12.0",
        "altitude": "110.5",
        "speed": "10.8",
        "bearing": "270.0",
        "batt": "64",
        "charge": "true",
        "alarm": "sos",
        "battery_health": "good",
    }
    report = read_fields(fields, limits(now))
    assert report.alarm == "sos"
    assert (fixed(report).speed_kmh, fixed(report).accuracy_m) == (20.0, 12.0)
    assert fixed(report).device == {
        "battery_pct": 64.0,
        "charging": True,
        "altitude_m": 110.5,
        "alarm": "sos",
    }


def test_the_client_sdk_json_list_is_read_as_osmand_fields() -> None:
    now = datetime.now(UTC)
    item = {"id": "token", "lat": 34.75, "lon": 113.62, "timestamp": int(now.timestamp())}
    reports = read_json([item, {**item, "speed": 5.4, "charge": False}], limits(now))
    assert [fixed(r).speed_kmh for r in reports] == [None, 10.0]
    assert fixed(reports[1]).device == {"charging": False}


@pytest.mark.parametrize(
    "sample",
    [
        # Legacy Android client before its first fix (its own formatter test).
        "id=123456789012345&timestamp=619315200&lat=0.0&lon=0.0&speed=0.0&bearing=0.0"
        "&altitude=0.0&accuracy=0.0&batt=0.0",
        # Legacy iOS client, the same.
        "id=123456789012345&timestamp=0&lat=0.000000&lon=0.000000&speed=0&bearing=0"
        "&altitude=0&accuracy=0&batt=0",
    ],
)
def test_a_legacy_client_report_at_zero_zero_has_no_position(sample: str) -> None:
    report = query(sample, datetime.now(UTC))
    assert report.refusal is not None and report.refusal[0] == "no_position"


def test_the_legacy_alarm_text_is_kept_but_is_no_sos() -> None:
    report = query(
        "id=1&lat=34.1&lon=113.2&batt=50&alarm=alert%20message",
        datetime.now(UTC),
    )
    assert report.alarm == "alert message"
    assert fixed(report).device == {"battery_pct": 50.0, "alarm": "alert message"}


def test_an_ios_fix_with_negative_accuracy_is_invalid() -> None:
    report = query("id=1&lat=34.1&lon=113.2&accuracy=-1", datetime.now(UTC))
    assert report.refusal is not None and report.refusal[0] == "invalid"


def test_the_osmand_app_template_says_its_speed_is_metres_per_second() -> None:
    now = datetime.now(UTC)
    millis = int(now.timestamp() * 1000)
    report = query(
        f"id=1&lat=34.1&lon=113.2&timestamp={millis}&hdop=8.0&altitude=90.0&speed=10.0"
        "&bearing=45.0&speed_unit=mps",
        now,
    )
    assert (fixed(report).speed_kmh, fixed(report).heading) == (36.0, 45.0)


# -- Reports that are refused, and why ------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "kind", "says"),
    [
        ({"timestamp": "1377177267"}, "too_old", "2013-08-22"),
        ({"timestamp": "2999-01-01T00:00:00Z"}, "future", "ahead of the server's clock"),
        ({"speed": "250"}, "implausible", "speed 250 kn is over 216 kn"),
        ({"speed": "150", "speed_unit": "mps"}, "implausible", "speed 150 mps is over 111 mps"),
        ({"lat": "91"}, "implausible", "latitude"),
        ({"lat": "north"}, "unreadable", "lat must be a number"),
        ({"bearing": "720"}, "implausible", "bearing 720"),
        ({"valid": "false"}, "invalid", "valid=false"),
        ({"timestamp": "yesterday"}, "unreadable", "neither Unix time nor ISO-8601"),
        ({"speed_unit": "furlongs"}, "unreadable", "speed_unit"),
        ({"lat": "", "lon": "", "location": "60.0"}, "unreadable", "lat,lon"),
        ({"lat": "", "lon": ""}, "no_position", "no position"),
    ],
)
def test_a_report_that_cannot_be_a_fix_says_why(
    fields: dict[str, str], kind: str, says: str
) -> None:
    now = datetime.now(UTC)
    report = read_fields({"id": "secret", "lat": "34.1", "lon": "113.2", **fields}, limits(now))
    assert report.fix is None
    assert report.refusal is not None
    assert report.refusal[0] == kind
    assert says in report.refusal[1]
    # What came is kept for the record, but never the device's token.
    assert "id" not in report.received and "secret" not in report.received.values()


def test_minus_one_means_unknown_for_speed_bearing_and_battery() -> None:
    report = query("id=1&lat=34.1&lon=113.2&speed=-1&bearing=-1&batt=-1", datetime.now(UTC))
    assert (fixed(report).speed_kmh, fixed(report).heading, fixed(report).device) == (
        None,
        None,
        None,
    )


def test_an_offset_whose_plus_sign_was_not_encoded_still_reads() -> None:
    report = query(
        "id=1&lat=34.1&lon=113.2&timestamp=2026-01-05T08:30:00+08:00",
        at("2026-01-05T00:31:00Z"),
    )
    assert fixed(report).recorded_at == at("2026-01-05T00:30:00Z")
