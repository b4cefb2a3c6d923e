"""`kill -9` right after acknowledged writes: after a restart every acknowledged change is there."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from rescue.bootstrap import bootstrap
from rescue.domain.ids import track_uuid
from rescue.settings import Settings
from tests.e2e.conftest import NETWORK
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer

REPAIR_VAN = NETWORK.vans[1].van_id


def test_acknowledged_writes_survive_kill_9(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, tokens = server
    op, crew = bearer(tokens["op"]), bearer(tokens["crew-repair"])
    start = datetime.now(UTC) - timedelta(minutes=30)

    def report(i: int) -> tuple[str, dict[str, object]]:
        key = f"call-{i}-{uuid.uuid4()}"
        with httpx.Client(base_url=live.url, timeout=30) as http:
            answer = http.post(
                "/api/incidents",
                json=report_body(phone=f"1390000{i:04d}"),
                headers={**op, "Idempotency-Key": key},
            )
        assert answer.status_code == 201, answer.text
        return key, answer.json()

    def positions(batch: int) -> int:
        reports = [
            {
                "lat": 34.7 + batch * 0.001,
                "lon": 113.6 + n * 0.001,
                "recorded_at": (start + timedelta(seconds=batch * 10 + n)).isoformat(),
            }
            for n in range(5)
        ]
        with httpx.Client(base_url=live.url, timeout=30) as http:
            answer = http.post(f"/api/vans/{REPAIR_VAN}/positions", json=reports, headers=crew)
        assert answer.status_code == 202, answer.text
        return int(answer.json()["accepted"])

    # 1. Calls and position batches in parallel, as a busy hotline and fleet would send them.
    with ThreadPoolExecutor(8) as pool:
        reported = list(pool.map(report, range(12)))
        accepted_positions = sum(pool.map(positions, range(20)))
    # 2. A dispatch acknowledged as the last write before the crash.
    with httpx.Client(base_url=live.url, timeout=30) as http:
        last_id = reported[-1][1]["incident_id"]
        dispatched = http.post(f"/api/incidents/{last_id}/dispatch", json={}, headers=op)
        assert dispatched.status_code == 200
    live.kill()

    # 3. Read the store directly: every acknowledged change is there.
    app = bootstrap(Settings(db=live.db, cipher_key=live.key))
    try:
        for _, body in reported:
            assert app.queries.incident(str(body["incident_id"])).status.value in (
                "reported",
                "offered",
            )
        assert app.queries.incident(str(last_id)).status.value == "offered"
        assert app.queries.incident(str(last_id)).van_id == dispatched.json()["van_id"]
        track = app.store.repository.get(track_uuid(REPAIR_VAN))
        assert track.version == 1 + accepted_positions  # Started, then one event per position
    finally:
        app.close()

    # 4. After a restart, a retry of an acknowledged call returns the first answer, adds nothing.
    live.start()
    key, first = reported[0]
    with httpx.Client(base_url=live.url, timeout=30) as http:
        before = len(http.get("/api/incidents", headers=op).json())
        again = http.post(
            "/api/incidents",
            json=report_body(phone="13900000000"),
            headers={**op, "Idempotency-Key": key},
        )
        assert again.status_code == 201
        assert again.json() == first
        assert len(http.get("/api/incidents", headers=op).json()) == before == 12
