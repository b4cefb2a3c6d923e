"""How van agents learn that a job was offered to their van, or taken away.

The seam is `OfferSource`: something that runs until cancelled and calls
`deliver(Offer)` once for every (incident, van) offer it sees, and can say
whether a job it has seen was withdrawn (cancelled, moved to another van) so
a driving crew stops; `None` means "don't know, ask the API".

- `CrewSockets` (the default): one `/ws/crew` socket per simulated van, with
  that van's token, as each tablet keeps one. Offers and every later change
  to the van's jobs arrive as pushed frames; a dropped socket reconnects
  and starts again from a fresh snapshot.
- `PollingOffers`: polls the operator's list of offered incidents
  (`GET /api/incidents?status=offered`), as a console without a live feed
  would; it knows nothing of withdrawals, so agents ask the API.

Failure mode: an offer that is made and moved on (declined, expired,
withdrawn) between two polls is never seen; its van simply never hears of it,
as a tablet out of coverage would not, and the server's offer timer moves it
on. A delivered offer may already be stale; the agent's accept then gets 409
and is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from rescue.simulator.client import Api, ApiError

__all__ = ["CrewSockets", "Offer", "OfferSource", "PollingOffers"]

log = logging.getLogger("rescue.simulator")


@dataclass(frozen=True, slots=True)
class Offer:
    incident_id: str
    van_id: str


Deliver = Callable[[Offer], None]


class OfferSource(Protocol):
    async def run(self, deliver: Deliver) -> None:
        """Calls `deliver` for each new offer until cancelled."""
        ...

    def withdrawn(self, incident_id: str, van_id: str) -> bool | None:
        """True if the job is no longer the van's, False if it still is, None if unknown."""
        ...


class PollingOffers:
    """Polls the list of offered incidents every `interval_s` wall seconds."""

    def __init__(self, api: Api, operator_token: str, interval_s: float = 0.5) -> None:
        self._api = api
        self._token = operator_token
        self._interval_s = interval_s
        self._seen: set[tuple[str, str]] = set()

    def withdrawn(self, incident_id: str, van_id: str) -> bool | None:
        return None

    async def run(self, deliver: Deliver) -> None:
        while True:
            try:
                response = await self._api.get(
                    "/api/incidents", self._token, params={"status": "offered", "limit": 1000}
                )
            except ApiError as error:
                log.warning("polling offers failed: %s", error)
            else:
                if response.status_code == 200:
                    for item in response.json():
                        van_id = item.get("van_id")
                        if not van_id:
                            continue
                        key = (str(item["incident_id"]), str(van_id))
                        if key not in self._seen:
                            self._seen.add(key)
                            deliver(Offer(*key))
                else:
                    log.warning("polling offers: %s %s", response.status_code, response.text[:200])
            await asyncio.sleep(self._interval_s)


class CrewSockets:
    """One `/ws/crew` socket per van; offers and job changes are pushed.

    Sockets are opened at most `opening` at a time so that a thousand vans do
    not stampede the server at start. The token goes in the first message,
    not the URL, so it does not land in access logs.
    """

    def __init__(
        self,
        base_url: str,
        crews: Mapping[str, str],
        *,
        opening: int = 20,
        reconnect_s: float = 1.0,
    ) -> None:
        self._url = base_url.rstrip("/").replace("http", "ws", 1) + "/ws/crew"
        self._crews = dict(crews)
        self._gate = asyncio.Semaphore(opening)
        self._reconnect_s = reconnect_s
        self._seen: set[tuple[str, str]] = set()
        # incident id -> (status, van id) as last pushed to the van it was offered to
        self._jobs: dict[str, tuple[str | None, str | None]] = {}
        self.connected: set[str] = set()
        self.reconnects = 0

    def withdrawn(self, incident_id: str, van_id: str) -> bool | None:
        job = self._jobs.get(incident_id)
        if job is None:
            return None
        status, holder = job
        return status == "cancelled" or holder != van_id

    async def run(self, deliver: Deliver) -> None:
        async with asyncio.TaskGroup() as group:
            for van_id, token in sorted(self._crews.items()):
                group.create_task(self._follow(van_id, token, deliver))

    async def _follow(self, van_id: str, token: str, deliver: Deliver) -> None:
        while True:
            try:
                async with self._gate:
                    ws = await connect(self._url, open_timeout=30, max_size=2**22)
                try:
                    await ws.send(orjson.dumps({"token": token}).decode())
                    self.connected.add(van_id)
                    async for message in ws:
                        self._handle(van_id, orjson.loads(message), deliver)
                finally:
                    self.connected.discard(van_id)
                    await ws.close()
            except (OSError, TimeoutError, WebSocketException) as error:
                log.debug("crew socket of %s: %s", van_id, error)
            self.reconnects += 1
            await asyncio.sleep(self._reconnect_s)

    def _handle(self, van_id: str, message: dict[str, Any], deliver: Deliver) -> None:
        kind = message.get("type")
        if kind == "batch":  # changes that queued up while the last frame was sent
            for change in message.get("changes") or ():
                self._handle(van_id, change, deliver)
        elif kind == "snapshot":
            van = message.get("van") or {}
            job = message.get("job")
            if job is not None:
                self._jobs[str(job["incident_id"])] = (job.get("status"), job.get("van_id"))
            if van.get("incident_id") and not van.get("engaged"):
                self._offer(str(van["incident_id"]), van_id, deliver)
        elif kind == "change":
            changes = message.get("changes") or {}
            if message.get("kind") == "van" and message.get("id") == van_id:
                if changes.get("incident_id"):
                    self._offer(str(changes["incident_id"]), van_id, deliver)
            elif message.get("kind") == "incident":
                incident_id = str(message.get("id"))
                status, holder = self._jobs.get(incident_id, (None, None))
                self._jobs[incident_id] = (
                    changes.get("status", status),
                    changes.get("van_id", holder),
                )

    def _offer(self, incident_id: str, van_id: str, deliver: Deliver) -> None:
        # The van's Offered change may arrive before the incident's: the van holds it now.
        status, _ = self._jobs.get(incident_id, ("offered", None))
        self._jobs[incident_id] = (status, van_id)
        if (incident_id, van_id) not in self._seen:
            self._seen.add((incident_id, van_id))
            deliver(Offer(incident_id, van_id))
