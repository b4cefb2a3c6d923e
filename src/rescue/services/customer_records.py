"""The customer's record at intake: earlier incidents of a phone number or a VIN.

As the operator types a caller's phone or a VIN, the earlier incidents of
that caller or vehicle come up (date, fault, outcome, open complaint,
follow-up score) with the vehicle's warranty standing, so a repeat breakdown
is recognised at once.

Callers' phones are sealed in the log, so they are found through an index
kept in this process: the SHA-256 of each normalised phone, and each VIN, to
the incidents reported with it. The index is brought up to date at each
look-up by reading only the reports recorded since the last one (by their
topic), so it costs one pass over the reports once per process and a few
rows after that. The phone itself is never kept, logged, or put in a URL: it
arrives in a request body.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from eventsourcing.utils import get_topic

from rescue.domain.errors import Invalid
from rescue.domain.followups import Complaint, FollowUp, complaint_uuid, followup_uuid
from rescue.domain.incidents import Incident
from rescue.domain.validation import check_phone
from rescue.domain.warranty import WarrantyPolicy, last_covered_day, months_in_service
from rescue.services.clock import Clock
from rescue.services.runner import CommandRunner
from rescue.services.tracking_links import IncidentsBoard
from rescue.store.legacy_topics import legacy_topic
from rescue.store.privacy import MissingKey, PersonalData

# The newest incidents shown for one phone or VIN.
SHOWN = 20
# Reports read from the log per query while the index catches up.
PAGE = 1000


def _phone_key(phone: str) -> str:
    return hashlib.sha256(phone.encode()).hexdigest()


def _indexed_phone(phone: object) -> str | None:
    """The index key of a stored caller's phone; None for an erased caller's."""
    if not isinstance(phone, str):
        return None
    try:
        return _phone_key(check_phone(phone))
    except ValueError:
        return None


class CustomerRecords:
    def __init__(
        self,
        runner: CommandRunner,
        privacy: PersonalData,
        board: IncidentsBoard,
        clock: Clock,
        policy: WarrantyPolicy | None = None,
    ) -> None:
        self.runner = runner
        self.privacy = privacy
        self.board = board
        self.clock = clock
        self._policy = policy
        self._by_phone: dict[str, list[str]] = defaultdict(list)
        self._by_vin: dict[str, list[str]] = defaultdict(list)
        self._vehicles: dict[str, dict[str, Any]] = {}  # VIN -> as last reported
        self._read_to = 0
        self._lock = threading.Lock()
        topic = get_topic(Incident.Reported)  # type: ignore[attr-defined]  # made by @event
        self._topics = [topic, *filter(None, [legacy_topic(topic)])]

    @property
    def policy(self) -> WarrantyPolicy:
        if self._policy is None:
            self._policy = WarrantyPolicy.load()
        return self._policy

    def lookup(
        self, phone: str | None = None, vin: str | None = None, odometer_km: int | None = None
    ) -> dict[str, Any]:
        """Earlier incidents of a phone or a VIN (or both), newest first, and the warranty."""
        if not phone and not vin:
            raise Invalid("phone", "give a phone number or a VIN")
        phone_key = None
        if phone:
            try:
                phone_key = _phone_key(check_phone(phone))
            except ValueError:
                # The message would repeat the number: say what is wrong without it.
                raise Invalid(
                    "phone",
                    "not a phone number: expected a Chinese mobile, "
                    "landline with area code, or 400/800 number",
                ) from None
        vin_key = vin.strip().upper() if vin else None
        self._catch_up(with_phones=phone_key is not None)
        with self._lock:
            found = set(self._by_phone.get(phone_key, [])) if phone_key else set()
            if vin_key:
                found |= set(self._by_vin.get(vin_key, []))
            vehicle = dict(self._vehicles.get(vin_key, {})) if vin_key else {}
        incidents = sorted(
            (self._incident(i) for i in found), key=lambda i: i["reported_at"], reverse=True
        )[:SHOWN]
        if not vehicle and incidents:
            with self._lock:
                vehicle = dict(self._vehicles.get(incidents[0]["vin"], {}))
        if odometer_km is not None and vehicle:
            vehicle["odometer_km"] = odometer_km
        for incident in incidents:
            del incident["vin"]  # the operator typed it, or it is in the vehicle below
        return {
            "incidents": incidents,
            "vehicle": vehicle or None,
            "warranty": self._warranty(vehicle) if vehicle else None,
        }

    # -- the index ----------------------------------------------------------------------

    def _catch_up(self, *, with_phones: bool) -> None:
        recorder = self.runner.store.recorder
        mapper = self.runner.store.mapper
        while True:
            with self._lock:
                start = self._read_to
            rows = recorder.select_notifications(
                start=start, limit=PAGE, topics=self._topics, inclusive_of_start=False
            )
            if not rows:
                return
            entries = []
            for row in rows:
                event: Any = mapper.to_domain_event(row)
                incident_id = str(event.originator_id)
                try:
                    opened = self.privacy.open(event.sealed_caller)
                except MissingKey:
                    if with_phones:
                        raise
                    opened = {}
                caller_phone = opened.get("phone")
                entries.append((incident_id, caller_phone, event.vehicle))
            with self._lock:
                if self._read_to != start:
                    continue  # another look-up read the same rows meanwhile
                for incident_id, caller_phone, vehicle in entries:
                    key = _indexed_phone(caller_phone)
                    if key is not None:
                        self._by_phone[key].append(incident_id)
                    vin = str(vehicle.get("vin", "")).upper()
                    if vin:
                        self._by_vin[vin].append(incident_id)
                        self._vehicles[vin] = {
                            k: vehicle.get(k)
                            for k in ("vin", "model_series", "sold_on", "odometer_km")
                        }
                self._read_to = rows[-1].id

    # -- one incident ---------------------------------------------------------------------

    def _incident(self, incident_id: str) -> dict[str, Any]:
        with self.board.lock:
            doc = dict(self.board.incidents.get(incident_id) or {})
        complaint_open = False
        if self.runner.exists(complaint_uuid(incident_id)):
            complaint: Complaint = self.runner.load(complaint_uuid(incident_id), "complaint")
            complaint_open = complaint.status != "closed"
        score = None
        if self.runner.exists(followup_uuid(incident_id)):
            followup: FollowUp = self.runner.load(followup_uuid(incident_id), "follow-up")
            if followup.outcome is not None:
                score = followup.outcome.get("satisfaction")
        return {
            "incident_id": incident_id,
            "reported_at": doc.get("reported_at") or "",
            "category": doc.get("category"),
            "place": doc.get("place"),
            "status": doc.get("status"),
            "outcome": doc.get("outcome"),
            "complaint_open": complaint_open,
            "followup_score": score,
            "vin": doc.get("vin"),
        }

    # -- warranty -------------------------------------------------------------------------

    def _warranty(self, vehicle: dict[str, Any]) -> dict[str, Any] | None:
        """Months and km left of each scope of the vehicle's series, by the policy table."""
        series, sold_on = vehicle.get("model_series"), vehicle.get("sold_on")
        if not series or not sold_on or not self.policy.knows(str(series)):
            return None
        sold = date.fromisoformat(str(sold_on)[:10])
        today = self._today()
        odometer = vehicle.get("odometer_km")
        scopes = []
        for limit in self.policy.series[str(series).strip().upper()]:
            until = last_covered_day(sold, limit.months)
            used = months_in_service(sold, today) if today >= sold else 0
            km_left = limit.mileage_km - int(odometer) if odometer is not None else None
            in_time = today <= until
            scopes.append(
                {
                    "scope": limit.scope,
                    "until": until.isoformat(),
                    "months_left": max(0, limit.months - used) if in_time else 0,
                    "km_left": max(0, km_left) if km_left is not None else None,
                    "covered": in_time and (km_left is None or km_left > 0),
                }
            )
        return {"series": str(series).upper(), "sold_on": sold.isoformat(), "scopes": scopes}

    def _today(self) -> date:
        now: datetime = self.clock()
        return now.date()
