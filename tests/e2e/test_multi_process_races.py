"""Several server processes on one store, hammered at once: no double binding, no lost update.

Real `rescue serve` processes (three on one PostgreSQL database, two on one
SQLite file) take requests from many client threads at the same time. Each
thread plays an operator and the crews of three vans, sending dispatches,
overrides, cancels, closes and crew steps for the same few incidents to a
server picked at random; offers also expire on the servers' own timers, in
every process. Then the store is read directly and checked as a whole:

* replayed event by event in log order, no van is ever offered a job while it
  holds one, no two incidents are ever with one van, and at the end of every
  write a van and its incident point at each other;
* every 2xx answer is in the log: the event at the version it reported, of the
  kind the request asked for, by its caller, with its data (no lost update);
* everything callers recorded belongs to a write a 2xx answer accounts for, so a
  409 (or 403) left nothing behind.

The random choices are seeded, and the number of requests bounded.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from rescue.bootstrap import bootstrap
from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.builders import ADMIN, line_network, report
from tests.live import LiveServer, bearer
from tests.support import free_port, sqlite_path_of

SEED = 20_261_127
VANS = ("V1", "V2", "V3")
OPEN_INCIDENTS = 4  # few, so that clients keep meeting on the same ones
STEP_DEG = 0.05
# Short enough that the servers' own timers move offers on while the clients work.
SERVER_SETTINGS = {
    "offer_timeout_s": "0.05",
    "timer_interval_s": "0.05",
    "rate_limit_per_s": "100000",
    "rate_limit_burst": "100000",
}
# What each kind of request must have recorded at the version its answer reports.
RECORDS = {
    "report": "Reported",
    "override": "Offered",
    "accept": "Accepted",
    "depart": "Departed",
    "arrive": "Arrived",
    "resolve": "Resolved",
    "complete": "Completed",
    "cancel": "Cancelled",
    "close": "Closed",
}
# The crew's next step for each status of the incident (as the client last saw it).
CREW_STEP = {
    "offered": ("accept", "accept", "accept", "decline"),
    "accepted": ("depart",),
    "en_route": ("arrive",),
    "on_scene": ("resolve", "complete"),
    "towing": ("complete",),
}


@dataclass
class Call:
    """One request a client sent and the answer it got."""

    action: str
    user: str
    incident_id: str | None
    marker: str  # text or number the request records, unique to it
    status: int
    body: Any


def operator(thread: int) -> str:
    return f"op-t{thread}"


def crew(van_id: str, thread: int) -> str:
    return f"crew-{van_id}-t{thread}"


# -- the cluster -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    threads: int  # clients at once, each with its own operator and crew tokens
    requests: int  # POSTs each client sends


DEFAULT_LOAD = Load(threads=8, requests=80)
SOAK_LOAD = Load(threads=12, requests=300)


def seed_store(url: str, key: str, threads: int) -> dict[str, str]:
    """A line of three stations with a van each, carrying everything; a token per user."""
    app = bootstrap(Settings(db=url, cipher_key=key))
    try:
        app.network.load_network(*line_network(len(VANS), step_deg=STEP_DEG), ADMIN)
        tokens = {}
        for thread in range(threads):
            tokens[operator(thread)] = app.access.add_user(
                operator(thread), "operator", None, ADMIN
            )
            for van_id in VANS:
                name = crew(van_id, thread)
                tokens[name] = app.access.add_user(name, "crew", van_id, ADMIN)
        return tokens
    finally:
        app.close()


@contextmanager
def servers(url: str, key: str, count: int, logs: Path) -> Iterator[list[LiveServer]]:
    started: list[LiveServer] = []
    try:
        for n in range(count):
            live = LiveServer(db=url, key=key, port=free_port(), log_path=logs / f"s{n}.log")
            started.append(live)
            live.start(**SERVER_SETTINGS)
        yield started
    finally:
        for live in started:
            live.stop()


# -- the clients -----------------------------------------------------------------------------


class OpenIncidents:
    """The incidents still open, shared by the clients so they all work on the same few."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []

    def pick(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.ids) if self.ids else None

    def wanted(self) -> bool:
        with self.lock:
            return len(self.ids) < OPEN_INCIDENTS

    def add(self, incident_id: str) -> None:
        with self.lock:
            self.ids.append(incident_id)

    def finished(self, incident_id: str) -> None:
        with self.lock:
            if incident_id in self.ids:
                self.ids.remove(incident_id)


