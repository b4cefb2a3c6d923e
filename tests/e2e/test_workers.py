"""`rescue serve --workers 2`: two server processes behind one port, on one store.

Requests and board sockets land on either process; every board client sees a
call taken through the port, whichever process took it (each follows the log).
The timers and the read-model runner run in one elected process; when it dies,
another takes the duty over.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from rescue.bootstrap import bootstrap
from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.builders import ADMIN, line_network, load, report
from tests.e2e.test_live_feeds import ws_url
from tests.live import LiveServer, bearer
from tests.support import free_port

BOARDS = 6
CONNECTIONS = 40
GIVE_UP_S = 90.0  # only a duty nobody takes over, or a change that never arrives, waits this long
ELECTED = re.compile(r"process (\d+) now runs ([\w-]+)")


@pytest.fixture
def two_workers(store_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    key = new_key()
    app = bootstrap(Settings(db=store_url, cipher_key=key))
    try:
        load(app, *line_network(2))
        token = app.access.add_user("desk", "operator", None, ADMIN)
    finally:
        app.close()
    live = LiveServer(
        db=store_url, key=key, port=free_port(), log_path=tmp_path / "server.log", workers=2
    )
    try:
        live.start(timeout=GIVE_UP_S * 3)  # two processes starting on a busy machine
        yield live, token
    finally:
        live.stop()


def _workers(live: LiveServer) -> set[int]:
    """The server's worker processes (its other child is multiprocessing's resource tracker)."""
    assert live.proc is not None
    children = Path(f"/proc/{live.proc.pid}/task/{live.proc.pid}/children").read_text()
    workers = set()
    for pid in children.split():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:  # gone since the list was read
            continue
        if b"spawn_main" in command:
            workers.add(int(pid))
    return workers


def _listeners(port: int) -> int:
    """How many sockets listen on the TCP port (IPv4), from the kernel's table."""
    listening = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            listening += 1
    return listening


def _elected(live: LiveServer) -> list[tuple[int, str]]:
    return [(int(m[1]), m[2]) for m in ELECTED.finditer(live.log_path.read_text())]


def _wait_until(check: Any, what: str, live: LiveServer | None = None) -> Any:
    """`check()`'s first true answer; gives up after GIVE_UP_S, with the end of the
    server's log when given the server (what its processes did meanwhile)."""
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    said = ""
    if live is not None:
        tail = live.log_path.read_text(errors="replace").splitlines()[-60:]
        workers = sorted(_workers(live)) if live.proc and live.proc.poll() is None else []
        listening = _listeners(live.port)
        said = (
            f"\nworkers now: {workers}; sockets listening on the port: {listening}"
            "\nthe server's last lines:\n" + "\n".join(tail)
        )
    raise AssertionError(f"gave up waiting: {what}{said}")


def _sees_incident(board: ClientConnection, incident_id: str) -> bool:
    """Reads the board until the incident's change comes; False if it has not within GIVE_UP_S
    (the heartbeats would otherwise keep the read going for ever)."""
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        message = json.loads(board.recv(timeout=GIVE_UP_S))
        items = message.get("changes", []) if message["type"] == "batch" else [message]
        if any(i.get("kind") == "incident" and i.get("id") == incident_id for i in items):
            return True
    return False


