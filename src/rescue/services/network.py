"""The network and duty: stations, vans, and whether a van is on shift."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import Aggregate

from rescue.domain.actors import Actor
from rescue.domain.errors import Conflict, Invalid, NotFound
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.ids import station_uuid, van_uuid
from rescue.domain.stations import Station
from rescue.domain.tracks import VanTrack
from rescue.domain.vans import Van
from rescue.services.dispatch import DispatchService
from rescue.services.runner import CommandRunner, Decision


class NetworkService:
    def __init__(self, runner: CommandRunner, dispatch: DispatchService) -> None:
        self.runner = runner
        self.dispatch = dispatch

    def van_as_stored(self, van_id: str) -> dict[str, Any]:
        """A van's public fields as of this process's place in the log.

        Read from the vans this process keeps (rescue.services.kept): from
        memory while the log follower has brought no event of the van since
        it was read, else one statement for the events since, where loading
        the van is a read of its snapshot and one of the events after it. On
        PostgreSQL the round trip was three quarters of what an
        authenticated van read cost.
        """
        found = self.runner.kept.read(
            [van_uuid(van_id)],
            lambda van: {**van.as_public(), "capabilities": list(van.capabilities)},
        )
        if not found:
            raise NotFound(f"no van {van_id}")
        return next(iter(found.values()))

    def register_station(
        self, spec: dict[str, Any], actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Result:
        station_id = spec.get("station_id") or f"ST-{secrets.token_hex(4).upper()}"

        def decide() -> Decision:
            if self.runner.exists(station_uuid(station_id)):
                existing = self.runner.station(station_id)
                raise Conflict(f"station {station_id} already exists", existing.as_public())
            station = _station({**spec, "station_id": station_id}, actor)
            return [station], Result(station.as_public(), created=True)

        return self.runner.run(idempotency, decide)

    def register_van(
        self, spec: dict[str, Any], actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Result:
        van_id = spec.get("van_id") or f"V-{secrets.token_hex(4).upper()}"

        def decide() -> Decision:
            if not self.runner.exists(station_uuid(spec["station_id"])):
                raise Invalid("station_id", f"no station {spec['station_id']}: register it first")
            if self.runner.exists(van_uuid(van_id)):
                existing = self.runner.van(van_id)
                raise Conflict(f"van {van_id} already exists", existing.as_public())
            van = _van({**spec, "van_id": van_id}, actor)
            track = VanTrack(van_id=van_id)
            return [van, track], Result(van.as_public(), created=True)

        return self.runner.run(idempotency, decide)

    def change_shift(
        self, van_id: str, on_duty: bool, actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Result:
        def decide() -> Decision:
            van = self.runner.van(van_id)
            van.change_shift(on_duty, actor.as_dict())
            return [van], Result(van.as_public())

        result = self.runner.run(idempotency, decide)
        if on_duty:
            self.dispatch.offer_queued()
        return result

    def load_network(
        self,
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
        store = self.runner.store
        new_stations = [s for s in stations if not store.exists(station_uuid(s["station_id"]))]
        for start in range(0, len(new_stations), chunk):
            store.save(*(_station(s, actor) for s in new_stations[start : start + chunk]))
        new_vans = [v for v in vans if not store.exists(van_uuid(v["van_id"]))]
        for start in range(0, len(new_vans), chunk):
            batch: list[Aggregate] = []
            for spec in new_vans[start : start + chunk]:
                van = _van(spec, actor)
                if on_duty:
                    van.change_shift(True, actor.as_dict())
                batch += [van, VanTrack(van_id=spec["van_id"])]
            store.save(*batch)
        self.runner.follower.catch_up()
        return len(new_stations), len(new_vans)


def _station(spec: dict[str, Any], actor: Actor) -> Station:
    return Station(
        station_id=spec["station_id"],
        name=spec["name"],
        tier=spec["tier"],
        lat=spec["lat"],
        lon=spec["lon"],
        capabilities=list(spec.get("capabilities", [])),
        radius_km=spec["radius_km"],
        actor=actor.as_dict(),
    )


def _van(spec: dict[str, Any], actor: Actor) -> Van:
    return Van(
        van_id=spec["van_id"],
        call_sign=spec["call_sign"],
        station_id=spec["station_id"],
        capabilities=list(spec["capabilities"]),
        actor=actor.as_dict(),
    )