class Client:
    """One thread's operator and crews, sending seeded random requests to random servers."""

    def __init__(
        self,
        thread: int,
        urls: list[str],
        tokens: dict[str, str],
        incidents: OpenIncidents,
        requests: int,
    ) -> None:
        self.thread = thread
        self.requests = requests
        self.urls = urls
        self.tokens = tokens
        self.incidents = incidents
        self.rng = random.Random(SEED + thread)
        self.http = httpx.Client(timeout=60)
        self.calls: list[Call] = []

    def run(self) -> None:
        actions: list[Callable[[], None]] = [
            self.report,
            self.dispatch,
            self.override,
            self.crew_step,
            self.cancel,
            self.close,
        ]
        weights = [10, 14, 14, 52, 4, 6]
        with self.http:
            for _ in range(4 * self.requests):  # a move may find nothing to do
                if len(self.calls) >= self.requests:
                    break
                self.rng.choices(actions, weights)[0]()

    @property
    def marker(self) -> str:
        return f"t{self.thread}-{len(self.calls)}"

    def _post(
        self, action: str, user: str, incident_id: str | None, body: dict[str, Any], marker: str
    ) -> Any:
        url = self.rng.choice(self.urls)
        path = f"/api/incidents/{incident_id}/{action}" if incident_id else "/api/incidents"
        if action == "override":
            path = f"/api/incidents/{incident_id}/dispatch"
        response = self.http.post(url + path, json=body, headers=bearer(self.tokens[user]))
        answer = response.json() if response.content else None
        self.calls.append(Call(action, user, incident_id, marker, response.status_code, answer))
        return answer

    def report(self) -> None:
        if not self.incidents.wanted():
            return
        site = self.rng.randrange(len(VANS))
        body = report(lat=34.75 + site * STEP_DEG + 0.01, n=self.thread * 1000 + len(self.calls))
        answer = self._post("report", operator(self.thread), None, body, "")
        if answer and "incident_id" in answer:
            self.incidents.add(answer["incident_id"])
            self.calls[-1].incident_id = answer["incident_id"]

    def dispatch(self) -> None:
        if (incident_id := self.incidents.pick(self.rng)) is not None:
            self._post("dispatch", operator(self.thread), incident_id, {}, "")

    def override(self) -> None:
        if (incident_id := self.incidents.pick(self.rng)) is not None:
            body = {"van_id": self.rng.choice(VANS), "reason": f"override {self.marker}"}
            self._post("override", operator(self.thread), incident_id, body, body["reason"])

    def cancel(self) -> None:
        if (incident_id := self.incidents.pick(self.rng)) is not None:
            body = {"reason": f"cancel {self.marker}"}
            self._post("cancel", operator(self.thread), incident_id, body, body["reason"])
            if self.calls[-1].status == 200:
                self.incidents.finished(incident_id)

    def close(self) -> None:
        if (incident_id := self.incidents.pick(self.rng)) is not None:
            self._post("close", operator(self.thread), incident_id, {}, "")
            if self.calls[-1].status == 200:
                self.incidents.finished(incident_id)

    def crew_step(self) -> None:
        """Looks the incident up (through any server), then its van's crew takes a step."""
        incident_id = self.incidents.pick(self.rng)
        if incident_id is None:
            return
        url = self.rng.choice(self.urls)
        seen = self.http.get(
            f"{url}/api/incidents/{incident_id}",
            headers=bearer(self.tokens[operator(self.thread)]),
        ).json()
        steps = CREW_STEP.get(seen["status"])
        if seen["van_id"] is None or steps is None:
            return
        action = self.rng.choice(steps)
        body: dict[str, Any] = {}
        marker = ""
        if action == "accept":
            eta = round(10 + self.thread + len(self.calls) / 100, 2)
            body, marker = {"eta_min": eta}, str(eta)
        elif action == "decline":
            body = {"reason": f"decline {self.marker}"}
            marker = body["reason"]
        elif action == "resolve":
            body = {"outcome": "repaired_on_site", "tow_station_id": None}
        elif action == "complete":
            body = {"customer_signed": True, "satisfaction": 4}
        self._post(action, crew(seen["van_id"], self.thread), incident_id, body, marker)


