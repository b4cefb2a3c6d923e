"""What a customer's tracking page shows: the help's progress in the customer's terms.

Built from the live board (the incident's and its van's documents, kept in
memory) and from the incident's report (its fault and the place's safety
facts, read once: they never change). Nothing that names the caller or the
vehicle is in it: no name, phone, VIN or plate, no crew member, no van id,
only the van's call sign painted on its side.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from rescue.domain.dispatch import geodesic_km
from rescue.services.clock import Clock
from rescue.services.runner import CommandRunner
from rescue.services.tracking_links import IncidentsBoard
from rescue.settings import Settings

# The incident's statuses as the customer understands them.
CUSTOMER_STATUS = {
    "reported": "finding_van",
    "queued": "finding_van",
    "offered": "finding_van",
    "accepted": "on_the_way",
    "en_route": "on_the_way",
    "on_scene": "arrived",
    "towing": "towing",
    "completed": "completed",
    "closed": "completed",
    "cancelled": "cancelled",
}
# The van's place is shown from acceptance until the job on the spot is done.
VAN_SHOWN = frozenset({"on_the_way", "arrived", "towing"})
FACTS_HELD = 10_000

# What to do while waiting, by fault and by place; the page words each key.
ADVICE_BY_FAULT = {
    "battery": ["battery_no_jump_strangers"],
    "flat_tire": ["tire_no_change_on_traffic_side"],
    "out_of_fuel": ["fuel_do_not_walk_on_road"],
    "lockout": ["lockout_stay_near_vehicle"],
    "engine_failure": ["engine_do_not_restart"],
    "overheating": ["overheating_do_not_open_radiator"],
    "transmission": ["engine_do_not_restart"],
    "electrical": ["electrical_smoke_leave_vehicle"],
    "accident": ["accident_do_not_move_injured", "accident_photos_if_safe"],
    "other": [],
}


def advice_for(category: str, safety: dict[str, Any]) -> list[str]:
    """Safety advice keys for a fault at a place, most important first."""
    advice = ["hazard_lights"]
    if safety.get("on_expressway"):
        # On an expressway the car is the danger: everyone out, behind the barrier.
        advice += ["expressway_behind_barrier", "warning_triangle_150m", "call_122_if_in_lane"]
    else:
        advice += ["warning_triangle_50m", "wait_off_the_road"]
    if safety.get("at_night"):
        advice.append("night_reflective_vest")
    if safety.get("injury"):
        advice.insert(0, "injury_call_120")
    if safety.get("vulnerable") or safety.get("passengers"):
        advice.append("passengers_keep_together")
    advice += ADVICE_BY_FAULT.get(category, [])
    return advice


class TrackingStatus:
    def __init__(
        self, runner: CommandRunner, board: IncidentsBoard, settings: Settings, clock: Clock
    ) -> None:
        self.runner = runner
        self.board = board
        self.clock = clock
        self.params = settings.dispatch_params()
        self._facts: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def status(self, incident_id: str) -> dict[str, Any]:
        """The page's data: {status, call_sign, eta_min, van, updated_at} and what to do."""
        facts = self._facts_of(incident_id)
        with self.board.lock:
            doc = dict(self.board.incidents.get(incident_id) or {})
            van = dict(self.board.vans.get(doc.get("van_id") or "") or {})
            tow_to = self.board.stations.get(doc.get("tow_station_id") or "")
            tow_to_name = tow_to.get("name") if tow_to else None
        status = CUSTOMER_STATUS.get(doc.get("status") or "reported", "finding_van")
        shown = status in VAN_SHOWN and bool(van)
        van_place = None
        if shown and van.get("lat") is not None and van.get("lon") is not None:
            van_place = {"lat": van["lat"], "lon": van["lon"], "at": van.get("position_at")}
        times = [doc.get(k) for k in ("reported_at", "offered_at", "accepted_at", "arrived_at")]
        times += [doc.get("completed_at"), van_place["at"] if van_place else None]
        return {
            "status": status,
            "call_sign": van.get("call_sign") if shown else None,
            "eta_min": self._eta_min(status, doc, van_place, facts),
            "van": van_place,
            "updated_at": max((t for t in times if t), default=None),
            "site": {"lat": facts["lat"], "lon": facts["lon"]},
            "tow_to": tow_to_name if status == "towing" else None,
            "advice": advice_for(facts["category"], facts["safety"]),
        }

    def _eta_min(
        self,
        status: str,
        doc: dict[str, Any],
        van_place: dict[str, Any] | None,
        facts: dict[str, Any],
    ) -> float | None:
        """Minutes until the van arrives: from its latest fix when fresh, else the promised ETA."""
        if status != "on_the_way":
            return None
        now = self.clock()
        if van_place is not None and van_place["at"]:
            age_s = max(0.0, (now - datetime.fromisoformat(van_place["at"])).total_seconds())
            if age_s <= self.params.position_max_age_s:
                km = geodesic_km(van_place["lat"], van_place["lon"], facts["lat"], facts["lon"])
                minutes = km * self.params.circuity / self.params.speed_kmh * 60
                return round(max(0.0, minutes - age_s / 60), 1)
        if doc.get("accepted_at") and doc.get("eta_min") is not None:
            since = datetime.fromisoformat(doc["accepted_at"])
            elapsed = max(0.0, (now - since).total_seconds() / 60)
            return round(max(0.0, float(doc["eta_min"]) - elapsed), 1)
        return None

    def _facts_of(self, incident_id: str) -> dict[str, Any]:
        with self._lock:
            facts = self._facts.get(incident_id)
        if facts is None:
            incident = self.runner.incident(incident_id)
            facts = {
                "category": str(incident.fault.get("category", "other")),
                "safety": dict(incident.safety),
                "lat": incident.location["lat"],
                "lon": incident.location["lon"],
            }
            with self._lock:
                self._facts[incident_id] = facts
                while len(self._facts) > FACTS_HELD:
                    self._facts.popitem(last=False)
        return facts
