"""`kill -9` of a busy server at random moments, on SQLite and on PostgreSQL.

Crews and an operator work calls through a real `rescue serve` process: new
calls, dispatches, every crew step and GPS batches, each request with its own
Idempotency-Key. At a random moment the server is killed; it is restarted on
the same store and each client sends its unanswered request again with the
same key, as a client would. Then:

- every acknowledged write is there (calls, their last acknowledged status,
  every acknowledged GPS fix) and nothing is there twice (one incident per
  call key, no step event repeated, one event per fix of each batch key);
- the persisted read models, once caught up, equal a rebuild from scratch.

GPS batches are deduplicated by their Idempotency-Key (the reply is stored in
the batch's own transaction); a batch sent again without a key would be
stored again, so tablets send one.

The default run kills three times per store; the `slow` run twenty times. The
workload and the kill moments come from a seeded generator: the seed is
printed, and RESCUE_CRASH_SEED replays it (thread timing aside).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.ids import track_uuid
from rescue.domain.validation import vin_with_check_digit
from rescue.domain.vocabulary import CAPABILITY_FOR_FAULT
from rescue.projections.runner import rebuild
from rescue.projections.storage import ViewStore
from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.e2e.conftest import NETWORK
from tests.integration.test_projections import stored_docs
from tests.live import LiveServer, bearer, seed
from tests.support import free_port

CREWS = 6  # one client thread per van, each working its own calls
STATIONS = {s.station_id: s for s in NETWORK.stations}
# The crew steps of a call worked to the end, after the operator's dispatch.
WORK = [
    ("accept", {"eta_min": 30}),
    ("depart", None),
    ("arrive", None),
    ("resolve", {"outcome": "repaired_on_site", "tow_station_id": None}),
    ("complete", {"customer_signed": True, "satisfaction": 5}),
]
# Statuses in which an operator may still cancel without a crew step racing it.
CANCELLABLE = ("offered", "accepted")


class Interrupted(Exception):
    """The server went away before answering: the request is unacknowledged."""


@dataclass
class Request:
    method: str
    path: str
    body: Any
    token: str
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def send(self, http: httpx.Client) -> tuple[int, Any]:
        try:
            answer = http.request(
                self.method,
                self.path,
                json=self.body,
                headers={**bearer(self.token), "Idempotency-Key": self.key},
            )
        except httpx.TransportError as error:
            raise Interrupted(str(error)) from error
        return answer.status_code, answer.json()


@dataclass
class Crew:
    """One van's crew and the operator's calls for it: a call at a time, worked to the end."""

    van_id: str
    token: str
    op_token: str
    rng: random.Random
    incident_id: str | None = None
    stage: int = 0  # 0 report, 1 dispatch, 2.. crew steps, then close
    status: dict[str, str] = field(default_factory=dict)  # incident -> last acknowledged
    fixes: int = 0  # acknowledged GPS fixes
    batches: int = 0
    pending: Request | None = None  # sent, never answered
    acknowledged: int = 0

    def next_request(self) -> Request:
        if self.rng.random() < 0.35:
            return self._gps()
        if self.incident_id is None:
            return self._report()
        if self.stage == 1:
            return Request(
                "POST",
                f"/api/incidents/{self.incident_id}/dispatch",
                {"van_id": self.van_id, "reason": "the crew's own van, by arrangement"},
                self.op_token,
            )
        if self.status[self.incident_id] in CANCELLABLE and self.rng.random() < 0.05:
            return Request(
                "POST",
                f"/api/incidents/{self.incident_id}/cancel",
                {"reason": "the customer got going"},
                self.op_token,
            )
        if self.stage - 2 < len(WORK):
            action, body = WORK[self.stage - 2]
            return Request("POST", f"/api/incidents/{self.incident_id}/{action}", body, self.token)
        return Request("POST", f"/api/incidents/{self.incident_id}/close", None, self.op_token)

    def _report(self) -> Request:
        van = next(v for v in NETWORK.vans if v.van_id == self.van_id)
        home = STATIONS[van.station_id]
        category = self.rng.choice(
            [
                c.value
                for c, needs in CAPABILITY_FOR_FAULT.items()
                if needs.value in van.capabilities
            ]
        )
        body = {
            "caller": {"name": "李雷", "phone": f"139{self.rng.randrange(10**8):08d}"},
            "vehicle": {
                "vin": vin_with_check_digit("LJNTGU2S0JN000001"),
                "plate": "豫A12345",
                "model_series": "D22",
                "odometer_km": 12000,
                "sold_on": "2025-03-01",
            },
            "location": {
                "lat": home.lat + self.rng.uniform(-0.05, 0.05),
                "lon": home.lon + self.rng.uniform(-0.05, 0.05),
                "description": "crash loop",
            },
            "fault": {"category": category, "description": "stopped"},
            "safety": {"at_night": self.rng.random() < 0.3},
        }
        return Request("POST", "/api/incidents", body, self.op_token)

    def _gps(self) -> Request:
        now = datetime.now(UTC)
        reports = [
            {
                "lat": 34.7 + self.rng.random() / 10,
                "lon": 113.6 + self.rng.random() / 10,
                "recorded_at": (now - timedelta(seconds=5 - n)).isoformat(),
            }
            for n in range(self.rng.randint(1, 5))
        ]
        return Request("POST", f"/api/vans/{self.van_id}/positions", reports, self.token)

    def answered(self, request: Request, status: int, body: Any) -> None:
        assert 200 <= status < 300, (request.path, status, body)
        self.acknowledged += 1
        if request.path.endswith("/positions"):
            self.fixes += int(body["accepted"])
            self.batches += 1
            return
        if request.path == "/api/incidents":
            self.incident_id = str(body["incident_id"])
        assert self.incident_id is not None
        self.status[self.incident_id] = str(body["status"])
        self.stage += 1
        if self.status[self.incident_id] in ("closed", "cancelled"):
            self.incident_id, self.stage = None, 0

    def work(self, url: str, stop: threading.Event) -> None:
        """Sends requests one after another until stopped or the server dies."""
        with httpx.Client(base_url=url, timeout=60) as http:
            while not stop.is_set():
                request = self.pending or self.next_request()
                self.pending = request
                try:
                    status, body = request.send(http)
                except Interrupted:
                    return
                self.pending = None
                self.answered(request, status, body)


def _check(app: Rescue, live: LiveServer, op_token: str, crews: list[Crew]) -> None:
    """Nothing acknowledged lost, nothing twice, read models equal to a rebuild."""
    with httpx.Client(base_url=live.url, timeout=60) as http:
        listed = http.get("/api/incidents", params={"limit": 1000}, headers=bearer(op_token))
    assert listed.status_code == 200
    stored = {i["incident_id"]: i["status"] for i in listed.json()}
    expected = {k: v for c in crews for k, v in c.status.items()}
    # Every call acknowledged is there, in its last acknowledged status, and no other.
    assert stored == expected
    for incident_id in expected:
        names = Counter(type(e).__qualname__ for e in app.store.events.get(uuid.UUID(incident_id)))
        assert max(names.values()) == 1, (incident_id, names)
    for crew in crews:
        track = app.store.repository.get(track_uuid(crew.van_id))
        assert track.version == 1 + crew.fixes, (crew.van_id, track.version, crew.fixes)
    # The read models catch up with the log, and equal a rebuild from scratch.
    views = ViewStore(live.db)
    try:
        deadline = time.monotonic() + 60
        while views.position() < (app.store.recorder.max_notification_id() or 0):
            assert time.monotonic() < deadline, "read models not caught up"
            time.sleep(0.05)
    finally:
        views.close()
    assert stored_docs(live.db) == rebuild(app.store, None).docs


def crash_loop(store_url: str, tmp_path: Path, kills: int) -> None:
    seed_value = int(os.environ.get("RESCUE_CRASH_SEED") or random.SystemRandom().randrange(2**31))
    print(f"\ncrash loop seed {seed_value} (replay: RESCUE_CRASH_SEED={seed_value})")
    rng = random.Random(seed_value)
    vans = [v.van_id for v in NETWORK.vans[:CREWS]]
    users = {"op": ("operator", None), **{f"crew-{v}": ("crew", v) for v in vans}}
    key = new_key()
    tokens = seed(Settings(db=store_url, cipher_key=key), NETWORK, users)
    crews = [
        Crew(v, tokens[f"crew-{v}"], tokens["op"], random.Random(rng.randrange(2**31)))
        for v in vans
    ]
    live = LiveServer(store_url, key, free_port(), tmp_path / "server.log")
    settings = {"offer_timeout_s": "3600", "rate_limit_per_s": "10000", "rate_limit_burst": "10000"}
    checker = bootstrap(Settings(db=store_url, cipher_key=key), follow=False)
    restarts: list[float] = []
    retried = 0
    started = time.monotonic()
    try:
        live.start(**settings)
        for _ in range(kills):
            # 1. Mixed load from every crew until a random moment, then kill -9.
            stop = threading.Event()
            threads = [
                threading.Thread(target=c.work, args=(live.url, stop), daemon=True) for c in crews
            ]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.3, 2.5))
            live.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
                assert not thread.is_alive()
            # 2. Restart on the same store; each client sends its unanswered request again.
            began = time.monotonic()
            live.start(**settings)
            restarts.append(time.monotonic() - began)
            with httpx.Client(base_url=live.url, timeout=60) as http:
                for crew in crews:
                    if crew.pending is not None:
                        status, body = crew.pending.send(http)
                        crew.answered(crew.pending, status, body)
                        crew.pending = None
                        retried += 1
            # 3. Nothing lost, nothing doubled, read models equal to a rebuild.
            _check(checker, live, tokens["op"], crews)
    finally:
        live.stop()
        checker.close()
    acknowledged = sum(c.acknowledged for c in crews)
    calls = sum(len(c.status) for c in crews)
    print(
        f"{kills} kills in {time.monotonic() - started:.1f} s: {acknowledged} writes acknowledged "
        f"({calls} calls, {sum(c.batches for c in crews)} GPS batches, "
        f"{sum(c.fixes for c in crews)} fixes), {retried} retried after a restart; "
        f"restart {min(restarts):.1f}-{max(restarts):.1f} s"
    )
    assert calls >= kills  # the load did reach the server between the kills
    assert retried > 0  # and some requests were caught in flight


def test_kill_9_under_mixed_load_loses_and_doubles_nothing(store_url: str, tmp_path: Path) -> None:
    crash_loop(store_url, tmp_path, kills=3)


@pytest.mark.slow
def test_kill_9_twenty_times_under_mixed_load(store_url: str, tmp_path: Path) -> None:
    crash_loop(store_url, tmp_path, kills=20)
