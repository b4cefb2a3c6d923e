"""The command runner: every command loads aggregates, decides, and saves in one transaction.

Each command gives the runner a `decide` function that loads what it needs
(through the runner), calls the aggregates' methods and returns the changed
aggregates with the command's result. The runner gives every command the
same guarantees: a domain error records nothing; a conflict with a
concurrent writer (the store's optimistic concurrency check) runs `decide`
again on fresh state; a command carrying an idempotency key is answered from
its stored first result; and once saved, the live view has applied the
change before the command returns (read-your-writes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, OperationalError

from rescue.domain.errors import Conflict, Invalid, NotFound, Unavailable
from rescue.domain.idempotency import IdempotencyKey, Result, StoredReply
from rescue.domain.ids import station_uuid, van_uuid
from rescue.domain.incidents import Incident
from rescue.domain.stations import Station
from rescue.domain.vans import Van
from rescue.services.kept import KeptAggregates
from rescue.services.store import RescueStore
from rescue.store.follower import LogFollower

Decision = tuple[Sequence[Aggregate], Result]
Decide = Callable[[], Decision]

# Optimistic concurrency retries before a command gives up with Conflict.
MAX_ATTEMPTS = 8


class CommandRunner:
    def __init__(
        self, store: RescueStore, follower: LogFollower, kept: KeptAggregates | None = None
    ) -> None:
        self.store = store
        self.follower = follower
        # What ranking reads of many vans at once (their stocks, their service records),
        # and the van reads: followed by the follower when it was built to tell them.
        self.kept = kept if kept is not None else KeptAggregates(store)

    def run(self, idempotency: IdempotencyKey | None, decide: Decide) -> Result:
        try:
            return self._attempt(idempotency, decide)
        except OperationalError as error:
            # The reads before the save (the stored result, the aggregates) fail
            # the same way as the save when the store is locked or unreachable.
            raise Unavailable(f"the store is unavailable: {error}") from error

    def _attempt(self, idempotency: IdempotencyKey | None, decide: Decide) -> Result:
        for _ in range(MAX_ATTEMPTS):
            if idempotency is not None:
                stored = self.stored_result(idempotency)
                if stored is not None:
                    return stored
            changed, result = decide()
            extra: list[Aggregate] = []
            if idempotency is not None:
                extra.append(stored_reply(idempotency, result))
            try:
                recordings = self.store.save(*changed, *extra)
            except IntegrityError:
                # Someone else changed one of these aggregates first: decide
                # again on what they left.
                continue
            if recordings:
                self.follower.wait_for(max(r.notification.id for r in recordings))
            return result
        raise Conflict("too many concurrent changes to the same records; try again")

    def stored_result(self, idempotency: IdempotencyKey) -> Result | None:
        """The first result of a command with this key, or None if there was none yet."""
        try:
            stored: StoredReply = self.store.repository.get(idempotency.uuid)
        except AggregateNotFoundError:
            return None
        if stored.fingerprint != idempotency.fingerprint:
            raise Invalid(
                "Idempotency-Key",
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new request",
            )
        return stored.result

    # -- loading --------------------------------------------------------------------

    def load(self, aggregate_id: UUID, what: str) -> Any:
        try:
            return self.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {what}") from None
        except OperationalError as error:
            raise Unavailable(f"the store is unavailable: {error}") from error

    def exists(self, aggregate_id: UUID) -> bool:
        return self.store.exists(aggregate_id)

    def station(self, station_id: str) -> Station:
        station: Station = self.load(station_uuid(station_id), f"station {station_id}")
        return station

    def van(self, van_id: str) -> Van:
        van: Van = self.load(van_uuid(van_id), f"van {van_id}")
        return van

    def incident(self, incident_id: str) -> Incident:
        try:
            uuid = UUID(incident_id)
        except ValueError:
            raise NotFound(f"no incident {incident_id}") from None
        incident: Incident = self.load(uuid, f"incident {incident_id}")
        return incident


def stored_reply(idempotency: IdempotencyKey, result: Result) -> StoredReply:
    """The record that answers a retry of this command with this result."""
    return StoredReply(
        principal=idempotency.principal,
        key=idempotency.key,
        fingerprint=idempotency.fingerprint,
        created=result.created,
        body=result.body,
    )
