"""The write side: every command loads aggregates, changes them and saves them in one transaction.

Commands run inside `_run`, which gives each one the same three guarantees:
a domain error records nothing; a conflict with a concurrent writer (the
store's optimistic concurrency check) re-runs the command on fresh state; and
a POST carrying an idempotency key is answered from the stored first reply.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import IntegrityError, Mapper, OperationalError

from rescue.domain.access import AccessToken, Account, hash_token, new_token
from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.dispatch import Candidate, VanSnapshot, measure
from rescue.domain.errors import Conflict, Invalid, NotFound, Unauthenticated, Unavailable
from rescue.domain.idempotency import IdempotencyKey, Reply, StoredReply
from rescue.domain.ids import account_uuid, station_uuid, token_uuid, van_uuid
from rescue.domain.incidents import Incident
from rescue.domain.priority import SafetyFacts, priority_for, priority_reasons
from rescue.domain.stations import Station
from rescue.domain.tracks import VanTrack
from rescue.domain.vans import Van
from rescue.domain.vocabulary import CAPABILITY_FOR_FAULT, FaultCategory, IncidentStatus, Role
from rescue.projections.live import LiveView
from rescue.services.aftersales import on_completion
from rescue.settings import Settings
from rescue.store.codec import FastPositionMapper
from rescue.store.env import APPLICATION_NAME, store_env
from rescue.store.follower import LogFollower
from rescue.store.privacy import PersonalData
from rescue.store.recorders import EventRow, RowRecorder, event_rows

Clock = Callable[[], datetime]
Body = Callable[[], tuple[Sequence[Aggregate], Reply]]

# Optimistic concurrency retries before a command gives up with 409.
MAX_ATTEMPTS = 8


def utcnow() -> datetime:
    return datetime.now(UTC)


class Principal:
    """The caller behind a bearer token."""

    def __init__(self, name: str, role: str, van_id: str | None) -> None:
        self.name = name
        self.role = role
        self.van_id = van_id

    @property
    def actor(self) -> Actor:
        return Actor(role=self.role, name=self.name, van_id=self.van_id)


class RescueApp(Application[UUID]):
    name = APPLICATION_NAME
    snapshotting_intervals = {Van: 50, VanTrack: 200, Station: 50, Account: 50}  # noqa: RUF012

    def construct_mapper(self) -> Mapper[UUID]:
        return FastPositionMapper(transcoder=self.construct_transcoder())

    def append(
        self,
        aggregates: Sequence[Aggregate],
        rows: Sequence[EventRow] = (),
        advanced: Sequence[tuple[Aggregate, int]] = (),
    ) -> None:
        """Saves many aggregates at once, for the position writer's large batches.

        `save()` checks each object against runtime protocols, which costs more
        than writing its event when a batch holds a thousand tracks; here every
        object is known to be an aggregate. `rows` are events already encoded
        (GPS reports, rescue.services.positions), stored first in the same transaction;
        `advanced` names the aggregates they moved, with each one's version
        before them, so snapshots fall due as if the events had been collected.
        """
        events: list[Any] = []
        due: list[Aggregate] = []
        for aggregate in aggregates:
            pending = aggregate.collect_events()
            events.extend(pending)
            if self._snapshot_due(aggregate, aggregate.version - len(pending)):
                due.append(aggregate)
        for aggregate, before in advanced:
            if self._snapshot_due(aggregate, before):
                due.append(aggregate)
        # The event store's put() also builds a notification object per event
        # for subscribers; nothing here subscribes in-process (views pull), so
        # the rows go straight to the recorder.
        to_stored = self.mapper.to_stored_event
        recorder: RowRecorder = self.recorder  # type: ignore[assignment]
        recorder.insert_rows([*rows, *event_rows(to_stored(e) for e in events)])
        self._snapshot(due)

    def _snapshot_due(self, aggregate: Aggregate, version_before: int) -> bool:
        """Whether the aggregate crossed a multiple of its snapshotting interval since then."""
        interval = self.snapshotting_intervals.get(type(aggregate))
        if not interval:
            return False
        return aggregate.version // interval > version_before // interval

    def _snapshot(self, aggregates: Sequence[Aggregate]) -> None:
        """Snapshots of aggregates whose events were all just stored, in one write.

        The library's `take_snapshot` reloads each aggregate from its events
        first (200 for a track) and writes one transaction per snapshot; these
        objects already hold exactly the recorded state, so they are taken as
        they are. A crossed interval inside a batch snapshots the latest
        version, which loading accepts as well as the exact multiple.
        """
        if not aggregates or self.snapshots is None:
            return
        snapshots = []
        for aggregate in aggregates:
            snapshot_class: Any = getattr(type(aggregate), "Snapshot", Snapshot)
            snapshots.append(snapshot_class.take(aggregate))
        self.snapshots.put(snapshots)

    def __init__(self, settings: Settings, *, clock: Clock = utcnow, follow: bool = True) -> None:
        super().__init__(env=store_env(settings.db))
        self.settings = settings
        self.clock = clock
        self.params = settings.dispatch_params()
        self.privacy = PersonalData(settings.resolved_key())
        self.view = LiveView()
        self.follower = LogFollower(self, self.view.apply)
        # Tools that only read the log in bulk (rebuilds, audits) need no live board.
        if follow:
            self._restore_view()
            self.follower.position = self.view.position
            self.follower.start()
            self.follower.catch_up()

    def close(self) -> None:
        self.follower.stop()
        super().close()

    def _restore_view(self) -> None:
        """Starts the live board from the stored read models, if there are any.

        Replaying a long log at every start would keep a restarted server from
        answering for many seconds; the read models already hold the same
        documents as of a recent position.
        """
        from rescue.projections.runner import load_models
        from rescue.projections.storage import ViewStore

        store = ViewStore(self.settings.db)
        try:
            models = load_models(store)
        finally:
            store.close()
        # Read models stored before the `incidents` model existed cannot seed the board.
        if models.position and (models.docs["incidents"] or not models.docs["timings"]):
            self.view.restore(
                models.position,
                models.docs["stations"],
                models.docs["vans"],
                models.docs["incidents"],
                models.van_ids,
            )

    # -- the command runner ---------------------------------------------------

    def _run(self, idempotency: IdempotencyKey | None, body: Body) -> Reply:
        try:
            return self._attempt(idempotency, body)
        except OperationalError as error:
            # The reads before the save (the stored reply, the aggregates) fail
            # the same way as the save when the store is locked or unreachable.
            raise Unavailable(f"the store is unavailable: {error}") from error

    def _attempt(self, idempotency: IdempotencyKey | None, body: Body) -> Reply:
        for _ in range(MAX_ATTEMPTS):
            if idempotency is not None:
                stored = self._stored_reply(idempotency)
                if stored is not None:
                    return stored
            changed, reply = body()
            extra: list[Aggregate] = []
            if idempotency is not None:
                extra.append(
                    StoredReply(
                        principal=idempotency.principal,
                        key=idempotency.key,
                        fingerprint=idempotency.fingerprint,
                        status_code=reply.status_code,
                        body=reply.body,
                    )
                )
            try:
                recordings = self.save(*changed, *extra)
            except IntegrityError:
                # Someone else changed one of these aggregates first: run the
                # command again on what they left.
                continue
            # Read-your-writes: the next command (or the reply's reader) sees this one.
            if recordings:
                self.follower.wait_for(max(r.notification.id for r in recordings))
            return reply
        raise Conflict("too many concurrent changes to the same records; try again")

    def _stored_reply(self, idempotency: IdempotencyKey) -> Reply | None:
        try:
            stored: StoredReply = self.repository.get(idempotency.uuid)
        except AggregateNotFoundError:
            return None
        if stored.fingerprint != idempotency.fingerprint:
            raise Invalid(
                "Idempotency-Key",
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new request",
            )
        return Reply(stored.status_code, stored.body)

    def _load(self, aggregate_id: UUID, what: str) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {what}") from None
        except OperationalError as error:
            raise Unavailable(f"the store is unavailable: {error}") from error

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def station(self, station_id: str) -> Station:
        station: Station = self._load(station_uuid(station_id), f"station {station_id}")
        return station

    def van(self, van_id: str) -> Van:
        van: Van = self._load(van_uuid(van_id), f"van {van_id}")
        return van

    def incident(self, incident_id: str) -> Incident:
        try:
            uuid = UUID(incident_id)
        except ValueError:
            raise NotFound(f"no incident {incident_id}") from None
        incident: Incident = self._load(uuid, f"incident {incident_id}")
        return incident

    # -- network (admin) ------------------------------------------------------

    def register_station(
        self, spec: dict[str, Any], actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Reply:
        station_id = spec.get("station_id") or f"ST-{secrets.token_hex(4).upper()}"

        def body() -> tuple[Sequence[Aggregate], Reply]:
            if self._exists(station_uuid(station_id)):
                existing = self.station(station_id)
                raise Conflict(f"station {station_id} already exists", existing.as_public())
            station = Station(
                station_id=station_id,
                name=spec["name"],
                tier=spec["tier"],
                lat=spec["lat"],
                lon=spec["lon"],
                capabilities=list(spec.get("capabilities", [])),
                radius_km=spec["radius_km"],
                actor=actor.as_dict(),
            )
            return [station], Reply(201, station.as_public())

        return self._run(idempotency, body)

    def register_van(
        self, spec: dict[str, Any], actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Reply:
        van_id = spec.get("van_id") or f"V-{secrets.token_hex(4).upper()}"

        def body() -> tuple[Sequence[Aggregate], Reply]:
            if not self._exists(station_uuid(spec["station_id"])):
                raise Invalid("station_id", f"no station {spec['station_id']}: register it first")
            if self._exists(van_uuid(van_id)):
                raise Conflict(f"van {van_id} already exists", self.van(van_id).as_public())
            van = Van(
                van_id=van_id,
                call_sign=spec["call_sign"],
                station_id=spec["station_id"],
                capabilities=list(spec["capabilities"]),
                actor=actor.as_dict(),
            )
            track = VanTrack(van_id=van_id)
            return [van, track], Reply(201, van.as_public())

        return self._run(idempotency, body)

    def change_shift(
        self, van_id: str, on_duty: bool, actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Reply:
        def body() -> tuple[Sequence[Aggregate], Reply]:
            van = self.van(van_id)
            van.change_shift(on_duty, actor.as_dict())
            return [van], Reply(200, van.as_public())

        reply = self._run(idempotency, body)
        if on_duty:
            self.offer_queued()
        return reply

    # -- incidents ------------------------------------------------------------

    def report_incident(
        self, report: dict[str, Any], actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Reply:
        category = FaultCategory(report["fault"]["category"])
        safety = SafetyFacts(**report.get("safety", {}))
        capability = CAPABILITY_FOR_FAULT[category]
        # Sealed once, outside the retry loop: the same ciphertext is stored
        # whichever attempt lands.
        sealed = self.privacy.seal(report["caller"])

        def body() -> tuple[Sequence[Aggregate], Reply]:
            incident = Incident(
                sealed_caller=sealed,
                vehicle=_jsonable(report["vehicle"]),
                location=report["location"],
                fault=report["fault"],
                safety=report.get("safety", {}),
                priority=priority_for(category, safety),
                priority_reasons=priority_reasons(category, safety),
                capability=capability.value,
                actor=actor.as_dict(),
            )
            recommendations = self.recommend(incident)
            return [incident], Reply(
                201,
                {
                    "incident_id": str(incident.id),
                    "status": incident.status.value,
                    "priority": incident.priority,
                    "priority_reasons": incident.priority_reasons,
                    "capability": incident.capability,
                    "recommendations": [c.as_dict() for c in recommendations],
                },
            )

        return self._run(idempotency, body)

    def recommend(self, incident: Incident) -> list[Candidate]:
        """The nearest capable free vans for an incident, within the dispatch range."""
        index = self.view.fleet_index(self.clock(), self.params)
        candidates = index.nearest(
            incident.location["lat"],
            incident.location["lon"],
            incident.capability,
            k=self.params.k,
            exclude=incident.declined_van_ids,
        )
        return [c for c in candidates if c.distance_km <= self.settings.max_dispatch_km]

    def _decision(
        self, incident: Incident, candidates: list[Candidate], mode: str, reason: str | None
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
            },
            "candidates": [c.as_dict() for c in candidates],
        }

    def _plan_offer(self, incident: Incident, actor: Actor, mode: str) -> list[Aggregate]:
        """Offers the incident to the nearest capable free van, or queues it."""
        candidates = self.recommend(incident)
        decision = self._decision(incident, candidates, mode, None)
        for candidate in candidates:
            van = self.van(candidate.van_id)
            # The live view may be a moment behind; the aggregate decides.
            if not van.is_free or incident.capability not in van.capabilities:
                continue
            return self._offer_to(incident, van, candidate, decision, actor)
        incident.queue(decision, actor.as_dict())
        return [incident]

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
            withdrawn = self.van(previous)
            withdrawn.release(str(incident.id), "offer withdrawn by operator", actor.as_dict())
            changed.append(withdrawn)
        return changed

    def dispatch(
        self,
        incident_id: str,
        actor: Actor,
        van_id: str | None = None,
        reason: str | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> Reply:
        def body() -> tuple[Sequence[Aggregate], Reply]:
            incident = self.incident(incident_id)
            if van_id is None:
                if incident.status not in (IncidentStatus.REPORTED, IncidentStatus.QUEUED):
                    raise Conflict(
                        f"incident is {incident.status.value}: to send another van, "
                        "name it (van_id) and give a reason",
                        incident.as_public(),
                    )
                changed = self._plan_offer(incident, actor, "nearest")
            else:
                changed = self._plan_override(incident, van_id, reason, actor)
            return changed, Reply(200, incident.as_public())

        reply = self._run(idempotency, body)
        if van_id is not None:
            # An override may withdraw the offer from another van, which is then free:
            # queued calls get it now, as after any other release, not at the next timer tick.
            self.offer_queued()
        return reply

    def _plan_override(
        self, incident: Incident, van_id: str, reason: str | None, actor: Actor
    ) -> list[Aggregate]:
        if not reason or not reason.strip():
            raise Invalid("reason", "choosing a van yourself needs a reason, for the record")
        if not self._exists(van_uuid(van_id)):
            raise Invalid("van_id", f"no van {van_id}")
        van = self.van(van_id)
        if incident.capability not in van.capabilities:
            raise Conflict(
                f"van {van_id} does not carry {incident.capability}, which this fault needs",
                van.as_public(),
            )
        if not van.is_free:
            raise Conflict(f"van {van_id} is {van.status.value}, not available", van.as_public())
        recommended = self.recommend(incident)
        snapshot = self.view.van_snapshot(van_id) or self._home_snapshot(van)
        # Measured by the dispatch rule itself, so the recorded distance and ETA
        # mean the same as the recommended candidates'.
        override = measure(
            snapshot,
            incident.location["lat"],
            incident.location["lon"],
            self.clock(),
            self.params,
        )
        decision = self._decision(incident, recommended, "override", reason.strip())
        return self._offer_to(incident, van, override, decision, actor)

    def _home_snapshot(self, van: Van) -> VanSnapshot:
        """A van the live board has not seen yet (registered by another process a moment ago)."""
        station = self.station(van.station_id)
        return VanSnapshot(
            van_id=van.van_id,
            station_id=van.station_id,
            capabilities=frozenset(van.capabilities),
            on_duty=van.on_duty,
            available=van.is_free,
            home_lat=station.lat,
            home_lon=station.lon,
        )

    def offer_queued(self) -> int:
        """Offers queued incidents, most urgent then oldest first, while vans are free."""
        offered = 0
        for waiting in self.view.queued():
            if not self.view.free_vans_exist():
                break

            def body(
                incident_id: str = waiting["incident_id"],
            ) -> tuple[Sequence[Aggregate], Reply]:
                incident = self.incident(incident_id)
                if incident.status is not IncidentStatus.QUEUED:
                    return [], Reply(200, incident.as_public())
                changed = self._plan_offer(incident, SYSTEM_ACTOR, "queue")
                return changed, Reply(200, incident.as_public())

            reply = self._run(None, body)
            if reply.body["status"] == IncidentStatus.OFFERED:
                offered += 1
        return offered

    def expire_due_offers(self) -> int:
        """Moves every offer left unanswered past its time on to the next nearest van."""
        now = self.clock()
        moved = 0
        for due in self.view.offers_due(now):

            def body(incident_id: str = due) -> tuple[Sequence[Aggregate], Reply]:
                incident = self.incident(incident_id)
                if (
                    incident.status is not IncidentStatus.OFFERED
                    or incident.offer_expires_at is None
                    or incident.offer_expires_at > now
                ):
                    return [], Reply(200, incident.as_public())
                van_id = incident.expire_offer(now, SYSTEM_ACTOR.as_dict())
                van = self.van(van_id)
                van.release(incident_id, "offer expired", SYSTEM_ACTOR.as_dict())
                changed = [van, *self._plan_offer(incident, SYSTEM_ACTOR, "reoffer")]
                return changed, Reply(200, incident.as_public())

            self._run(None, body)
            moved += 1
        return moved

    def flag_overdue_arrivals(self, margin_min: float) -> int:
        """Records an alert for each accepted job whose van is not on scene by ETA plus margin."""
        flagged = 0
        for incident_id, van_id, minutes in self.view.arrivals_overdue(self.clock(), margin_min):

            def body(
                incident_id: str = incident_id, van_id: str = van_id, minutes: float = minutes
            ) -> tuple[Sequence[Aggregate], Reply]:
                incident = self.incident(incident_id)
                if not incident.flag_overdue(van_id, minutes, SYSTEM_ACTOR.as_dict()):
                    return [], Reply(200, {})
                return [incident], Reply(200, {})

            self._run(None, body)
            flagged += 1
        return flagged

    # -- crew and operator steps ------------------------------------------------

    def step(
        self,
        incident_id: str,
        action: str,
        data: dict[str, Any],
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Reply:
        actor = principal.actor
        act = actor.as_dict()
        frees_van = action in ("complete", "cancel", "decline")

        def body() -> tuple[Sequence[Aggregate], Reply]:
            incident = self.incident(incident_id)
            changed: list[Aggregate] = [incident]
            van_id = principal.van_id
            if action == "accept":
                incident.accept(van_id or "", data["eta_min"], act)
                van = self.van(incident.van_id or "")
                van.engage(incident_id, act)
                changed.append(van)
            elif action == "decline":
                incident.decline(van_id or "", data["reason"], act)
                van = self.van(van_id or "")
                van.release(incident_id, f"declined: {data['reason']}", act)
                changed.append(van)
                changed += [
                    a
                    for a in self._plan_offer(incident, SYSTEM_ACTOR, "reoffer")
                    if a is not incident
                ]
            elif action == "depart":
                incident.depart(van_id or "", act)
            elif action == "arrive":
                incident.arrive(van_id or "", act)
            elif action == "diagnose":
                incident.diagnose(
                    van_id or "",
                    data["cause"],
                    data.get("parts", []),
                    data.get("findings", []),
                    act,
                )
            elif action == "resolve":
                tow_station = data.get("tow_station_id")
                if tow_station is not None and not self._exists(station_uuid(tow_station)):
                    raise Invalid("tow_station_id", f"no station {tow_station}")
                incident.resolve(van_id or "", data["outcome"], tow_station, act)
            elif action == "complete":
                incident.complete(
                    van_id or "", data["customer_signed"], data.get("satisfaction"), act
                )
                van = self.van(van_id or "")
                van.release(incident_id, "completed", act)
                changed.append(van)
                # The claim (or paid-service mark) and the follow-up call, in this transaction.
                changed += on_completion(self, incident, act)
            elif action == "cancel":
                bound = incident.cancel(data["reason"], act)
                if bound is not None:
                    van = self.van(bound)
                    van.release(incident_id, f"cancelled: {data['reason']}", act)
                    changed.append(van)
            elif action == "close":
                incident.close(act)
            else:  # pragma: no cover - the API only routes known actions
                raise NotFound(f"no step {action}")
            return changed, Reply(200, incident.as_public())

        reply = self._run(idempotency, body)
        if frees_van:
            self.offer_queued()
        return reply

    # -- reading ------------------------------------------------------------------

    def incident_details(self, incident_id: str, *, with_caller: bool) -> dict[str, Any]:
        incident = self.incident(incident_id)
        public = incident.as_public()
        if with_caller:
            public["caller"] = self.privacy.open(incident.sealed_caller)
        return public

    def history(
        self, incident_id: str, as_of: datetime | None, *, with_caller: bool
    ) -> dict[str, Any]:
        incident = self.incident(incident_id)
        events = []
        version_at: int | None = None
        domain_event: Any
        for domain_event in self.events.get(incident.id):
            if as_of is not None and domain_event.timestamp > as_of:
                break
            events.append(self._event_record(domain_event, with_caller=with_caller))
            version_at = domain_event.originator_version
        state: dict[str, Any] | None = None
        if version_at is not None:
            then: Incident = self.repository.get(incident.id, version=version_at)
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

    def _event_record(self, domain_event: Any, *, with_caller: bool) -> dict[str, Any]:
        data = {
            k: v
            for k, v in domain_event.__dict__.items()
            if k not in ("originator_id", "originator_version", "timestamp", "originator_topic")
        }
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
            "data": _jsonable(data),
        }

    # -- access -------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        role: str,
        van_id: str | None,
        actor: Actor,
        *,
        expires_in: timedelta | None = None,
    ) -> str:
        """Issues a new bearer token for NAME; only its hash is stored.

        With `expires_in` the token stops working that long from now (the
        application's clock); without it, it works until revoked.
        """
        if role == Role.CREW and not van_id:
            raise Invalid("van", "a crew token acts for one van: give --van VAN_ID")
        if role != Role.CREW and van_id:
            raise Invalid("van", "only crew tokens are bound to a van")
        if van_id and not self._exists(van_uuid(van_id)):
            raise Invalid("van", f"no van {van_id}")
        if expires_in is not None and expires_in <= timedelta(0):
            raise Invalid("expires_in", "a token lifetime must be positive")
        expires_at = None if expires_in is None else self.clock() + expires_in
        token = new_token()
        token_hash = hash_token(token)

        def body() -> tuple[Sequence[Aggregate], Reply]:
            account: Account
            if self._exists(account_uuid(name)):
                account = self.repository.get(account_uuid(name))
                if account.role != role or account.van_id != van_id:
                    raise Conflict(
                        f"{name} is already a {account.role}"
                        + (f" of van {account.van_id}" if account.van_id else ""),
                        {"name": name, "role": account.role, "van_id": account.van_id},
                    )
            else:
                account = Account(name=name, role=role, van_id=van_id, actor=actor.as_dict())
            account.issue(token_hash, actor.as_dict(), expires_at)
            issued = AccessToken(
                token_hash=token_hash, name=name, role=role, van_id=van_id, expires_at=expires_at
            )
            return [account, issued], Reply(201, {})

        self._run(None, body)
        return token

    def revoke_user(self, name: str, actor: Actor) -> int:
        """Stops every token of NAME from working; returns how many were revoked."""
        if not self._exists(account_uuid(name)):
            raise NotFound(f"no user {name}")

        def body() -> tuple[Sequence[Aggregate], Reply]:
            account: Account = self.repository.get(account_uuid(name))
            changed: list[Aggregate] = [account]
            account.revoke(actor.as_dict())
            for token_hash in account.token_hashes:
                token: AccessToken = self.repository.get(token_uuid(token_hash))
                if not token.revoked:
                    token.revoke()
                    changed.append(token)
            return changed, Reply(200, {"revoked": len(changed) - 1})

        return int(self._run(None, body).body["revoked"])

    def principal_for(self, token: str) -> Principal:
        """The caller behind a bearer token; Unauthenticated says why there is none."""
        try:
            issued: AccessToken = self.repository.get(token_uuid(hash_token(token)))
        except AggregateNotFoundError:
            raise Unauthenticated("token not recognised or revoked") from None
        except OperationalError as error:
            raise Unavailable(f"the store is unavailable: {error}") from error
        if issued.revoked:
            raise Unauthenticated("token not recognised or revoked")
        if issued.expired(self.clock()):
            assert issued.expires_at is not None
            raise Unauthenticated(
                f"token expired at {issued.expires_at.isoformat(timespec='seconds')}; "
                "ask an admin for a new one"
            )
        return Principal(issued.name, issued.role, issued.van_id)

    def authenticate(self, token: str) -> Principal | None:
        """The caller behind a bearer token, or None if it is unknown, revoked or expired."""
        try:
            return self.principal_for(token)
        except Unauthenticated:
            return None


def _jsonable(value: Any) -> Any:
    """Dates in request bodies become ISO strings so events hold plain JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def load_network(
    app: RescueApp,
    stations: Sequence[dict[str, Any]],
    vans: Sequence[dict[str, Any]],
    actor: Actor,
    *,
    on_duty: bool = True,
    chunk: int = 500,
) -> tuple[int, int]:
    """Registers stations and vans not yet known, in a few large transactions.

    Used to load a whole network at once (the demo, tests, `network import`);
    what already exists is left as it is, so loading twice adds nothing.
    """
    new_stations = [s for s in stations if not app._exists(station_uuid(s["station_id"]))]
    for start in range(0, len(new_stations), chunk):
        app.save(
            *(
                Station(
                    station_id=s["station_id"],
                    name=s["name"],
                    tier=s["tier"],
                    lat=s["lat"],
                    lon=s["lon"],
                    capabilities=list(s["capabilities"]),
                    radius_km=s["radius_km"],
                    actor=actor.as_dict(),
                )
                for s in new_stations[start : start + chunk]
            )
        )
    new_vans = [v for v in vans if not app._exists(van_uuid(v["van_id"]))]
    for start in range(0, len(new_vans), chunk):
        batch: list[Aggregate] = []
        for v in new_vans[start : start + chunk]:
            van = Van(
                van_id=v["van_id"],
                call_sign=v["call_sign"],
                station_id=v["station_id"],
                capabilities=list(v["capabilities"]),
                actor=actor.as_dict(),
            )
            if on_duty:
                van.change_shift(True, actor.as_dict())
            batch += [van, VanTrack(van_id=v["van_id"])]
        app.save(*batch)
    app.follower.catch_up()
    return len(new_stations), len(new_vans)
