"""Bad input is refused with a 4xx that says which field is wrong, and records nothing.

Every case: take the event log's length, send the request, check the status,
that `detail` names the field by its `loc` path, that the log did not grow,
and that the server never answered 5xx.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rescue.domain.validation import CHINA_TZ
from tests.builders import HttpWorld, locs, notification_count, position, report, served, vin

VALID_VIN = vin(1)
BAD_CHECK_DIGIT = VALID_VIN[:8] + ("1" if VALID_VIN[8] != "1" else "2") + VALID_VIN[9:]
NO_BODY = object()


def reported_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A valid report with one field replaced (or added, for unknown fields)."""
    body = copy.deepcopy(report())
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


@dataclass(frozen=True)
class Bad:
    path: str  # "{incident}" is the call offered to V1; "{unknown}" a random uuid
    who: str | None
    json: Any = NO_BODY  # a body, or a function making it when the request is sent
    content: str | None = None
    status: int = 422
    loc: tuple[Any, ...] | None = None  # the loc path `detail` must name (422 only)
    method: str = "post"
    headers: dict[str, str] = field(default_factory=dict)


def tomorrow_in_china() -> str:
    """Taken when the request is sent, so a run across midnight still sends tomorrow."""
    return (datetime.now(CHINA_TZ).date() + timedelta(days=1)).isoformat()


def incident_case(path: tuple[str, ...], value: Any) -> Bad:
    return Bad("/api/incidents", "operator", reported_with(path, value), loc=("body", *path))


def raw_incident(text: str, loc: tuple[Any, ...]) -> Bad:
    return Bad(
        "/api/incidents",
        "operator",
        content=text,
        headers={"Content-Type": "application/json"},
        loc=loc,
    )


FUTURE = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
NAIVE = datetime.now(UTC).replace(tzinfo=None).isoformat()
LAT_NAN = (
    '{"caller": {"name": "Wang Wei", "phone": "13800138000"}, '
    f'"vehicle": {{"vin": "{VALID_VIN}", "model_series": "PALADIN", "odometer_km": 1, '
    '"sold_on": "2022-03-01"}, "location": {"lat": NaN, "lon": 113.6}, '
    '"fault": {"category": "battery"}}'
)

