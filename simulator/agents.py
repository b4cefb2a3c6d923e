"""The people the simulator plays: the hotline operator and the crew of each van.

Both act only through the HTTP API with their own bearer tokens, as the
console and the tablets do. A van agent exists for each van that is offered a
job; it answers the offer, drives to the scene reporting GPS fixes, works the
job step by step, tows to the nearest station when the fault needs a tow,
completes, and drives home, taking a new offer on the way if one comes.

A step refused with 403/404/409 means the job moved on (the offer expired or
went to another van, the operator cancelled): the agent drops the job and
goes home. Anything else unexpected is recorded in the ledger's errors, which
a test can assert empty.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from rescue.domain.eta import hour_band
from rescue.services.imagery import sample_photo
from rescue.simulator.calls import PlannedCall, province_of
from rescue.simulator.client import Api, ApiError
from rescue.simulator.clock import SimClock
from rescue.simulator.geo import NearestPoint, geodesic_km, initial_bearing, interpolate
from rescue.simulator.offers import Offer, OfferSource
from rescue.simulator.scenarios import Scenario
from rescue.simulator.work import DECLINE_REASONS, diagnosis, needs_tow, scene_seconds

__all__ = ["Fleet", "Ledger", "OperatorAgent", "StationInfo", "VanAgent", "VanInfo", "World"]

log = logging.getLogger("rescue.simulator")

# Statuses in which the operator may still cancel (see rescue.domain.incidents.CAN_CANCEL).
CANCELLABLE = frozenset({"reported", "queued", "offered", "accepted", "en_route", "on_scene"})
OPEN_STATUSES = (*sorted(CANCELLABLE), "towing")
FINAL_STATUSES = frozenset({"completed", "cancelled", "closed"})


@dataclass(frozen=True, slots=True)
class StationInfo:
    station_id: str
    lat: float
    lon: float
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VanInfo:
    van_id: str
    call_sign: str
    station_id: str
    capabilities: tuple[str, ...]
    on_duty: bool


class Fleet:
    """The network as the server lists it (`GET /api/stations`, `GET /api/vans`)."""

    def __init__(self, stations: list[StationInfo], vans: list[VanInfo]) -> None:
        self.stations = {s.station_id: s for s in stations}
        self.vans = {v.van_id: v for v in vans}
        # Towed vehicles go to the nearest station that can repair them.
        workshops = [s for s in stations if "repair" in s.capabilities] or stations
        self._workshops = workshops
        self._workshop_index = NearestPoint([(s.lat, s.lon) for s in workshops])

    @classmethod
    async def fetch(cls, api: Api, token: str) -> Fleet:
        stations = await api.get("/api/stations", token)
        vans = await api.get("/api/vans", token)
        for response in (stations, vans):
            if response.status_code != 200:
                raise ApiError(f"listing the network: {response.status_code} {response.text}")
        return cls(
            [
                StationInfo(s["station_id"], s["lat"], s["lon"], tuple(s["capabilities"]))
                for s in stations.json()
            ],
            [
                VanInfo(
                    v["van_id"],
                    v["call_sign"],
                    v["station_id"],
                    tuple(v["capabilities"]),
                    bool(v["on_duty"]),
                )
                for v in vans.json()
            ],
        )

    def home(self, van_id: str) -> tuple[float, float]:
        station = self.stations[self.vans[van_id].station_id]
        return station.lat, station.lon

    def tow_destination(self, lat: float, lon: float) -> StationInfo:
        return self._workshops[self._workshop_index.nearest(lat, lon)[0]]


@dataclass
class Ledger:
    """What the simulator did, for the summary and for tests."""

    calls: dict[str, PlannedCall] = field(default_factory=dict)  # incident id -> call
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.counts["errors"] += 1
        if len(self.errors) < 200:
            self.errors.append(message)
        log.warning("simulator: %s", message)


@dataclass
class World:
    """What every agent shares."""

    api: Api
    clock: SimClock
    scenario: Scenario
    fleet: Fleet
    ledger: Ledger
    seed: int
    operator_token: str
    offers: OfferSource | None = None
    # Wall seconds each crew request took, on the crews' own connections.
    crew_latencies: deque[float] = field(default_factory=lambda: deque(maxlen=5000))
    # Wall seconds each call waited for a free call-taker's line.
    call_waits: deque[float] = field(default_factory=lambda: deque(maxlen=5000))


def _refused(response: Any) -> bool:
    """The job moved on or was cancelled: an expected answer under concurrency."""
    return int(response.status_code) in (403, 404, 409)


class OperatorAgent:
    """Takes each call: reports it, dispatches the nearest van, cancels if the caller calls back.

    The desk has `lines` call-takers: a call waits for a free one, and once the
    run is `closed` a call still waiting is never taken (the caller hung up).
    """

    def __init__(self, world: World, lines: int) -> None:
        self.w = world
        self._lines = asyncio.Semaphore(lines)
        self.closed = False

    async def take(self, call: PlannedCall) -> None:
        api, token, ledger = self.w.api, self.w.operator_token, self.w.ledger
        ledger.counts["calls"] += 1
        rang = time.monotonic()
        async with self._lines:
            self.w.call_waits.append(time.monotonic() - rang)
            if self.closed:
                ledger.counts["calls_not_taken"] += 1
                return
            reported = await api.post("/api/incidents", token, call.report)
            if reported.status_code != 201:
                ledger.error(
                    f"report of call {call.seq}: {reported.status_code} {reported.text[:300]}"
                )
                return
            incident_id = str(reported.json()["incident_id"])
            ledger.calls[incident_id] = call
            dispatched = await api.post(f"/api/incidents/{incident_id}/dispatch", token, {})
        if dispatched.status_code == 200:
            ledger.counts[f"dispatch_{dispatched.json()['status']}"] += 1
        elif not _refused(dispatched):
            ledger.error(
                f"dispatch {incident_id}: {dispatched.status_code} {dispatched.text[:300]}"
            )
        if call.caller_cancels_after_s is not None:
            await self.w.clock.sleep(call.caller_cancels_after_s)
            await self.cancel_if_waiting(incident_id)

    async def cancel_if_waiting(self, incident_id: str) -> None:
        """The caller got going alone: cancel unless the crew is already on scene."""
        api, token = self.w.api, self.w.operator_token
        current = await api.get(f"/api/incidents/{incident_id}", token)
        if current.status_code != 200 or current.json()["status"] not in CANCELLABLE - {"on_scene"}:
            return
        cancelled = await api.post(
            f"/api/incidents/{incident_id}/cancel", token, {"reason": "caller got going again"}
        )
        if cancelled.status_code == 200:
            self.w.ledger.counts["cancelled_by_caller"] += 1


class VanAgent:
    """The crew of one van. Offers arrive in `inbox`; `run()` works them until cancelled."""

    def __init__(self, world: World, van: VanInfo, token: str) -> None:
        self.w = world
        self.van = van
        self.token = token
        # Its own connection, as a tablet has: its steps never wait behind the
        # call-taker's requests or another crew's.
        self.api = world.api.own_connection(world.crew_latencies)
        # One stream per van: its choices do not depend on what other vans did.
        self.rng = random.Random(f"{world.seed}:{van.van_id}")
        self.home = world.fleet.home(van.van_id)
        self.home_province = province_of(*self.home)
        self.pos = self.home
        self.inbox: asyncio.Queue[Offer] = asyncio.Queue()
        self.job: str | None = None
        self._fixes: list[dict[str, Any]] = []
        # Its own stream for what the crew says: talking changes no other choice.
        self.talk = random.Random(f"{world.seed}:{van.van_id}:talk")
        self._uploads: set[asyncio.Future[None]] = set()

    @property
    def out(self) -> bool:
        """On a job or away from home."""
        return self.pos != self.home or self.job is not None

    async def run(self) -> None:
        while True:
            try:
                if self.pos == self.home:
                    offer = await self.inbox.get()
                else:
                    await self._drive(self.home, interruptible=True)
                    if self.inbox.empty():
                        continue
                    offer = self.inbox.get_nowait()
                await self._answer(offer)
            except asyncio.CancelledError:
                for upload in list(self._uploads):
                    upload.cancel()
                raise
            except Exception as error:  # one van's bug must not stop the others
                self.w.ledger.error(f"van {self.van.van_id}: {error!r}")
                self.job = None
                self._fixes.clear()
                await asyncio.sleep(1.0)

    # -- the job ------------------------------------------------------------

    async def _answer(self, offer: Offer) -> None:
        ledger, crew = self.w.ledger, self.w.scenario.crew
        url = f"/api/incidents/{offer.incident_id}"
        shown = await self.api.get(url, self.token)
        if shown.status_code != 200:
            ledger.counts["offers_stale"] += 1
            return
        incident = shown.json()
        if incident["status"] != "offered" or incident["van_id"] != self.van.van_id:
            ledger.counts["offers_stale"] += 1
            return
        self.job = offer.incident_id
        try:
            await self.w.clock.sleep(self.rng.uniform(*crew.answer_s))
            roll = self.rng.random()
            if roll < crew.p_accept:
                await self._accept_and_work(incident)
            elif roll < crew.p_accept + crew.p_decline:
                reason = self.rng.choice(DECLINE_REASONS)
                if await self._step(offer.incident_id, "decline", {"reason": reason}):
                    ledger.counts["declined"] += 1
            else:
                ledger.counts["left_unanswered"] += 1
        finally:
            self.job = None

    async def _accept_and_work(self, incident: dict[str, Any]) -> None:
        ledger, scenario = self.w.ledger, self.w.scenario
        crew = scenario.crew
        incident_id = str(incident["incident_id"])
        call = ledger.calls.get(incident_id)
        in_storm = call.in_storm if call is not None else False
        scene = (float(incident["location"]["lat"]), float(incident["location"]["lon"]))
        province = call.province if call is not None else province_of(*scene)
        speed = self._trip_speed(province, in_storm=in_storm)
        road_km = geodesic_km(*self.pos, *scene) * crew.circuity
        eta = max(1.0, round(road_km / speed * 60 + crew.depart_s[1] / 60, 1))
        if not await self._step(incident_id, "accept", {"eta_min": min(eta, 24 * 60)}):
            return
        ledger.counts["accepted"] += 1
        await self.w.clock.sleep(self.rng.uniform(*crew.depart_s))
        if not await self._step(incident_id, "depart"):
            return
        if road_km / speed * 60 > 20:
            await self._say(incident_id, "traffic, 10 min late")
        if not await self._drive(scene, speed_kmh=speed, watch=incident_id):
            ledger.counts["abandoned_en_route"] += 1
            return
        if not await self._step(incident_id, "arrive"):
            return
        category = str(incident["fault"]["category"])
        if needs_tow(category):
            await self._say(incident_id, "need a tow")
        else:
            await self._say(incident_id, "on site, checking the vehicle")
        work_s = scene_seconds(category, self.rng, scenario.storm_scene_factor if in_storm else 1.0)
        await self.w.clock.sleep(work_s * 0.6)
        found = diagnosis(
            category,
            self.rng,
            in_storm=in_storm,
            model_series=incident.get("vehicle", {}).get("model_series"),
            on_van=await self._stock(),
        )
        if not await self._step(incident_id, "diagnose", found):
            return
        # The tablet uploads in the background: the crew works on meanwhile.
        upload = asyncio.ensure_future(self._photograph(incident_id, scene, found["parts"]))
        self._uploads.add(upload)
        upload.add_done_callback(self._uploads.discard)
        await self.w.clock.sleep(work_s * 0.4)
        if needs_tow(category):
            workshop = self.w.fleet.tow_destination(*scene)
            resolved = {"outcome": "towed", "tow_station_id": workshop.station_id}
            if not await self._step(incident_id, "resolve", resolved):
                return
            ledger.counts["towed"] += 1
            # Towing cannot be cancelled: the vehicle is on the truck.
            await self._drive((workshop.lat, workshop.lon), speed_kmh=speed * 0.8)
        else:
            if not await self._step(incident_id, "resolve", {"outcome": "repaired_on_site"}):
                return
            ledger.counts["repaired_on_site"] += 1
        signed = {"customer_signed": True, "satisfaction": self.rng.choice((3, 4, 4, 5, 5, 5))}
        if await self._step(incident_id, "complete", signed):
            ledger.counts["completed"] += 1

    def _trip_speed(self, province: str, *, in_storm: bool) -> float:
        """This trip's road speed: the province's known speed now, this trip's draw, snow."""
        scenario = self.w.scenario
        speed = scenario.crew.trip_speed_kmh(province, hour_band(self.w.clock.now()), self.rng)
        return speed * (scenario.storm_speed_factor if in_storm else 1.0)

    async def _stock(self) -> dict[str, int]:
        """What the van carries now (part number -> quantity); nothing if it cannot be read."""
        response = await self.api.get(f"/api/vans/{self.van.van_id}/stock", self.token)
        if response.status_code != 200:
            return {}
        return {line["part_no"]: int(line["qty"]) for line in response.json()}

    async def _step(self, incident_id: str, action: str, body: Any = None) -> bool:
        response = await self.api.post(f"/api/incidents/{incident_id}/{action}", self.token, body)
        if response.status_code == 200:
            return True
        if _refused(response):
            self.w.ledger.counts[f"refused_{action}"] += 1
        else:
            self.w.ledger.error(
                f"van {self.van.van_id} {action} {incident_id}: "
                f"{response.status_code} {response.text[:300]}"
            )
        return False

    async def _say(self, incident_id: str, text: str) -> None:
        """Sometimes (`p_message`) the crew tells the desk how the job goes."""
        if self.talk.random() >= self.w.scenario.crew.p_message:
            return
        path = f"/api/incidents/{incident_id}/messages"
        response = await self.api.post(path, self.token, {"text": text})
        if response.status_code == 201:
            self.w.ledger.counts["messages_sent"] += 1
        elif not _refused(response):
            self.w.ledger.error(
                f"van {self.van.van_id} message {incident_id}: {response.status_code}"
            )

    async def _photograph(
        self, incident_id: str, scene: tuple[float, float], parts: list[dict[str, Any]]
    ) -> None:
        """Sometimes (`p_photo`) the crew photographs the job: the vehicle, and each part
        it replaced (a claim asks for those)."""
        if self.talk.random() >= self.w.scenario.crew.p_photo:
            return
        shots = [("before", None)] + [("part", str(part["part_no"])) for part in parts]
        for kind, part_no in shots:
            colour = (self.talk.randrange(256), self.talk.randrange(256), self.talk.randrange(256))
            taken = self.w.clock.now()
            jpeg = sample_photo(colour, lat=scene[0], lon=scene[1], taken_at=taken)
            form = {"kind": kind, **({"part_no": part_no} if part_no else {})}
            response = await self.api.upload(
                f"/api/incidents/{incident_id}/photos",
                self.token,
                {"file": (f"{kind}.jpg", jpeg, "image/jpeg")},
                form,
            )
            if response.status_code in (200, 201):
                self.w.ledger.counts["photos_sent"] += 1
            elif not _refused(response):
                self.w.ledger.error(
                    f"van {self.van.van_id} photo {incident_id}: {response.status_code}"
                )

    async def _withdrawn(self, incident_id: str) -> bool:
        """Was the job cancelled or moved while we drive? The feed knows, else ask."""
        if self.w.offers is not None:
            known = self.w.offers.withdrawn(incident_id, self.van.van_id)
            if known is not None:
                return known
        shown = await self.api.get(f"/api/incidents/{incident_id}", self.token)
        if shown.status_code != 200:
            return True
        body = shown.json()
        return bool(body["status"] == "cancelled" or body["van_id"] != self.van.van_id)

    # -- driving ------------------------------------------------------------

    async def _drive(
        self,
        dest: tuple[float, float],
        *,
        speed_kmh: float | None = None,
        interruptible: bool = False,
        watch: str | None = None,
    ) -> bool:
        """Drives along the great circle to `dest`, reporting fixes; True once there.

        `interruptible`: stop (False) as soon as an offer is waiting.
        `watch`: every time fixes are sent, check that job is still ours; stop if not.
        """
        crew = self.w.scenario.crew
        lat0, lon0 = self.pos
        km = geodesic_km(lat0, lon0, *dest)
        if km < 0.01:
            self.pos = dest
            return True
        speed = speed_kmh or self._trip_speed(
            self.home_province, in_storm=self.home_province == self.w.scenario.storm_province
        )
        duration = km * crew.circuity / speed * 3600.0
        elapsed = 0.0
        while elapsed < duration:
            step = min(crew.fix_interval_s, duration - elapsed)
            await self.w.clock.sleep(step)
            if self.w.clock.hurried:
                elapsed = duration
            else:
                elapsed += step
                # Whole simulated seconds driven at the crews' pace, for fixes per minute.
                self.w.ledger.counts["driven_s"] += int(step)
            arrived = elapsed >= duration
            self.pos = dest if arrived else interpolate(lat0, lon0, *dest, elapsed / duration)
            heading = initial_bearing(*self.pos, *dest) if not arrived else None
            self._fix(0.0 if arrived else speed, heading)
            if len(self._fixes) >= crew.fixes_per_post:
                await self._flush()
                if watch is not None and not arrived and await self._withdrawn(watch):
                    return False
            if interruptible and not arrived and not self.inbox.empty():
                await self._flush()
                return False
        await self._flush()
        return True

    def _fix(self, speed_kmh: float, heading: float | None) -> None:
        lat, lon = self.pos
        fix: dict[str, Any] = {
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            # Wall time: the server stamps and checks positions against its own clock.
            "recorded_at": self.w.clock.wall_now().isoformat(),
            "speed_kmh": round(speed_kmh, 1),
            "accuracy_m": round(self.rng.uniform(3.0, 15.0), 1),
        }
        if heading is not None:
            fix["heading"] = round(heading, 1)
        self._fixes.append(fix)

    async def _flush(self) -> None:
        if not self._fixes:
            return
        fixes, self._fixes = self._fixes, []
        response = await self.api.post(f"/api/vans/{self.van.van_id}/positions", self.token, fixes)
        if response.status_code == 202:
            self.w.ledger.counts["positions"] += len(fixes)
            self.w.ledger.counts["position_posts"] += 1
        else:
            self.w.ledger.error(
                f"positions of {self.van.van_id}: {response.status_code} {response.text[:300]}"
            )
