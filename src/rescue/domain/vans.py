"""Rescue vans: what they carry, where they are based, whether they are free."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from rescue.domain import messages
from rescue.domain.errors import Conflict, Forbidden
from rescue.domain.ids import van_uuid
from rescue.domain.vocabulary import VanStatus


class Van(Aggregate):
    """A van holds at most one incident at a time: offered, then engaged, then released.

    The van's GPS track lives in its own aggregate (`VanTrack`) so that a
    stream of position reports never conflicts with an offer being made. What
    the van's tracker app says that is not a fix (an SOS, a report refused)
    is rare and belongs in the van's own history, so it is recorded here.
    """

    # Why a tracker's report was not used as a fix.
    REFUSALS = ("no_position", "invalid", "unreadable", "too_old", "future", "implausible")

    @staticmethod
    def create_id(van_id: str, **_: Any) -> Any:
        return van_uuid(van_id)

    @event("Registered")
    def __init__(
        self,
        van_id: str,
        call_sign: str,
        station_id: str,
        capabilities: list[str],
        actor: dict[str, Any],
    ) -> None:
        self.van_id = van_id
        self.call_sign = call_sign
        self.station_id = station_id
        self.capabilities = list(capabilities)
        self.on_duty = False
        self.incident_id: str | None = None
        self.engaged = False

    @property
    def status(self) -> VanStatus:
        if self.incident_id is not None:
            return VanStatus.BUSY if self.engaged else VanStatus.OFFERED
        return VanStatus.AVAILABLE if self.on_duty else VanStatus.OFF_DUTY

    @property
    def is_free(self) -> bool:
        return self.status is VanStatus.AVAILABLE

    def as_public(self) -> dict[str, Any]:
        return {
            "van_id": self.van_id,
            "call_sign": self.call_sign,
            "station_id": self.station_id,
            "capabilities": self.capabilities,
            "on_duty": self.on_duty,
            "status": self.status.value,
            "incident_id": self.incident_id,
        }

    def change_shift(self, on_duty: bool, actor: dict[str, Any]) -> None:
        """Off duty means no new offers; an offer or a job the van holds stays its own
        to answer or finish (a station taken out of service mid-job), after which the
        van is off duty rather than free."""
        if on_duty == self.on_duty:
            return
        self._shift_changed(on_duty=on_duty, actor=actor)

    @event("ShiftChanged")
    def _shift_changed(self, on_duty: bool, actor: dict[str, Any]) -> None:
        self.on_duty = on_duty

    def offer(self, incident_id: str, actor: dict[str, Any]) -> None:
        if not self.is_free:
            raise Conflict(
                f"van {self.van_id} is {self.status.value}, not available",
                self.as_public(),
            )
        self._offered(incident_id=incident_id, actor=actor)

    @event("Offered")
    def _offered(self, incident_id: str, actor: dict[str, Any]) -> None:
        self.incident_id = incident_id
        self.engaged = False

    def engage(self, incident_id: str, actor: dict[str, Any]) -> None:
        self._require_holding(incident_id)
        self._engaged(incident_id=incident_id, actor=actor)

    @event("Engaged")
    def _engaged(self, incident_id: str, actor: dict[str, Any]) -> None:
        self.engaged = True

    def release(self, incident_id: str, reason: str, actor: dict[str, Any]) -> None:
        self._require_holding(incident_id)
        self._released(incident_id=incident_id, reason=reason, actor=actor)

    @event("Released")
    def _released(self, incident_id: str, reason: str, actor: dict[str, Any]) -> None:
        self.incident_id = None
        self.engaged = False

    def _require_holding(self, incident_id: str) -> None:
        if self.incident_id != incident_id:
            raise Conflict(
                f"van {self.van_id} does not hold incident {incident_id}", self.as_public()
            )

    def refuse_fix(
        self, kind: str, reason: str, received: dict[str, Any], actor: dict[str, Any]
    ) -> None:
        """Records a tracker's report that was acknowledged to the device but not used.

        The device retries a report until it is acknowledged, so one the server will
        never use is acknowledged anyway and kept here: `kind` (one of REFUSALS),
        `reason` (for people) and the protocol fields as `received` (never the
        device's token).
        """
        if kind not in self.REFUSALS:
            raise ValueError(f"unknown refusal kind {kind!r}")
        self._fix_refused(kind=kind, reason=reason, received=received, actor=actor)

    @event("FixRefused")
    def _fix_refused(
        self, kind: str, reason: str, received: dict[str, Any], actor: dict[str, Any]
    ) -> None:
        pass

    @event("SosRaised")
    def raise_sos(
        self,
        alarm: str,
        lat: float | None,
        lon: float | None,
        recorded_at: datetime,
        actor: dict[str, Any],
    ) -> None:
        """The crew pressed their tracker app's SOS button; where, if it is known."""

    # -- messages between the operator and the crew, not about one job ------------

    class MessageSent(messages.MessageSent):
        pass

    class MessageRead(messages.MessageRead):
        pass

    def _require_own_crew(self, actor: dict[str, Any]) -> None:
        if actor["role"] == "crew" and actor.get("van_id") != self.van_id:
            raise Forbidden(f"this crew acts for van {actor.get('van_id')}, not {self.van_id}")

    def send_message(self, message_id: str, text: str, actor: dict[str, Any]) -> None:
        """The operator writes to this van's crew, or its crew to the operator."""
        messages.side_of(actor["role"])
        self._require_own_crew(actor)
        self.trigger_event(
            self.MessageSent, message_id=message_id, text=messages.check_text(text), actor=actor
        )

    def read_message(self, message_id: str, actor: dict[str, Any]) -> bool:
        """Records that the other side read a message; False when it was read already."""
        self._require_own_crew(actor)
        message = messages.find(messages.messages_of(self), message_id)
        if not messages.check_reader(message, actor["role"]):
            return False
        self.trigger_event(self.MessageRead, message_id=message_id, actor=actor)
        return True
