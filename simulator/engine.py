"""A simulation run: calls arrive, the operator dispatches, crews work the jobs, then it stops.

Phases of `Simulation.run()`:

1. Read the network from the server, put the simulated vans on duty (and the
   out-of-service station's vans off duty), tidy what an earlier run left open.
2. Calls: planned calls are taken at their simulated time for the scenario's
   duration (forever if it has none, until `stop()` or cancellation).
3. Drain: no new calls; open jobs run on until every simulated incident is
   completed or cancelled, for at most the scenario's `drain_s`.
4. Wind-down: the clock hurries (drives and repairs finish at once), calls
   still waiting for a van are cancelled, then anything else still cancellable.

Concurrency is one asyncio loop. The call-taker's desk has `concurrency`
lines: a call waits for a free one (that wait counts as lag), and calls
still waiting when the run winds down are never taken (`calls_not_taken`).
Each crew has a connection of its own, as a tablet has, so crews never queue
behind a surge of calls; and the run's own bookkeeping (the network, the
drain's checks, the wind-down's cancels, the final statuses) has one too, so
a backlog of calls cannot keep a run from ending. Offers reach the agents
through an `OfferSource` (polling today; the crew WebSocket feed later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rescue.simulator.agents import (
    CANCELLABLE,
    OPEN_STATUSES,
    Fleet,
    Ledger,
    OperatorAgent,
    VanAgent,
    World,
)
from rescue.simulator.calls import call_places, iter_calls
from rescue.simulator.client import Api, ApiError
from rescue.simulator.clock import SimClock
from rescue.simulator.offers import CrewSockets, Offer, OfferSource, PollingOffers
from rescue.simulator.scenarios import Scenario
from rescue.simulator.stopping import cancel_until_done

__all__ = ["SimReport", "SimTokens", "Simulation", "StatusLine"]

log = logging.getLogger("rescue.simulator")

# Incidents not yet taken by a van when the run ends are cancelled with this reason.
END_REASON = "simulation ended before a van took the job"
# Past this lag behind the simulated clock (simulated seconds, 90th percentile)
# crews answer, drive and finish late by more than a crew's own answer time, so
# the run measures the load generator and the machine rather than the network.
FAITHFUL_LAG_S = 60.0
LEFTOVER_REASON = "left open by an earlier simulator run"
# The run's own bookkeeping requests in flight, apart from the people it plays.
CONTROL_CONNECTIONS = 4


@dataclass(frozen=True)
class SimTokens:
    operator: str
    crews: dict[str, str]  # van id -> that van's crew token


@dataclass(frozen=True)
class StatusLine:
    sim_time: str
    calls: int
    open: int
    completed: int
    cancelled: int
    vans_out: int
    positions: int
    errors: int
    lag_s: float | None = None  # simulated seconds behind the clock (p90), see `Simulation.lag_s`

    def __str__(self) -> str:
        lag = ""
        if self.lag_s is not None:
            lag = f"  lag {self.lag_s:.0f}s"
            if self.lag_s > FAITHFUL_LAG_S:
                lag += " (not faithful)"
        return (
            f"[sim {self.sim_time}] calls {self.calls}  open {self.open}  "
            f"completed {self.completed}  cancelled {self.cancelled}  "
            f"vans out {self.vans_out}  positions {self.positions}  errors {self.errors}{lag}"
        )


@dataclass
class SimReport:
    scenario: str
    seed: int
    speed: float
    sim_seconds: float
    wall_seconds: float
    out_station_id: str | None
    incidents: dict[str, str]  # incident id -> status at the end
    counts: dict[str, int]
    requests: dict[str, int]
    errors: list[str] = field(default_factory=list)
    lag_s: float | None = None  # the worst lag seen at any status (simulated seconds, p90)
    unfaithful_from: str | None = None  # simulated time the lag first passed FAITHFUL_LAG_S

    @property
    def statuses(self) -> Counter[str]:
        return Counter(self.incidents.values())

    def summary(self) -> str:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        return (
            f"scenario {self.scenario} (seed {self.seed}, {self.speed:g}x): "
            f"{self.sim_seconds / 3600:.1f} simulated hours in {self.wall_seconds:.0f} s\n"
            f"incidents: {len(self.incidents)} ({statuses or 'none'})\n"
            f"activity: {counts}\n"
            f"errors: {len(self.errors)}"
            f"{self._faithfulness()}"
        )

    def _faithfulness(self) -> str:
        if self.lag_s is None:
            return ""
        if self.unfaithful_from is None:
            return f"\nlag behind the simulated clock: at most {self.lag_s:.0f} s (p90); faithful"
        return (
            f"\nlag behind the simulated clock: up to {self.lag_s:.0f} s (p90), over "
            f"{FAITHFUL_LAG_S:.0f} s from {self.unfaithful_from} on: NOT faithful after that "
            "(crews acted late because the simulator or the server could not keep up; "
            "lower --speed or --calls-per-hour)"
        )


OfferSourceFactory = Callable[[Api, SimTokens], OfferSource]
FEEDS = ("ws", "poll")


class Simulation:
    """Drives one server at `base_url` with the given tokens through a scenario."""

    def __init__(
        self,
        base_url: str,
        tokens: SimTokens,
        scenario: Scenario,
        *,
        seed: int = 1,
        speed: float = 60.0,
        concurrency: int = 16,
        feed: str = "ws",
        offers: OfferSourceFactory | None = None,
        exclude_vans: Iterable[str] = (),
        tidy: bool = True,
        status_every_s: float | None = None,
        on_status: Callable[[StatusLine], None] | None = None,
        today: date | None = None,
    ) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.scenario = scenario
        self.seed = seed
        self.speed = speed
        self.concurrency = concurrency
        if feed not in FEEDS:
            raise ValueError(f"feed must be one of {FEEDS}, got {feed!r}")
        self.exclude_vans = frozenset(exclude_vans)
        self.offers = offers or self._feed(feed)
        self.tidy = tidy
        self.status_every_s = status_every_s
        self.on_status = on_status
        self.today = today
        self.ledger = Ledger()
        self._agents: dict[str, VanAgent] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._world: World | None = None
        self._out_vans: list[str] = []
        self._out_station: str | None = None
        self._loop_lags: deque[float] = deque(maxlen=500)
        self._worst_lag: float | None = None
        self._unfaithful_from: str | None = None

    def _feed(self, feed: str) -> OfferSourceFactory:
        if feed == "poll":
            return lambda api, tokens: PollingOffers(api, tokens.operator, 0.5)
        return lambda api, tokens: CrewSockets(
            self.base_url,
            {v: t for v, t in tokens.crews.items() if v not in self.exclude_vans},
        )

    # -- control ------------------------------------------------------------

    def stop(self) -> None:
        """Asks a running simulation to stop taking calls and wind down (thread-safe)."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def run(self) -> SimReport:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        wall0 = time.monotonic()
        api = Api(self.base_url, concurrency=self.concurrency)
        self._control = Api(self.base_url, concurrency=CONTROL_CONNECTIONS, requests=api.requests)
        finished = False
        try:
            fleet = await Fleet.fetch(self._control, self.tokens.operator)
            clock = SimClock(self.scenario.start, self.speed)
            world = World(
                api,
                clock,
                self.scenario,
                fleet,
                self.ledger,
                self.seed,
                self.tokens.operator,
            )
            self._world = world
            operator = OperatorAgent(world, self.concurrency)
            await self._set_duty(world)
            if self.tidy:
                await self._tidy(world, operator)
            source = self.offers(api, self.tokens)
            world.offers = source
            self._spawn(source.run(self._deliver))
            self._spawn(self._watch_loop())
            if self.status_every_s and self.on_status is not None:
                self._spawn(self._report_status(self.status_every_s, self.on_status))
            await self._take_calls(world, operator)
            if not self._stop.is_set():
                await self._drain(world)
            await self._wind_down(world, operator)
            incidents = await self._final_statuses(world)
            await self._restore_duty(world)
            finished = True
            self.lag_s()
            return SimReport(
                scenario=self.scenario.name,
                seed=self.seed,
                speed=self.speed,
                sim_seconds=clock.elapsed(),
                wall_seconds=time.monotonic() - wall0,
                out_station_id=self._out_station,
                incidents=incidents,
                counts=dict(self.ledger.counts),
                requests=dict(api.requests),
                errors=list(self.ledger.errors),
                lag_s=self._worst_lag,
                unfaithful_from=self._unfaithful_from,
            )
        finally:
            await cancel_until_done(lambda: self._tasks)
            self._tasks.clear()
            if not finished:
                log.info("simulation interrupted")
            await asyncio.gather(
                *(a.api.aclose() for a in self._agents.values() if a.api is not api),
                return_exceptions=True,
            )
            await api.aclose()
            await self._control.aclose()

    def status(self) -> StatusLine:
        counts = self.ledger.counts
        world = self._world
        return StatusLine(
            sim_time=world.clock.now().strftime("%H:%M") if world else "--:--",
            calls=counts["calls"],
            open=len(self.ledger.calls) - counts["completed"] - self._cancelled(),
            completed=counts["completed"],
            cancelled=self._cancelled(),
            vans_out=sum(1 for a in self._agents.values() if a.out),
            positions=counts["positions"],
            errors=counts["errors"],
            lag_s=self.lag_s(),
        )

    def lag_s(self) -> float | None:
        """How far behind the simulated clock the simulated people act, in simulated seconds.

        The 90th percentile of recent HTTP requests (asking included: a simulated
        person does nothing else while one is on its way), of the crews' and the
        call-taker's apart, and of the event loop's wake-ups, times the speed.
        Also remembers the worst value and when it first passed `FAITHFUL_LAG_S`.
        """
        world = self._world
        samples = [list(self._loop_lags)]
        if world is not None:
            samples += [
                list(world.crew_latencies),
                list(self._control.latencies),
                list(world.call_waits),
            ]
        p90s = [_p90(s) for s in samples if s]
        if not p90s:
            return None
        lag = max(p90s) * self.speed
        if self._worst_lag is None or lag > self._worst_lag:
            self._worst_lag = lag
        if lag > FAITHFUL_LAG_S and self._unfaithful_from is None and world is not None:
            self._unfaithful_from = world.clock.now().strftime("%H:%M")
        return lag

    async def _watch_loop(self, every_s: float = 0.2) -> None:
        """Measures how late the event loop wakes this task: the simulator's own overload."""
        while True:
            asked = time.monotonic()
            await asyncio.sleep(every_s)
            self._loop_lags.append(max(0.0, time.monotonic() - asked - every_s))

    def _cancelled(self) -> int:
        c = self.ledger.counts
        return c["cancelled_by_caller"] + c["cancelled_at_end"]

    # -- phases -------------------------------------------------------------

    async def _take_calls(self, world: World, operator: OperatorAgent) -> None:
        places = call_places(
            [(s.lat, s.lon) for s in world.fleet.stations.values()],
            self.scenario.call_reach_km,
        )
        for call in iter_calls(self.scenario, places, self.seed, today=self.today):
            if await self._wait(world.clock.wall_seconds(call.at_s - world.clock.elapsed())):
                return
            self._spawn(operator.take(call))
        if self.scenario.duration_s is not None:
            await self._wait(
                world.clock.wall_seconds(self.scenario.duration_s - world.clock.elapsed())
            )

    async def _drain(self, world: World) -> None:
        deadline = world.clock.elapsed() + self.scenario.drain_s
        while world.clock.elapsed() < deadline:
            if not await self._open_incidents(world):
                return
            if await self._wait(
                min(1.0, world.clock.wall_seconds(deadline - world.clock.elapsed()))
            ):
                return

    async def _wind_down(self, world: World, operator: OperatorAgent) -> None:
        world.clock.hurry()
        # Calls still waiting for a call-taker are never taken; give them a moment to leave.
        operator.closed = True
        await asyncio.sleep(0.5)
        # Calls still waiting for a van: nobody will come in this run.
        for incident_id, status in (await self._open_incidents(world)).items():
            if status in ("reported", "queued", "offered") and await self._cancel(
                incident_id, END_REASON
            ):
                self.ledger.counts["cancelled_at_end"] += 1
        # Jobs under way finish at once now; give them a moment, then cancel
        # whatever is still cancellable (a crew that never answered, say).
        for round_ in range(60):
            open_now = await self._open_incidents(world)
            if not open_now:
                return
            if round_ >= 20:
                for incident_id, status in open_now.items():
                    if status in CANCELLABLE and await self._cancel(incident_id, END_REASON):
                        self.ledger.counts["cancelled_at_end"] += 1
            await asyncio.sleep(0.25)
        log.warning("simulation ended with incidents still open")

    # -- helpers ------------------------------------------------------------

    async def _wait(self, wall_s: float) -> bool:
        """Sleeps up to `wall_s`; True if a stop was requested meanwhile."""
        assert self._stop is not None
        if self._stop.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, wall_s))
        return self._stop.is_set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.ledger.error(f"task failed: {task.exception()!r}")

    def _deliver(self, offer: Offer) -> None:
        if offer.van_id in self.exclude_vans or offer.van_id not in self.tokens.crews:
            self.ledger.counts["offers_to_other_vans"] += 1
            return
        world = self._world
        assert world is not None
        agent = self._agents.get(offer.van_id)
        if agent is None:
            van = world.fleet.vans.get(offer.van_id)
            if van is None:
                self.ledger.counts["offers_to_other_vans"] += 1
                return
            agent = VanAgent(world, van, self.tokens.crews[offer.van_id])
            self._agents[offer.van_id] = agent
            self._spawn(agent.run())
        self.ledger.counts["offers_seen"] += 1
        agent.inbox.put_nowait(offer)

    def _simulated_vans(self, world: World) -> list[str]:
        return sorted(
            v for v in world.fleet.vans if v in self.tokens.crews and v not in self.exclude_vans
        )

    async def _set_duty(self, world: World) -> None:
        chosen = self.scenario.out_station_id
        if chosen == "auto":
            per_station = Counter(
                world.fleet.vans[v].station_id for v in self._simulated_vans(world)
            )
            if not per_station:
                raise ValueError("no simulated vans: cannot take a station out of service")
            chosen = min(per_station, key=lambda s: (-per_station[s], s))
        if chosen is not None and chosen not in world.fleet.stations:
            raise ValueError(f"no station {chosen} in the network")
        self._out_station = chosen
        for van_id in self._simulated_vans(world):
            van = world.fleet.vans[van_id]
            off = van.station_id == chosen
            if off:
                self._out_vans.append(van_id)
            if van.on_duty == off:
                await self._shift(world, van_id, not off)

    async def _restore_duty(self, world: World) -> None:
        for van_id in self._out_vans:
            await self._shift(world, van_id, True)

    async def _cancel(self, incident_id: str, reason: str) -> bool:
        response = await self._control.post(
            f"/api/incidents/{incident_id}/cancel", self.tokens.operator, {"reason": reason}
        )
        return response.status_code == 200

    async def _shift(self, world: World, van_id: str, on_duty: bool) -> None:
        response = await self._control.post(
            f"/api/vans/{van_id}/shift", world.operator_token, {"on_duty": on_duty}
        )
        if response.status_code != 200:
            self.ledger.error(f"shift of {van_id}: {response.status_code} {response.text[:200]}")

    async def _list(self, world: World, status: str) -> list[dict[str, Any]]:
        response = await self._control.get(
            "/api/incidents", world.operator_token, params={"status": status, "limit": 1000}
        )
        if response.status_code != 200:
            raise ApiError(f"listing {status} incidents: {response.status_code} {response.text}")
        items: list[dict[str, Any]] = response.json()
        if len(items) >= 1000:
            log.warning("more than 1000 %s incidents: the list is cut", status)
        return items

    async def _open_incidents(self, world: World, *, mine: bool = True) -> dict[str, str]:
        found: dict[str, str] = {}
        for status in OPEN_STATUSES:
            for item in await self._list(world, status):
                incident_id = str(item["incident_id"])
                if not mine or incident_id in self.ledger.calls:
                    found[incident_id] = status
        return found

    async def _tidy(self, world: World, operator: OperatorAgent) -> None:
        """Closes off what an earlier, interrupted run left open."""
        for incident_id, status in (await self._open_incidents(world, mine=False)).items():
            if status in CANCELLABLE:
                if await self._cancel(incident_id, LEFTOVER_REASON):
                    self.ledger.counts["leftovers_cancelled"] += 1
                continue
            shown = await self._control.get(f"/api/incidents/{incident_id}", world.operator_token)
            van_id = shown.json().get("van_id") if shown.status_code == 200 else None
            token = self.tokens.crews.get(van_id or "")
            if token is not None:
                done = await self._control.post(
                    f"/api/incidents/{incident_id}/complete", token, {"customer_signed": True}
                )
                if done.status_code == 200:
                    self.ledger.counts["leftovers_completed"] += 1

    async def _final_statuses(self, world: World) -> dict[str, str]:
        statuses: dict[str, str] = {}
        for status in (*OPEN_STATUSES, "completed", "cancelled", "closed"):
            for item in await self._list(world, status):
                if str(item["incident_id"]) in self.ledger.calls:
                    statuses[str(item["incident_id"])] = status
        for incident_id in self.ledger.calls.keys() - statuses.keys():
            shown = await self._control.get(f"/api/incidents/{incident_id}", world.operator_token)
            statuses[incident_id] = (
                str(shown.json()["status"]) if shown.status_code == 200 else "unknown"
            )
        return statuses

    async def _report_status(self, every_s: float, on_status: Callable[[StatusLine], None]) -> None:
        while True:
            await asyncio.sleep(every_s)
            on_status(self.status())


def _p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]