def hammer(urls: list[str], tokens: dict[str, str], load: Load) -> list[Call]:
    incidents = OpenIncidents()
    clients = [Client(t, urls, tokens, incidents, load.requests) for t in range(load.threads)]
    errors: list[BaseException] = []

    def run(client: Client) -> None:
        try:
            client.run()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return [call for client in clients for call in client.calls]


# -- reading the store -----------------------------------------------------------------------


@dataclass
class Stored:
    """One stored event: its place in the log, the write it came in, and the event itself."""

    position: int
    write: int
    name: str  # e.g. "Incident.Offered"
    aggregate: str
    event: Any


def write_ends(url: str) -> list[int]:
    """The last notification id of every write (transaction), from the hash chain's table."""
    query = "SELECT last_id FROM event_chain ORDER BY first_id"
    if url.startswith("sqlite:"):
        with sqlite3.connect(sqlite_path_of(url)) as conn:
            return [row[0] for row in conn.execute(query)]
    with psycopg.connect(url) as pg:
        return [row[0] for row in pg.execute(query)]


def read_log(url: str, key: str) -> list[Stored]:
    app = bootstrap(Settings(db=url, cipher_key=key), follow=False)
    try:
        notes = app.store.recorder.select_notifications(start=None, limit=10**7)
        events = [(n.id, app.store.mapper.to_domain_event(n)) for n in notes]
    finally:
        app.close()
    ends = write_ends(url)
    stored, write = [], 0
    for position, event in events:
        while ends[write] < position:
            write += 1
        name = type(event).__qualname__
        stored.append(Stored(position, write, name, str(event.originator_id), event))
    return stored


# -- the checks ------------------------------------------------------------------------------


def replay_bindings(log: list[Stored]) -> list[str]:
    """Plays the log in order; every moment a van held two jobs, or van and job disagreed."""
    problems: list[str] = []
    van_of_uuid: dict[str, str] = {}
    holds: dict[str, str | None] = {}  # van -> incident, from the vans' events
    engaged: dict[str, bool] = {}
    with_van: dict[str, str] = {}  # incident -> van, while the incident is bound
    status: dict[str, str] = {}
    for i, s in enumerate(log):
        e = s.event
        if s.name == "Van.Registered":
            van_of_uuid[s.aggregate] = e.van_id
        elif s.name.startswith("Van."):
            van = van_of_uuid[s.aggregate]
            if s.name == "Van.Offered":
                if holds.get(van) is not None:
                    problems.append(
                        f"@{s.position} {van} offered {e.incident_id} while on {holds[van]}"
                    )
                holds[van], engaged[van] = e.incident_id, False
            elif s.name in ("Van.Engaged", "Van.Released"):
                if holds.get(van) != e.incident_id:
                    problems.append(
                        f"@{s.position} {s.name} for {e.incident_id}, but {van} "
                        f"holds {holds.get(van)}"
                    )
                engaged[van] = s.name == "Van.Engaged"
                if s.name == "Van.Released":
                    holds[van] = None
        elif s.name.startswith("Incident."):
            step = s.name.split(".")[1]
            if step == "Offered":
                others = [o for o, v in with_van.items() if v == e.van_id and o != s.aggregate]
                if others:
                    problems.append(
                        f"@{s.position} {s.aggregate} offered to {e.van_id}, which is with {others}"
                    )
                with_van[s.aggregate] = e.van_id
                status[s.aggregate] = "offered"
            elif step in ("Declined", "OfferExpired", "Queued", "Completed", "Cancelled"):
                with_van.pop(s.aggregate, None)
            elif step == "Accepted":
                status[s.aggregate] = "accepted"
        last_of_write = i + 1 == len(log) or log[i + 1].write != s.write
        if last_of_write:
            from_vans = {v: inc for v, inc in holds.items() if inc is not None}
            from_incidents = {v: inc for inc, v in with_van.items()}
            if from_vans != from_incidents:
                problems.append(
                    f"after write @{s.position}: vans hold {from_vans}, incidents "
                    f"are with {from_incidents}"
                )
            for van, incident in from_vans.items():
                if engaged[van] != (status.get(incident) != "offered"):
                    problems.append(
                        f"after write @{s.position}: {van} engaged={engaged[van]} "
                        f"on {incident} ({status.get(incident)})"
                    )
    return problems


