from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rescue.settings import Settings
from rescue.simulator.network import build_network
from rescue.store.privacy import new_key
from tests.live import LiveServer, seed
from tests.support import free_port

NETWORK = build_network()
# The operator's, the auditor's and two vans' crews' tokens; the first two vans of the
# demo network are HQ's tow truck and its repair van.
USERS = {
    "op": ("operator", None),
    "aud": ("auditor", None),
    "adm": ("admin", None),
    "crew-tow": ("crew", NETWORK.vans[0].van_id),
    "crew-repair": ("crew", NETWORK.vans[1].van_id),
}


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    key = new_key()
    tokens = seed(Settings(db=store_url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(db=store_url, key=key, port=free_port(), log_path=tmp_path / "server.log")
    live.start()
    try:
        yield live, tokens
    finally:
        live.stop()
