"""What each event changes on the board: a pure function of the event.

A change names one document (an incident, a van or a station) and the fields
the event sets on it. Because a change depends on the event alone (and on the
fixed mapping from aggregate ids to van ids), the changes after any log
position can be produced again at any time from the stored events: that is
how `/ws/board?after=N` resumes without a gap or a repeat, also after a
restart. Derived fields (a van's status) are computed from a document by
`van_status`, the same on the server and in the browser.

One rule is not a plain overwrite: a GPS report older than the van's latest
one is still a change (it happened), but whoever merges it keeps the newer
position (see `merge`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Doc = dict[str, Any]


def change(kind: str, doc_id: str, event: Any, fields: Doc) -> Doc:
    return {
        "kind": kind,
        "id": doc_id,
        "event": type(event).__qualname__.split(".")[-1],
        "at": event.timestamp.isoformat(),
        "changes": fields,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def van_status(doc: Doc) -> str:
    if doc.get("incident_id") is not None:
        return "busy" if doc.get("engaged") else "offered"
    return "available" if doc.get("on_duty") else "off_duty"


def merge(doc: Doc, fields: Doc) -> None:
    """Applies a change's fields to a document, keeping the newest GPS fix."""
    newer, held = fields.get("position_at"), doc.get("position_at")
    if newer is not None and held is not None and newer <= held:
        return
    doc.update(fields)


def board_changes(event: Any, van_ids: dict[Any, str]) -> list[Doc]:
    """The board documents an event changes, and how."""
    name = type(event).__qualname__
    builder = _BUILDERS.get(name)
    if builder is None:
        return []
    built: list[Doc] = builder(event, van_ids)
    return built


def _station_registered(e: Any, _: dict[Any, str]) -> list[Doc]:
    return [
        change(
            "station",
            e.station_id,
            e,
            {
                "station_id": e.station_id,
                "name": e.name,
                "tier": e.tier,
                "lat": e.lat,
                "lon": e.lon,
                "capabilities": list(e.capabilities),
                "radius_km": e.radius_km,
            },
        )
    ]


def _van_registered(e: Any, _: dict[Any, str]) -> list[Doc]:
    return [
        change(
            "van",
            e.van_id,
            e,
            {
                "van_id": e.van_id,
                "call_sign": e.call_sign,
                "station_id": e.station_id,
                "capabilities": list(e.capabilities),
                "on_duty": False,
                "incident_id": None,
                "engaged": False,
                "lat": None,
                "lon": None,
                "position_at": None,
            },
        )
    ]


def _van_fields(fields_of: Any) -> Any:
    def build(e: Any, van_ids: dict[Any, str]) -> list[Doc]:
        van_id = van_ids.get(e.originator_id)
        if van_id is None:
            return []
        return [change("van", van_id, e, fields_of(e))]

    return build


def position_change(
    van_id: str,
    at: str,
    lat: float,
    lon: float,
    position_at: str,
    speed_kmh: float | None,
    heading: float | None,
) -> Doc:
    """A GPS fix's change, the times as ISO text: what `change` makes of a PositionReported.

    The live board builds it from the stored fix's fields too, without the event.
    """
    return {
        "kind": "van",
        "id": van_id,
        "event": "PositionReported",
        "at": at,
        "changes": {
            "lat": lat,
            "lon": lon,
            "position_at": position_at,
            "speed_kmh": speed_kmh,
            "heading": heading,
        },
    }


def _position_reported(e: Any, van_ids: dict[Any, str]) -> list[Doc]:
    van_id = van_ids.get(e.originator_id)
    if van_id is None:
        return []
    return [
        position_change(
            van_id,
            e.timestamp.isoformat(),
            e.lat,
            e.lon,
            e.recorded_at.isoformat(),
            e.speed_kmh,
            e.heading,
        )
    ]


def _incident_reported(e: Any, _: dict[Any, str]) -> list[Doc]:
    return [
        change(
            "incident",
            str(e.originator_id),
            e,
            {
                "incident_id": str(e.originator_id),
                "status": "reported",
                "priority": e.priority,
                "priority_reasons": list(e.priority_reasons),
                "capability": e.capability,
                "category": e.fault["category"],
                "lat": e.location["lat"],
                "lon": e.location["lon"],
                "place": e.location.get("description"),
                "vin": e.vehicle["vin"],
                "plate": e.vehicle.get("plate"),
                "model_series": e.vehicle.get("model_series"),
                "reported_at": e.timestamp.isoformat(),
                "van_id": None,
                "station_id": None,
                "eta_min": None,
                "offer_expires_at": None,
                "offered_at": None,
                "accepted_at": None,
                "arrived_at": None,
                "completed_at": None,
                "alerts": [],
            },
        )
    ]


