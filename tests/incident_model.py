"""A plain model of incidents and vans: what the rules of an incident's life say must happen.

The stateful test (`tests/integration/test_incident_machine.py`) asks this
model what each command should do (be accepted, or refused as forbidden, in
conflict with the current state, or invalid) and what the incidents and vans
must look like afterwards, then checks the real server against it. The model
knows nothing of events, stores or HTTP: only statuses, which van holds which
incident, and the dispatch rule on a line of stations (nearer is a smaller
latitude difference, since every station and call is on one meridian).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# What each step answers: accepted (2xx) or refused, and why.
OK, FORBIDDEN, CONFLICT, INVALID = "ok", "forbidden", "conflict", "invalid"

OPERATOR, AUDITOR, ADMIN = "operator", "auditor", "admin"
CREW_STEPS = ("accept", "decline", "depart", "arrive", "diagnose", "resolve", "complete")
# Statuses a step may start from (the life of an incident, docs/domain.md).
STEP_FROM: dict[str, frozenset[str]] = {
    "accept": frozenset({"offered"}),
    "decline": frozenset({"offered"}),
    "depart": frozenset({"accepted"}),
    "arrive": frozenset({"en_route"}),
    "diagnose": frozenset({"on_scene"}),
    "resolve": frozenset({"on_scene"}),
    "complete": frozenset({"on_scene", "towing"}),
    "cancel": frozenset({"reported", "queued", "offered", "accepted", "en_route", "on_scene"}),
    "close": frozenset({"completed"}),
}
FINAL = frozenset({"closed", "cancelled"})


def crew_of(van_id: str) -> str:
    return f"crew:{van_id}"


def van_of(who: str) -> str | None:
    return who.split(":", 1)[1] if who.startswith("crew:") else None


@dataclass
class VanModel:
    van_id: str
    lat: float
    capabilities: frozenset[str]
    on_duty: bool = True
    incident_id: str | None = None
    engaged: bool = False

    @property
    def free(self) -> bool:
        return self.on_duty and self.incident_id is None


@dataclass
class IncidentModel:
    incident_id: str
    lat: float
    capability: str
    priority: int
    seq: int
    status: str = "reported"
    van_id: str | None = None
    declined: list[str] = field(default_factory=list)
    resolved: bool = False
    expires_at: datetime | None = None


@dataclass
class Model:
    vans: dict[str, VanModel]
    offer_timeout_s: float
    now: datetime
    incidents: dict[str, IncidentModel] = field(default_factory=dict)
    # Offers waiting for an answer, in the order the timer goes through them: by when each
    # incident was first offered (a re-offer keeps its place, as in a dict).
    offer_due: dict[str, datetime] = field(default_factory=dict)

    # -- the dispatch rule --------------------------------------------------------------

    def nearest_free(self, incident: IncidentModel) -> VanModel | None:
        capable = [
            v
            for v in self.vans.values()
            if v.free
            and incident.capability in v.capabilities
            and v.van_id not in incident.declined
        ]
        return min(capable, key=lambda v: abs(v.lat - incident.lat), default=None)

    def _offer(self, incident: IncidentModel, van: VanModel) -> None:
        if incident.status == "offered" and incident.van_id not in (None, van.van_id):
            self._release(incident.van_id)  # withdrawn from the van it was offered to
        incident.status, incident.van_id = "offered", van.van_id
        incident.expires_at = self.now + timedelta(seconds=self.offer_timeout_s)
        self.offer_due[incident.incident_id] = incident.expires_at
        van.incident_id, van.engaged = incident.incident_id, False

    def _unbind(self, incident: IncidentModel, status: str) -> None:
        incident.status, incident.van_id, incident.expires_at = status, None, None
        self.offer_due.pop(incident.incident_id, None)

    def _release(self, van_id: str) -> None:
        van = self.vans[van_id]
        van.incident_id, van.engaged = None, False

    def _plan_offer(self, incident: IncidentModel) -> None:
        van = self.nearest_free(incident)
        if van is not None:
            self._offer(incident, van)
        elif incident.status != "queued":
            self._unbind(incident, "queued")

    def offer_queued(self) -> None:
        """Queued calls, most urgent then oldest first, each to its nearest capable free van."""
        waiting = sorted(
            (i for i in self.incidents.values() if i.status == "queued"),
            key=lambda i: (i.priority, i.seq),
        )
        for incident in waiting:
            if not any(v.free for v in self.vans.values()):
                break
            self._plan_offer(incident)

    # -- commands: each returns the expected outcome and applies it if accepted ----------

    def report(
        self, who: str, incident_id: str | None, lat: float, capability: str, priority: int
    ) -> str:
        if who != OPERATOR:
            return FORBIDDEN
        if incident_id is not None:
            self.incidents[incident_id] = IncidentModel(
                incident_id, lat, capability, priority, seq=len(self.incidents)
            )
        return OK

    def dispatch(self, who: str, incident_id: str) -> str:
        """Dispatch to the nearest capable van (no van named)."""
        incident = self.incidents[incident_id]
        if who != OPERATOR:
            return FORBIDDEN
        if incident.status not in ("reported", "queued"):
            return CONFLICT
        self._plan_offer(incident)
        return OK

    def override(self, who: str, incident_id: str, van_id: str, reason: str | None) -> str:
        incident = self.incidents[incident_id]
        if who != OPERATOR:
            return FORBIDDEN
        if not reason or van_id not in self.vans:
            return INVALID
        van = self.vans[van_id]
        if incident.capability not in van.capabilities or not van.free:
            return CONFLICT
        if incident.status not in ("reported", "queued", "offered"):
            return CONFLICT
        withdrawn = incident.status == "offered"
        self._offer(incident, van)
        if withdrawn:
            # The van the offer was taken from is free again: queued calls may have it.
            self.offer_queued()
        return OK

    def step(self, who: str, incident_id: str, action: str, *, valid: bool = True) -> str:
        """A crew step (accept ... complete) or an operator step (cancel, close).

        `valid` False means the body breaks a rule of the input (422), checked after the role.
        """
        incident = self.incidents[incident_id]
        crew_step = action in CREW_STEPS
        if crew_step != (van_of(who) is not None) or (not crew_step and who != OPERATOR):
            return FORBIDDEN
        if not valid:
            return INVALID
        if crew_step and incident.van_id != van_of(who):
            return FORBIDDEN  # another van's crew: the incident is not with that van
        if incident.status not in STEP_FROM[action]:
            return CONFLICT
        if action == "complete" and not incident.resolved:
            return CONFLICT
        getattr(self, f"_{action}")(incident)
        return OK

    def _accept(self, incident: IncidentModel) -> None:
        incident.status, incident.expires_at = "accepted", None
        self.offer_due.pop(incident.incident_id, None)
        assert incident.van_id is not None
        self.vans[incident.van_id].engaged = True

    def _decline(self, incident: IncidentModel) -> None:
        self._move_on(incident)
        self.offer_queued()

    def _move_on(self, incident: IncidentModel) -> None:
        """The offered van is released and excluded; the call is offered to the next one."""
        assert incident.van_id is not None
        van_id = incident.van_id
        self._release(van_id)
        incident.declined.append(van_id)
        self._unbind(incident, "reported")
        self._plan_offer(incident)

    def _depart(self, incident: IncidentModel) -> None:
        incident.status = "en_route"

    def _arrive(self, incident: IncidentModel) -> None:
        incident.status = "on_scene"

    def _diagnose(self, incident: IncidentModel) -> None:
        pass

    def resolve(self, who: str, incident_id: str, towed: bool, tow_station_known: bool) -> str:
        if van_of(who) is not None and towed and not tow_station_known:
            return INVALID  # the tow station is checked before the incident's state
        expected = self.step(who, incident_id, "resolve")
        if expected == OK:
            incident = self.incidents[incident_id]
            incident.resolved = True
            if towed:
                incident.status = "towing"
        return expected

    def _resolve(self, incident: IncidentModel) -> None:
        pass  # the outcome is applied by `resolve`, which knows it

    def _complete(self, incident: IncidentModel) -> None:
        incident.status = "completed"
        assert incident.van_id is not None
        self._release(incident.van_id)
        self.offer_queued()

    def _cancel(self, incident: IncidentModel) -> None:
        if incident.status in ("offered", "accepted", "en_route", "on_scene"):
            assert incident.van_id is not None
            self._release(incident.van_id)
        incident.status, incident.expires_at = "cancelled", None
        self.offer_due.pop(incident.incident_id, None)
        self.offer_queued()

    def _close(self, incident: IncidentModel) -> None:
        incident.status = "closed"

    def shift(self, who: str, van_id: str, on_duty: bool) -> str:
        if who not in (OPERATOR, ADMIN) and van_of(who) != van_id:
            return FORBIDDEN
        self.vans[van_id].on_duty = on_duty
        if on_duty:
            self.offer_queued()
        return OK

    def tick(self, seconds: float) -> None:
        """Time passes; the server's timer moves every offer left unanswered on to the next van."""
        self.now += timedelta(seconds=seconds)
        for incident_id, due in list(self.offer_due.items()):
            if due > self.now:
                continue
            self._move_on(self.incidents[incident_id])
        self.offer_queued()
