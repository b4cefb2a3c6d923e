"""Webhooks through a real server: signed CloudEvents, in log order, at least once.

The receivers are real HTTP servers in their own processes that check every
signature and record every id; one is killed mid-stream and started again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.delivery_support import QUICK, Receiver, first_seen, logged_positions, wait_until
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer, seed
from tests.support import free_port

SECRET_A = "receiver-a-secret-0123456789"
SECRET_B = "receiver-b-secret-0123456789"


@pytest.fixture
def quick_server(store_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    key = new_key()
    tokens = seed(Settings(db=store_url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(db=store_url, key=key, port=free_port(), log_path=tmp_path / "server.log")
    live.start(**QUICK)
    try:
        yield live, tokens
    finally:
        live.stop()


def register(http: httpx.Client, admin: dict[str, str], url: str, secret: str) -> str:
    answer = http.post(
        "/api/webhooks",
        json={"url": url, "events": ["Incident.*"], "secret": secret},
        headers=admin,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["secret"] == secret
    return str(answer.json()["webhook_id"])


def test_every_incident_event_arrives_in_order_across_a_receiver_restart(
    quick_server: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    live, tokens = quick_server
    op, admin = bearer(tokens["op"]), bearer(tokens["adm"])
    flaky = Receiver(free_port(), SECRET_A, tmp_path / "a.jsonl").start()
    steady = Receiver(free_port(), SECRET_B, tmp_path / "b.jsonl").start()
    try:
        with httpx.Client(base_url=live.url, timeout=30) as http:
            flaky_id = register(http, admin, flaky.url, SECRET_A)
            register(http, admin, steady.url, SECRET_B)

            def call(n: int) -> None:
                reported = http.post(
                    "/api/incidents", json=report_body(phone=f"1380000{n:04d}"), headers=op
                )
                assert reported.status_code == 201, reported.text
                if n % 2 == 0:
                    url = f"/api/incidents/{reported.json()['incident_id']}"
                    assert http.post(f"{url}/dispatch", json={}, headers=op).status_code == 200
                    cancelled = http.post(f"{url}/cancel", json={"reason": "test"}, headers=op)
                    assert cancelled.status_code == 200

            # 1. Both receivers get the first calls.
            for n in range(3):
                call(n)
            so_far = logged_positions(live, "Incident.")
            wait_until(
                "the first calls reach the flaky receiver", lambda: set(so_far) <= set(flaky.ids())
            )

            # 2. The flaky receiver dies; the steady one still gets everything at once, and the
            #    flaky webhook is marked failing, its attempts visible.
            flaky.kill()
            for n in range(3, 7):
                call(n)
            so_far = logged_positions(live, "Incident.")
            wait_until("the steady receiver keeps up", lambda: steady.ids() == so_far)

            def flaky_failing() -> bool:
                hooks = http.get("/api/webhooks", headers=admin).json()
                return any(h["webhook_id"] == flaky_id and h["status"] == "failing" for h in hooks)

            wait_until("the flaky webhook is marked failing", flaky_failing)
            attempts = http.get(f"/api/webhooks/{flaky_id}/deliveries", headers=admin).json()
            failed = [a for a in attempts["attempts"] if a["outcome"] == "failed"]
            assert failed and all(a["error"] for a in failed)
            assert int(failed[0]["id"]) in so_far

            # 3. It comes back: it gets what it missed, then what follows, and is active again.
            flaky.start()
            for n in range(7, 9):
                call(n)
            expected = logged_positions(live, "Incident.")
            wait_until("the flaky receiver catches up", lambda: set(flaky.ids()) == set(expected))
            wait_until("the flaky webhook is active again", lambda: not flaky_failing())
            wait_until("the steady receiver has all", lambda: steady.ids() == expected)
    finally:
        flaky.kill()
        steady.kill()

    # Nothing lost, in log order; a repeat is only ever of an id already received.
    assert first_seen(flaky.ids()) == expected
    assert steady.ids() == expected  # never failed: exactly once
    for receiver in (flaky, steady):
        assert not [r for r in receiver.records() if "refused" in r]  # every signature held
        assert {r["specversion"] for r in receiver.records()} == {"1.0"}
        assert {r["type"].split(".")[0] for r in receiver.records()} == {"Incident"}


def test_registration_rules_and_secrets(
    quick_server: tuple[LiveServer, dict[str, str]],
) -> None:
    live, tokens = quick_server
    op, admin = bearer(tokens["op"]), bearer(tokens["adm"])
    with httpx.Client(base_url=live.url, timeout=30) as http:
        hook = {"url": "http://10.20.30.40:9000/hook", "events": ["Incident.Completed"]}
        assert http.post("/api/webhooks", json=hook, headers=op).status_code == 403
        assert http.get("/api/webhooks", headers=op).status_code == 403
        refused = [
            "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
            "http://[fe80::1]:8080/hook",
            f"http://127.0.0.1:{live.port}/api/incidents",  # the server itself
            f"http://localhost:{live.port}/",
            "ftp://10.0.0.1/hook",
            "file:///etc/passwd",
            "http://user:pass@10.0.0.1/hook",
        ]
        for url in refused:
            answer = http.post("/api/webhooks", json={**hook, "url": url}, headers=admin)
            assert answer.status_code == 422, (url, answer.text)
        bad_pattern = http.post(
            "/api/webhooks", json={**hook, "events": ["Incident.<script>"]}, headers=admin
        )
        assert bad_pattern.status_code == 422

        created = http.post("/api/webhooks", json=hook, headers=admin)
        assert created.status_code == 201, created.text
        webhook_id, secret = created.json()["webhook_id"], created.json()["secret"]
        assert len(secret) >= 32
        loopback = http.post(
            "/api/webhooks", json={**hook, "url": "http://127.0.0.1:1/hook"}, headers=admin
        )
        assert loopback.status_code == 201  # on-premise receivers on this machine are fine

        listed = http.get("/api/webhooks", headers=admin)
        assert listed.status_code == 200
        assert {h["webhook_id"] for h in listed.json()} == {
            webhook_id,
            loopback.json()["webhook_id"],
        }
        assert secret not in listed.text
        assert http.get(f"/api/webhooks/{webhook_id}/deliveries", headers=admin).status_code == 200
        assert http.delete(f"/api/webhooks/{webhook_id}", headers=admin).status_code == 204
        assert http.delete(f"/api/webhooks/{webhook_id}", headers=admin).status_code == 404
        assert http.get(f"/api/webhooks/{webhook_id}/deliveries", headers=admin).status_code == 404
    live.stop()
    assert secret not in live.log_path.read_text()


@pytest.mark.postgres
def test_two_servers_on_one_database_deliver_each_event_once(
    postgres_url: str, tmp_path: Path
) -> None:
    import psycopg

    key = new_key()
    tokens = seed(Settings(db=postgres_url, cipher_key=key), NETWORK, USERS)
    servers = [
        LiveServer(db=postgres_url, key=key, port=free_port(), log_path=tmp_path / f"s{i}.log")
        for i in range(2)
    ]
    receiver = Receiver(free_port(), SECRET_A, tmp_path / "r.jsonl").start()
    op, admin = bearer(tokens["op"]), bearer(tokens["adm"])
    try:
        for live in servers:
            live.start(**QUICK)
        with httpx.Client(timeout=30) as http:
            answer = http.post(
                f"{servers[0].url}/api/webhooks",
                json={"url": receiver.url, "events": ["Incident.*"], "secret": SECRET_A},
                headers=admin,
            )
            assert answer.status_code == 201, answer.text

            def calls(count: int, among: list[LiveServer]) -> None:
                for n in range(count):
                    live = among[n % len(among)]
                    body = report_body(phone=f"1370000{n:04d}")
                    reported = http.post(f"{live.url}/api/incidents", json=body, headers=op)
                    assert reported.status_code == 201, reported.text

            # 1. Calls taken by both servers: every event delivered once, by one of them.
            calls(8, servers)
            expected = logged_positions(servers[0], "Incident.")
            wait_until("every call is delivered", lambda: receiver.ids() == expected)

            # 2. The process delivering is killed; the other takes its lease over and goes on.
            with psycopg.connect(postgres_url) as conn:
                holder = conn.execute(
                    "SELECT holder FROM delivery_cursors WHERE target LIKE 'webhook:%'"
                ).fetchone()
            assert holder is not None
            pid = int(str(holder[0]).split(":")[1])
            killed = next(s for s in servers if s.proc is not None and s.proc.pid == pid)
            killed.kill()
            survivor = next(s for s in servers if s is not killed)
            calls(4, [survivor])
            expected = logged_positions(survivor, "Incident.")
            wait_until("the survivor delivers", lambda: set(receiver.ids()) == set(expected))
    finally:
        for live in servers:
            live.stop()
        receiver.kill()
    # Nothing lost, in log order; a repeat only of what the killed holder sent before it
    # could move its cursor.
    assert first_seen(receiver.ids()) == expected