CASES: dict[str, Bad] = {
    # -- the vehicle
    "vin_too_short": incident_case(("vehicle", "vin"), VALID_VIN[:16]),
    "vin_too_long": incident_case(("vehicle", "vin"), VALID_VIN + "1"),
    "vin_with_I": incident_case(("vehicle", "vin"), VALID_VIN[:3] + "I" + VALID_VIN[4:]),
    "vin_with_O": incident_case(("vehicle", "vin"), VALID_VIN[:3] + "O" + VALID_VIN[4:]),
    "vin_with_Q": incident_case(("vehicle", "vin"), VALID_VIN[:3] + "Q" + VALID_VIN[4:]),
    "vin_bad_check_digit": incident_case(("vehicle", "vin"), BAD_CHECK_DIGIT),
    "odometer_negative": incident_case(("vehicle", "odometer_km"), -1),
    "sold_tomorrow": Bad(
        "/api/incidents",
        "operator",
        lambda: reported_with(("vehicle", "sold_on"), tomorrow_in_china()),
        loc=("body", "vehicle", "sold_on"),
    ),
    # -- the caller
    "phone_too_few_digits": incident_case(("caller", "phone"), "138001380"),
    "phone_mobile_second_digit": incident_case(("caller", "phone"), "12800138000"),
    "phone_foreign": incident_case(("caller", "phone"), "+44 20 7946 0958"),
    "phone_landline_short": incident_case(("caller", "phone"), "021-1234567"),
    "phone_letters": incident_case(("caller", "phone"), "call me maybe"),
    "name_10k_chars": incident_case(("caller", "name"), "王" * 10_000),
    # -- the place
    "lat_91": incident_case(("location", "lat"), 91),
    "lat_minus_91": incident_case(("location", "lat"), -91),
    "lon_181": incident_case(("location", "lon"), 181),
    "lat_nan": Bad(
        "/api/incidents",
        "operator",
        content=LAT_NAN,
        headers={"Content-Type": "application/json"},
        loc=("body", "location", "lat"),
    ),
    "lon_string": incident_case(("location", "lon"), "east"),
    # -- the fault
    "unknown_fault": incident_case(("fault", "category"), "meteor_strike"),
    # -- the shape of the body
    "extra_field_nested": incident_case(("caller", "nickname"), "Lao Wang"),
    "extra_field_top": incident_case(("urgent",), True),
    "not_json": raw_incident("this is not json", ("body", 0)),
    "empty_body": raw_incident("", ("body",)),
    "json_array_instead_of_object": Bad("/api/incidents", "operator", [1, 2, 3], loc=("body",)),
    # -- the network
    "unknown_capability": Bad(
        "/api/vans",
        "admin",
        {"call_sign": "x", "station_id": "S1", "capabilities": ["teleport"]},
        loc=("body", "capabilities", 0),
    ),
    "unknown_tier": Bad(
        "/api/stations",
        "admin",
        {
            "name": "airport",
            "tier": "airport",
            "lat": 34.5,
            "lon": 113.8,
            "capabilities": [],
            "radius_km": 10,
        },
        loc=("body", "tier"),
    ),
    "van_at_unknown_station": Bad(
        "/api/vans",
        "admin",
        {"call_sign": "x", "station_id": "NOWHERE", "capabilities": ["tow"]},
        loc=("body", "station_id"),
    ),
    # -- positions
    "position_from_the_future": Bad(
        "/api/vans/V1/positions",
        "crew1",
        position(recorded_at=FUTURE),
        loc=("body", "recorded_at"),
    ),
    "position_from_the_future_in_a_list": Bad(
        "/api/vans/V1/positions",
        "crew1",
        [position(), position(recorded_at=FUTURE)],
        loc=("body", 1, "recorded_at"),
    ),
    "position_naive_time": Bad(
        "/api/vans/V1/positions",
        "crew1",
        position(recorded_at=NAIVE),
        loc=("body", "recorded_at"),
    ),
    "positions_1001": Bad("/api/vans/V1/positions", "crew1", [position()] * 1001),
    "positions_none": Bad("/api/vans/V1/positions", "crew1", []),
    # -- steps
    "accept_without_eta": Bad(
        "/api/incidents/{incident}/accept", "crew1", {}, loc=("body", "eta_min")
    ),
    "accept_negative_eta": Bad(
        "/api/incidents/{incident}/accept", "crew1", {"eta_min": -5}, loc=("body", "eta_min")
    ),
    "override_without_reason": Bad(
        "/api/incidents/{incident}/dispatch", "operator", {"van_id": "V2"}, loc=("body", "reason")
    ),
    "history_naive_as_of": Bad(
        "/api/incidents/{incident}/history?as_of=2024-05-01T08:00:00",
        "operator",
        method="get",
        loc=("query", "as_of"),
    ),
    # -- ids that name nothing
    "get_unknown_incident": Bad("/api/incidents/{unknown}", "operator", method="get", status=404),
    "get_malformed_id": Bad("/api/incidents/not-a-uuid", "operator", method="get", status=404),
    "history_malformed_id": Bad(
        "/api/incidents/12345/history", "auditor", method="get", status=404
    ),
    "dispatch_unknown_incident": Bad(
        "/api/incidents/{unknown}/dispatch", "operator", {}, status=404
    ),
    "dispatch_malformed_id": Bad("/api/incidents/zzz/dispatch", "operator", {}, status=404),
    "accept_unknown_incident": Bad(
        "/api/incidents/{unknown}/accept", "crew1", {"eta_min": 10}, status=404
    ),
    "positions_for_a_van_not_ours": Bad("/api/vans/V9/positions", "crew1", position(), status=403),
    # -- who may do what
    "no_token": Bad("/api/incidents", None, report(), status=401),
    "no_token_get": Bad("/api/incidents/{incident}", None, method="get", status=401),
    "bad_token": Bad(
        "/api/incidents",
        None,
        report(),
        status=401,
        headers={"Authorization": "Bearer not-a-token"},
    ),
    "not_bearer": Bad(
        "/api/incidents",
        None,
        report(),
        status=401,
        headers={"Authorization": "Basic Zm9vOmJhcg=="},
    ),
    "crew_reports_call": Bad("/api/incidents", "crew1", report(), status=403),
    "auditor_dispatches": Bad("/api/incidents/{incident}/dispatch", "auditor", {}, status=403),
    "admin_accepts": Bad("/api/incidents/{incident}/accept", "admin", {"eta_min": 5}, status=403),
    "operator_reports_positions": Bad("/api/vans/V1/positions", "operator", position(), status=403),
    "crew_registers_van": Bad(
        "/api/vans",
        "crew1",
        {"call_sign": "x", "station_id": "S1", "capabilities": ["tow"]},
        status=403,
    ),
    "auditor_shift": Bad("/api/vans/V1/shift", "auditor", {"on_duty": False}, status=403),
    "crew_reads_history": Bad(
        "/api/incidents/{incident}/history", "crew1", method="get", status=403
    ),
    # -- a crew acting for another van
    "other_crew_positions": Bad("/api/vans/V1/positions", "crew2", position(), status=403),
    "other_crew_shift": Bad("/api/vans/V1/shift", "crew2", {"on_duty": False}, status=403),
    "other_crew_reads_incident": Bad(
        "/api/incidents/{incident}", "crew2", method="get", status=403
    ),
    "other_crew_accepts": Bad(
        "/api/incidents/{incident}/accept", "crew2", {"eta_min": 10}, status=403
    ),
    "other_crew_declines": Bad(
        "/api/incidents/{incident}/decline", "crew2", {"reason": "not ours"}, status=403
    ),
}