def _incident_fields(fields_of: Any) -> Any:
    def build(e: Any, _: dict[Any, str]) -> list[Doc]:
        return [change("incident", str(e.originator_id), e, fields_of(e))]

    return build


def _unbound(status: str) -> Any:
    def fields(e: Any) -> Doc:
        return {"status": status, "van_id": None, "station_id": None, "offer_expires_at": None}

    return fields


def _resolved(e: Any) -> Doc:
    fields: Doc = {"outcome": e.outcome, "tow_station_id": e.tow_station_id}
    if e.outcome == "towed":
        fields["status"] = "towing"
    return fields


_BUILDERS: dict[str, Any] = {
    "Station.Registered": _station_registered,
    "Van.Registered": _van_registered,
    "Van.ShiftChanged": _van_fields(lambda e: {"on_duty": e.on_duty}),
    "Van.Offered": _van_fields(lambda e: {"incident_id": e.incident_id, "engaged": False}),
    "Van.Engaged": _van_fields(lambda e: {"engaged": True}),
    "Van.Released": _van_fields(lambda e: {"incident_id": None, "engaged": False}),
    # The console and the van's tablet raise an alarm on this change.
    "Van.SosRaised": _van_fields(
        lambda e: {
            "sos": {
                "alarm": e.alarm,
                "at": e.recorded_at.isoformat(),
                "lat": e.lat,
                "lon": e.lon,
            }
        }
    ),
    "VanTrack.PositionReported": _position_reported,
    "Incident.Reported": _incident_reported,
    "Incident.Offered": _incident_fields(
        lambda e: {
            "status": "offered",
            "van_id": e.van_id,
            "station_id": e.station_id,
            "eta_min": e.eta_min,
            "distance_km": e.distance_km,
            "offer_expires_at": _iso(e.expires_at),
            "offered_at": e.timestamp.isoformat(),
        }
    ),
    "Incident.Queued": _incident_fields(_unbound("queued")),
    "Incident.Declined": _incident_fields(
        lambda e: {**_unbound("reported")(e), "alerts": [f"declined by {e.van_id}: {e.reason}"]}
    ),
    "Incident.OfferExpired": _incident_fields(
        lambda e: {**_unbound("reported")(e), "alerts": [f"offer to {e.van_id} expired"]}
    ),
    "Incident.Accepted": _incident_fields(
        lambda e: {
            "status": "accepted",
            "eta_min": e.eta_min,
            "offer_expires_at": None,
            "accepted_at": e.timestamp.isoformat(),
            "overdue_flagged": False,
        }
    ),
    "Incident.Departed": _incident_fields(lambda e: {"status": "en_route"}),
    "Incident.Arrived": _incident_fields(
        lambda e: {"status": "on_scene", "arrived_at": e.timestamp.isoformat()}
    ),
    "Incident.ArrivalOverdue": _incident_fields(
        lambda e: {
            "alerts": [f"van {e.van_id} not on scene {e.overdue_min:.0f} min after ETA"],
            "overdue_flagged": True,
        }
    ),
    "Incident.Diagnosed": _incident_fields(lambda e: {"cause": e.cause}),
    "Incident.Resolved": _incident_fields(_resolved),
    "Incident.Completed": _incident_fields(
        lambda e: {"status": "completed", "completed_at": e.timestamp.isoformat()}
    ),
    "Incident.Cancelled": _incident_fields(
        lambda e: {"status": "cancelled", "van_id": None, "offer_expires_at": None}
    ),
    "Incident.Closed": _incident_fields(lambda e: {"status": "closed"}),
}


# -- messages between the operator and the crew -------------------------------------------
# A message is a change of its incident's (or van's) document: the console and
# the van's tablet already follow those, and a resumed feed replays them.


def _message(e: Any) -> Doc:
    return {
        "message": {
            "message_id": e.message_id,
            "text": e.text,
            "from": e.actor.get("role"),
            "sender": e.actor.get("name"),
            "van_id": e.actor.get("van_id"),
            "sent_at": e.timestamp.isoformat(),
        }
    }


def _message_read(e: Any) -> Doc:
    return {
        "message_read": {
            "message_id": e.message_id,
            "by": e.actor.get("role"),
            "read_by": e.actor.get("name"),
            "read_at": e.timestamp.isoformat(),
        }
    }


_BUILDERS.update(
    {
        "Incident.MessageSent": _incident_fields(_message),
        "Incident.MessageRead": _incident_fields(_message_read),
        "Van.MessageSent": _van_fields(_message),
        "Van.MessageRead": _van_fields(_message_read),
    }
)