def recorded_as(call: Call, event: Any) -> bool:
    """Whether a stored event carries what this request sent: its caller and its own data."""
    if event.actor.get("name") != call.user:
        return False
    if call.action == "accept":
        return str(event.eta_min) == call.marker
    if call.action in ("cancel", "decline"):
        return bool(event.reason == call.marker)
    if call.action == "override":
        return bool(event.decision["reason"] == call.marker)
    return True


def unaccounted(calls: list[Call], log: list[Stored], first_position: int) -> list[str]:
    """2xx answers missing from the log, and callers' writes that no 2xx answer accounts for."""
    problems: list[str] = []
    at = {(s.aggregate, s.event.originator_version): s for s in log if s.name.startswith("Inc")}
    accounted: set[int] = set()  # writes
    for call in calls:
        if not 200 <= call.status < 300:
            continue
        version = 1 if call.action == "report" else call.body["version"]
        wanted = [(RECORDS.get(call.action), version)]
        if call.action == "decline":
            wanted = [("Declined", version - 1)]  # then the re-offer, by the system
        elif call.action == "dispatch":
            kind = "Offered" if call.body["status"] == "offered" else "Queued"
            wanted = [(kind, version)]
        for kind, v in wanted:
            stored = at.get((str(call.incident_id), v))
            if stored is None or stored.name != f"Incident.{kind}":
                problems.append(
                    f"{call}: no Incident.{kind} at version {v} "
                    f"(found {stored.name if stored else None})"
                )
            elif recorded_as(call, stored.event):
                accounted.add(stored.write)
            elif not (call.action == "dispatch" and kind == "Queued"):
                # A call already queued stays queued and records nothing: that one may differ.
                problems.append(f"{call}: the event at version {v} is {stored.event.actor}'s")
    for s in log:
        if s.position < first_position:
            continue
        actor = getattr(s.event, "actor", None)
        if not actor:
            problems.append(f"@{s.position} {s.name} has no actor")
        elif actor.get("role") != "system" and s.write not in accounted:
            problems.append(f"@{s.position} {s.name} by {actor} has no 2xx answer")
    return problems


def play(url: str, processes: int, logs: Path, load: Load = DEFAULT_LOAD) -> None:
    key = new_key()
    tokens = seed_store(url, key, load.threads)
    first_position = read_log(url, key)[-1].position + 1
    with servers(url, key, processes, logs) as started:
        calls = hammer([s.url for s in started], tokens, load)
    # Every answer is a decision (2xx; 409 for a step that no longer fits; 403 for a crew step
    # on an incident that has meanwhile gone to another van): no 5xx, no other 4xx for
    # well-formed requests by the right people.
    statuses = sorted({c.status for c in calls})
    moved_on = [c for c in calls if c.status == 403]
    assert set(statuses) <= {200, 201, 403, 409}, [
        c for c in calls if c.status not in (200, 201, 403, 409)
    ]
    assert all(c.user.startswith("crew-") and "is not with van" in str(c.body) for c in moved_on), (
        moved_on
    )
    done = [c for c in calls if c.status < 300]
    # The runs must have raced: both outcomes, for dispatches and crew steps alike.
    assert any(c.status == 409 for c in calls) and len(done) >= len(calls) // 4, statuses
    assert {c.action for c in done} >= {"report", "dispatch", "override", "accept", "cancel"}
    log = read_log(url, key)
    assert replay_bindings(log) == []
    assert unaccounted(calls, log, first_position) == []


def test_two_processes_on_one_sqlite_file(sqlite_url: str, tmp_path: Path) -> None:
    play(sqlite_url, 2, tmp_path)


@pytest.mark.postgres
def test_three_processes_on_one_postgres_database(postgres_url: str, tmp_path: Path) -> None:
    play(postgres_url, 3, tmp_path)


@pytest.mark.slow
def test_many_more_requests_through_several_processes(store_url: str, tmp_path: Path) -> None:
    play(store_url, 2 if store_url.startswith("sqlite:") else 3, tmp_path, SOAK_LOAD)