@pytest.fixture
def world(store_url: str) -> Iterator[HttpWorld]:
    with served(store_url) as w:
        yield w


def offered_to_v1(world: HttpWorld) -> str:
    incident_id: str = world.post("/api/incidents", "operator", json=report()).json()["incident_id"]
    assert world.post(f"/api/incidents/{incident_id}/dispatch", "operator", json={}).is_success
    return incident_id


def send(world: HttpWorld, case: Bad, incident_id: str) -> Any:
    path = case.path.format(incident=incident_id, unknown=uuid.uuid4())
    kwargs: dict[str, Any] = {"headers": dict(case.headers)}
    if case.json is not NO_BODY:
        kwargs["json"] = case.json() if callable(case.json) else case.json
    if case.content is not None:
        kwargs["content"] = case.content
    if case.method == "get":
        return world.get(path, case.who, **kwargs)
    return world.post(path, case.who, **kwargs)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_naming_the_field(world: HttpWorld, name: str) -> None:
    case = CASES[name]
    # 1. A call offered to V1, so steps have something to act on.
    incident_id = offered_to_v1(world)
    before = notification_count(world.app)
    # 2. The bad request.
    answer = send(world, case, incident_id)
    # 3. Refused with the expected 4xx, never a 5xx, with a detail.
    assert answer.status_code < 500, answer.text
    assert answer.status_code == case.status, answer.text
    assert answer.json().get("detail"), answer.text
    # 4. A 422 names the field by its loc path.
    if case.loc is not None:
        assert list(case.loc) in locs(answer), answer.json()
    # 5. Nothing was recorded, and the offer still stands.
    assert notification_count(world.app) == before
    assert world.app.queries.incident(incident_id).van_id == "V1"


@pytest.mark.parametrize("count", [0, 1001])
def test_a_position_list_of_the_wrong_size_names_the_body(world: HttpWorld, count: int) -> None:
    # 1. Too many (or no) positions in one request.
    answer = world.post("/api/vans/V1/positions", "crew1", json=[position()] * count)
    # 2. Refused, with a detail list whose loc names the body.
    assert answer.status_code == 422
    assert ["body"] in locs(answer), answer.json()


@pytest.mark.parametrize("as_list", [False, True], ids=["one", "list"])
def test_a_bad_position_field_is_named_by_its_plain_path(world: HttpWorld, as_list: bool) -> None:
    # 1. A position with latitude 91, alone or as the first of a list.
    fix = position(lat=91)
    answer = world.post("/api/vans/V1/positions", "crew1", json=[fix] if as_list else fix)
    # 2. One error, at body.lat (or body.0.lat), as for every other body.
    assert answer.status_code == 422
    assert locs(answer) == ([["body", 0, "lat"]] if as_list else [["body", "lat"]])
