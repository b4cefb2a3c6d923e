"""Dispatch and offers: reporting an incident, choosing its van, and the offer timers.

The nearest capable free vans come from the live board's fleet index; the
aggregates decide, since the board may be a moment behind the store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.dispatch import Candidate, VanSnapshot, measure
from rescue.domain.errors import Conflict, Invalid
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.ids import van_uuid
from rescue.domain.incidents import Incident
from rescue.domain.likely_parts import LikelyParts, PartsRanking, rank_by_parts
from rescue.domain.priority import SafetyFacts, priority_for, priority_reasons
from rescue.domain.vans import Van
from rescue.domain.vocabulary import CAPABILITY_FOR_FAULT, FaultCategory, IncidentStatus
from rescue.services.board import LiveBoard
from rescue.services.clock import Clock
from rescue.services.eta import EtaService
from rescue.services.jsonable import jsonable
from rescue.services.parts import carrying
from rescue.services.runner import CommandRunner, Decision
from rescue.services.tracking_links import TrackingLinks
from rescue.services.upkeep import UpkeepService
from rescue.settings import Settings
from rescue.store.privacy import PersonalData


class DispatchService:
    def __init__(
        self,
        runner: CommandRunner,
        board: LiveBoard,
        settings: Settings,
        privacy: PersonalData,
        clock: Clock,
        etas: EtaService | None = None,
        links: TrackingLinks | None = None,
        upkeep: UpkeepService | None = None,
    ) -> None:
        self.runner = runner
        self.board = board
        self.settings = settings
        self.params = settings.dispatch_params()
        self.privacy = privacy
        self.clock = clock
        # Travel times learned from the log; without it every ETA is the fixed rule's.
        self.etas = etas
        # Issues the customer's tracking link with the incident's first offer.
        self.links = links
        self.likely_parts = LikelyParts.load(settings.likely_parts)
        # The vans' own maintenance: a van past its service interval is flagged.
        self.upkeep = upkeep

    # -- commands -------------------------------------------------------------------

    def report_incident(
        self, report: dict[str, Any], actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Result:
        category = FaultCategory(report["fault"]["category"])
        safety = SafetyFacts(**report.get("safety", {}))
        capability = CAPABILITY_FOR_FAULT[category]
        # Sealed once, outside the retry loop: the same ciphertext is stored
        # whichever attempt lands.
        sealed = self.privacy.seal(report["caller"])

        def decide() -> Decision:
            incident = Incident(
                sealed_caller=sealed,
                vehicle=jsonable(report["vehicle"]),
                location=report["location"],
                fault=report["fault"],
                safety=report.get("safety", {}),
                priority=priority_for(category, safety),
                priority_reasons=priority_reasons(category, safety),
                capability=capability.value,
                actor=actor.as_dict(),
            )
            recommendations = self.rank(incident)
            return [incident], Result(
                {
                    "incident_id": str(incident.id),
                    "status": incident.status.value,
                    "priority": incident.priority,
                    "priority_reasons": incident.priority_reasons,
                    "capability": incident.capability,
                    "recommendations": self._candidate_dicts(recommendations),
                },
                created=True,
            )

        return self.runner.run(idempotency, decide)

    def dispatch(
        self,
        incident_id: str,
        actor: Actor,
        van_id: str | None = None,
        reason: str | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        def decide() -> Decision:
            incident = self.runner.incident(incident_id)
            if van_id is None:
                if incident.status not in (IncidentStatus.REPORTED, IncidentStatus.QUEUED):
                    raise Conflict(
                        f"incident is {incident.status.value}: to send another van, "
                        "name it (van_id) and give a reason",
                        incident.as_public(),
                    )
                changed = self.plan_offer(incident, actor, "nearest")
            else:
                changed = self._plan_override(incident, van_id, reason, actor)
            return changed, Result(incident.as_public())

        result = self.runner.run(idempotency, decide)
        if van_id is not None:
            # An override may withdraw the offer from another van, which is then free:
            # queued calls get it now, as after any other release, not at the next timer tick.
            self.offer_queued()
        return result

    def offer_queued(self) -> int:
        """Offers queued incidents, most urgent then oldest first, while vans are free."""
        offered = 0
        for waiting in self.board.queued():
            if not self.board.free_vans_exist():
                break

            def decide(incident_id: str = waiting["incident_id"]) -> Decision:
                incident = self.runner.incident(incident_id)
                if incident.status is not IncidentStatus.QUEUED:
                    return [], Result(incident.as_public())
                changed = self.plan_offer(incident, SYSTEM_ACTOR, "queue")
                return changed, Result(incident.as_public())

            result = self.runner.run(None, decide)
            if result.body["status"] == IncidentStatus.OFFERED:
                offered += 1
        return offered

    def expire_due_offers(self) -> int:
        """Moves every offer left unanswered past its time on to the next nearest van."""
        now = self.clock()
        moved = 0
        for due in self.board.offers_due(now):

            def decide(incident_id: str = due) -> Decision:
                incident = self.runner.incident(incident_id)
                if (
                    incident.status is not IncidentStatus.OFFERED
                    or incident.offer_expires_at is None
                    or incident.offer_expires_at > now
                ):
                    return [], Result(incident.as_public())
                van_id = incident.expire_offer(now, SYSTEM_ACTOR.as_dict())
                van = self.runner.van(van_id)
                van.release(incident_id, "offer expired", SYSTEM_ACTOR.as_dict())
                changed = [van, *self.plan_offer(incident, SYSTEM_ACTOR, "reoffer")]
                return changed, Result(incident.as_public())

            self.runner.run(None, decide)
            moved += 1
        return moved

    def flag_overdue_arrivals(self, margin_min: float) -> int:
        """Records an alert for each accepted job whose van is not on scene by ETA plus margin."""
        flagged = 0
        for incident_id, van_id, minutes in self.board.arrivals_overdue(self.clock(), margin_min):

            def decide(
                incident_id: str = incident_id, van_id: str = van_id, minutes: float = minutes
            ) -> Decision:
                incident = self.runner.incident(incident_id)
                if not incident.flag_overdue(van_id, minutes, SYSTEM_ACTOR.as_dict()):
                    return [], Result({})
                return [incident], Result({})

            self.runner.run(None, decide)
            flagged += 1
        return flagged

    # -- choosing a van ---------------------------------------------------------------

    def recommend(self, incident: Incident) -> list[Candidate]:
        """The capable free vans for an incident, within the dispatch range, in offer order."""
        return self.rank(incident).candidates

    def rank(self, incident: Incident) -> PartsRanking:
        """The nearest capable free vans, a van carrying the fault's likely parts counting
        the parts margin nearer (rescue.domain.likely_parts)."""
        likely = self.likely_parts.for_fault(
            str(incident.fault.get("category")), incident.vehicle.get("model_series")
        )
        k = self.params.k
        # A carrying van may be further down the nearest-van list than the first k.
        wide = max(k, self.settings.parts_candidates) if likely else k
        index = self.board.fleet_index(self.clock(), self.params)
        candidates = index.nearest(
            incident.location["lat"],
            incident.location["lon"],
            incident.capability,
            k=wide,
            exclude=incident.declined_van_ids,
        )
        in_range = [c for c in candidates if c.distance_km <= self.settings.max_dispatch_km]
        candidates = self._with_etas(in_range, incident)
        carries: dict[str, bool] = {}
        if likely and candidates:
            carries = carrying(self.runner, [c.van_id for c in candidates], likely)
        return rank_by_parts(candidates, carries, likely, self.settings.parts_margin_min, k)

    def _candidate_dicts(self, ranking: PartsRanking) -> list[dict[str, Any]]:
        """The ranked candidates as recorded and shown, each saying if it is past its service."""
        rows = ranking.as_dicts()
        due = self.upkeep.past_due([r["van_id"] for r in rows]) if self.upkeep else set()
        return [{**r, "maintenance_due": r["van_id"] in due} for r in rows]

    def _with_etas(self, candidates: list[Candidate], incident: Incident) -> list[Candidate]:
        if self.etas is None:
            return candidates
        site = incident.location
        return self.etas.annotate(candidates, site["lat"], site["lon"], self.clock())

    def plan_offer(self, incident: Incident, actor: Actor, mode: str) -> list[Aggregate]:
        """Offers the incident to the first capable free van of the ranking, or queues it."""
        ranking = self.rank(incident)
        decision = self._decision(incident, ranking, mode, None)
        for candidate in ranking.candidates:
            van = self.runner.van(candidate.van_id)
            # The live view may be a moment behind; the aggregate decides.
            if not van.is_free or incident.capability not in van.capabilities:
                continue
            return self._offer_to(incident, van, candidate, decision, actor)
        incident.queue(decision, actor.as_dict())
        return [incident]

    def _decision(
        self, incident: Incident, ranking: PartsRanking, mode: str, reason: str | None
    ) -> dict[str, Any]:
        """What an auditor needs to see why this van was chosen: inputs and the ranked list."""
        return {
            "mode": mode,
            "reason": reason,
            "decided_at": self.clock().isoformat(),
            "site": {"lat": incident.location["lat"], "lon": incident.location["lon"]},
            "capability": incident.capability,
            "excluded_van_ids": list(incident.declined_van_ids),
            "params": {
                "position_max_age_s": self.params.position_max_age_s,
                "circuity": self.params.circuity,
                "speed_kmh": self.params.speed_kmh,
                "k": self.params.k,
                "max_dispatch_km": self.settings.max_dispatch_km,
                "eta_model": (
                    self.etas.reference() if self.etas is not None else {"source": "default"}
                ),
            },
            "candidates": self._candidate_dicts(ranking),
            "parts": ranking.record(),
        }

    def _offer_to(
        self,
        incident: Incident,
        van: Van,
        candidate: Candidate | None,
        decision: dict[str, Any],
        actor: Actor,
    ) -> list[Aggregate]:
        expires_at = self.clock() + timedelta(seconds=self.settings.offer_timeout_s)
        previous = incident.offer(
            van_id=van.van_id,
            station_id=van.station_id,
            distance_km=candidate.distance_km if candidate else None,
            eta_min=candidate.eta_min if candidate else None,
            expires_at=expires_at,
            decision={**decision, "chosen_van_id": van.van_id},
            actor=actor.as_dict(),
        )
        van.offer(str(incident.id), actor.as_dict())
        changed: list[Aggregate] = [incident, van]
        if previous is not None and previous != van.van_id:
            withdrawn = self.runner.van(previous)
            withdrawn.release(str(incident.id), "offer withdrawn by operator", actor.as_dict())
            changed.append(withdrawn)
        if self.links is not None:
            changed.extend(self.links.issue_for(str(incident.id), actor))
        return changed

    def _plan_override(
        self, incident: Incident, van_id: str, reason: str | None, actor: Actor
    ) -> list[Aggregate]:
        if not reason or not reason.strip():
            raise Invalid("reason", "choosing a van yourself needs a reason, for the record")
        if not self.runner.exists(van_uuid(van_id)):
            raise Invalid("van_id", f"no van {van_id}")
        van = self.runner.van(van_id)
        if incident.capability not in van.capabilities:
            raise Conflict(
                f"van {van_id} does not carry {incident.capability}, which this fault needs",
                van.as_public(),
            )
        if not van.is_free:
            raise Conflict(f"van {van_id} is {van.status.value}, not available", van.as_public())
        recommended = self.rank(incident)
        snapshot = self.board.van_snapshot(van_id) or self._home_snapshot(van)
        # Measured by the dispatch rule itself, so the recorded distance and ETA
        # mean the same as the recommended candidates'.
        override = measure(
            snapshot,
            incident.location["lat"],
            incident.location["lon"],
            self.clock(),
            self.params,
        )
        override = self._with_etas([override], incident)[0]
        decision = self._decision(incident, recommended, "override", reason.strip())
        return self._offer_to(incident, van, override, decision, actor)

    def _home_snapshot(self, van: Van) -> VanSnapshot:
        """A van the live board has not seen yet (registered by another process a moment ago)."""
        station = self.runner.station(van.station_id)
        return VanSnapshot(
            van_id=van.van_id,
            station_id=van.station_id,
            capabilities=frozenset(van.capabilities),
            on_duty=van.on_duty,
            available=van.is_free,
            home_lat=station.lat,
            home_lon=station.lon,
        )
