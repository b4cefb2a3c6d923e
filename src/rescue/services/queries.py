"""Reading one incident from the store: as it stands, its history, and its events as records.

The caller's name and phone are stored sealed; they are opened only for a
reader the API allows to see them (`with_caller`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from rescue.domain.incidents import Incident
from rescue.services.jsonable import jsonable
from rescue.services.runner import CommandRunner
from rescue.store.privacy import PersonalData

# Fields every stored event has; a record shows them as version, type and time instead.
_ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")


class IncidentQueries:
    def __init__(self, runner: CommandRunner, privacy: PersonalData) -> None:
        self.runner = runner
        self.store = runner.store
        self.privacy = privacy

    def incident(self, incident_id: str) -> Incident:
        return self.runner.incident(incident_id)

    def incident_details(self, incident_id: str, *, with_caller: bool) -> dict[str, Any]:
        incident = self.runner.incident(incident_id)
        public = incident.as_public()
        if with_caller:
            public["caller"] = self.privacy.open(incident.sealed_caller)
        return public

    def history(
        self, incident_id: str, as_of: datetime | None, *, with_caller: bool
    ) -> dict[str, Any]:
        incident = self.runner.incident(incident_id)
        events = []
        version_at: int | None = None
        domain_event: Any
        for domain_event in self.store.events.get(incident.id):
            if as_of is not None and domain_event.timestamp > as_of:
                break
            events.append(self.event_record(domain_event, with_caller=with_caller))
            version_at = domain_event.originator_version
        state: dict[str, Any] | None = None
        if version_at is not None:
            then: Incident = self.store.repository.get(incident.id, version=version_at)
            state = then.as_public()
            state["last_dispatch"] = then.last_dispatch  # the candidates known then
            if with_caller:
                state["caller"] = self.privacy.open(then.sealed_caller)
        return {
            "incident_id": incident_id,
            "as_of": as_of.isoformat() if as_of else None,
            "events": events,
            "state": state,
        }

    def event_records(self, aggregate_id: UUID, *, with_caller: bool) -> list[dict[str, Any]]:
        """Every event of one aggregate, oldest first, as `event_record` shows it."""
        return [
            self.event_record(e, with_caller=with_caller)
            for e in self.store.events.get(aggregate_id)
        ]

    def event_record(self, domain_event: Any, *, with_caller: bool) -> dict[str, Any]:
        """One event as a reader sees it: version, type, time, actor and its own fields."""
        data = {k: v for k, v in domain_event.__dict__.items() if k not in _ENVELOPE}
        actor = data.pop("actor", None)
        if "sealed_caller" in data:
            sealed = data.pop("sealed_caller")
            if with_caller:
                data["caller"] = self.privacy.open(sealed)
        return {
            "version": domain_event.originator_version,
            "type": type(domain_event).__qualname__.split(".")[-1],
            "at": domain_event.timestamp.isoformat(),
            "actor": actor,
            "data": jsonable(data),
        }