def test_two_workers_share_the_port_and_the_timers_are_elected_once(
    two_workers: tuple[LiveServer, str],
) -> None:
    live, token = two_workers
    _wait_until(lambda: len(_workers(live)) == 2, "two worker processes")
    workers = _workers(live)
    # Each takes its core as it receives its socket, before it listens.
    _wait_until(lambda: _listeners(live.port) == 2, "both workers listening", live)
    cores = {pid: os.sched_getaffinity(pid) for pid in workers}
    _assert_a_core_each(cores)

    # 1. Board clients spread over the workers; a call taken through the port reaches each.
    with ExitStack() as sockets:
        boards = [
            sockets.enter_context(connect(ws_url(live, "/ws/board", token=token)))
            for _ in range(BOARDS)
        ]
        for board in boards:
            assert json.loads(board.recv(timeout=GIVE_UP_S))["type"] == "snapshot"
        with httpx.Client(base_url=live.url, headers=bearer(token), timeout=30) as http:
            taken = http.post("/api/incidents", json=report())
            assert taken.status_code == 201, taken.text
            incident_id = taken.json()["incident_id"]
            assert http.post(f"/api/incidents/{incident_id}/dispatch", json={}).status_code < 300
        for board in boards:
            assert _sees_incident(board, incident_id)

    # 2. Each duty runs in exactly one of the workers.
    elected = _wait_until(
        lambda: (e := _elected(live)) and {d for _, d in e} >= {"timers", "read-models"} and e,
        "both duties elected",
        live,
    )
    assert sorted(d for _, d in elected) == ["read-models", "timers"]
    assert {pid for pid, _ in elected} <= workers
    timer_pid = next(pid for pid, duty in elected if duty == "timers")

    # 3. The timers' process dies: the supervisor starts another; one takes the timers over.
    os.kill(timer_pid, signal.SIGKILL)
    successor = _wait_until(
        lambda: next(
            (pid for pid, duty in _elected(live) if duty == "timers" and pid != timer_pid), None
        ),
        "another process runs the timers",
        live,
    )
    assert successor in _workers(live)
    assert [d for _, d in _elected(live)].count("timers") == 2
    # The worker started in its place runs on the core the dead one left.
    (started,) = _wait_until(lambda: (w := _workers(live) - workers) and w, "a new worker", live)
    # (It takes its core as it receives its socket, a moment after it starts.)
    _wait_until(lambda: os.sched_getaffinity(started) == cores[timer_pid], "the left core", live)
    _assert_a_core_each({pid: os.sched_getaffinity(pid) for pid in _workers(live)})
    assert httpx.get(f"{live.url}/api/vans", headers=bearer(token), timeout=30).status_code == 200


def _assert_a_core_each(cores: dict[int, set[int]]) -> None:
    """Each worker on a core of its own while there are enough; the rest on every core."""
    available = os.sched_getaffinity(0)
    pinned = [c for c in cores.values() if len(c) == 1]
    assert len(pinned) == min(len(cores), len(available)), cores
    assert len({frozenset(c) for c in pinned}) == len(pinned), cores  # no core twice
    assert all(c <= available for c in cores.values()), cores
    assert all(c == available for c in cores.values() if len(c) != 1 or len(available) == 1)


def test_a_burst_of_connections_is_spread_over_the_workers(
    two_workers: tuple[LiveServer, str],
) -> None:
    """Connections opened at once (a load balancer's pool, trackers coming back after an
    outage) land on both processes, not all on the one that accepted first. A request id
    starts with its process's own 16 hex digits, so each connection's answer says which
    process holds it."""
    live, _ = two_workers
    # A worker takes connections once it listens, at the end of its start-up.
    _wait_until(lambda: _listeners(live.port) == 2, "both workers listening", live)
    with ExitStack() as stack:
        connections = []
        for _ in range(CONNECTIONS):
            connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=GIVE_UP_S)
            connection.connect()
            stack.callback(connection.close)
            connections.append(connection)
        holders: dict[str, int] = {}
        for connection in connections:
            connection.request("GET", "/healthz")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            process = answer.headers["X-Request-ID"][:16]
            holders[process] = holders.get(process, 0) + 1
    # Hashed like coin tosses: fewer than 8 of 40 on one side happens about once in 10^5.
    assert len(holders) == 2, holders
    assert min(holders.values()) >= 8, holders


def _running(pid: int) -> bool:
    """Whether the process exists and has not exited (an exited one not yet reaped is a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_the_workers_stop_when_their_supervisor_is_killed(sqlite_url: str, tmp_path: Path) -> None:
    """Killed outright (the OOM killer, a SIGKILL), the supervisor cannot stop its workers:
    they stop themselves, instead of serving the port and holding the elected duties beside
    the workers of the next `rescue serve`."""
    key = new_key()
    bootstrap(Settings(db=sqlite_url, cipher_key=key)).close()
    live = LiveServer(
        db=sqlite_url, key=key, port=free_port(), log_path=tmp_path / "server.log", workers=2
    )
    live.start(timeout=GIVE_UP_S * 3)
    workers: set[int] = set()
    try:
        _wait_until(lambda: len(_workers(live)) == 2, "two worker processes", live)
        workers = _workers(live)
        assert live.proc is not None
        live.proc.kill()
        live.proc.wait(timeout=30)
        _wait_until(lambda: not any(_running(pid) for pid in workers), "the workers stopped", live)
        assert _listeners(live.port) == 0
    finally:
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        live.stop()
