"""A revocation through one process stops the token on every server of the same store.

Two real `rescue serve` processes on one store (PostgreSQL, or one SQLite
file) authenticate from their in-memory token books; `rescue users revoke`,
a third process, revokes the operator. Each server learns it from its log
follower, without any store read per request: both are polled until they refuse.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rescue.bootstrap import bootstrap
from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.builders import ADMIN, line_network, load
from tests.live import LiveServer, bearer
from tests.support import free_port

CLI = (sys.executable, "-m", "rescue.cli")
USERS = {"desk": ("operator", None), "aud": ("auditor", None)}
# Far beyond the second a revocation should take: only a server that never hears of it fails.
GIVE_UP_S = 60.0


@pytest.fixture
def two_servers(
    store_url: str, tmp_path: Path
) -> Iterator[tuple[list[LiveServer], dict[str, str], str]]:
    key = new_key()
    app = bootstrap(Settings(db=store_url, cipher_key=key))
    try:
        load(app, *line_network(1))
        tokens = {name: app.access.add_user(name, *user, ADMIN) for name, user in USERS.items()}
    finally:
        app.close()
    servers = [
        LiveServer(db=store_url, key=key, port=free_port(), log_path=tmp_path / f"server{i}.log")
        for i in range(2)
    ]
    try:
        for server in servers:
            server.start()
        yield servers, tokens, key
    finally:
        for server in servers:
            server.stop()


def _status(server: LiveServer, token: str) -> int:
    return httpx.get(f"{server.url}/api/vans", headers=bearer(token), timeout=10).status_code


def test_a_revocation_reaches_every_server_of_the_store(
    two_servers: tuple[list[LiveServer], dict[str, str], str], store_url: str
) -> None:
    servers, tokens, key = two_servers
    for server in servers:
        assert _status(server, tokens["desk"]) == 200
        assert _status(server, tokens["aud"]) == 200

    revoked = subprocess.run(
        [*CLI, "users", "revoke", "desk", "--db", store_url],
        env={**os.environ, "RESCUE_CIPHER_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked 1 token(s) of desk" in revoked.stdout

    waiting = set(range(len(servers)))
    deadline = time.monotonic() + GIVE_UP_S
    while waiting and time.monotonic() < deadline:
        for i in sorted(waiting):
            status = _status(servers[i], tokens["desk"])
            assert status in (200, 401)
            if status == 401:
                waiting.discard(i)
        time.sleep(0.05)
    assert not waiting, f"servers {sorted(waiting)} still accept the revoked token"
    for server in servers:
        refused = httpx.get(f"{server.url}/api/vans", headers=bearer(tokens["desk"]), timeout=10)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]
        # The other user's token is untouched.
        assert _status(server, tokens["aud"]) == 200


def test_a_token_issued_through_another_process_works_at_once_on_every_server(
    two_servers: tuple[list[LiveServer], dict[str, str], str], store_url: str
) -> None:
    servers, _, key = two_servers
    issued = subprocess.run(
        [*CLI, "users", "add", "new", "--role", "auditor", "--db", store_url],
        env={**os.environ, "RESCUE_CIPHER_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    for server in servers:
        assert _status(server, token) == 200
