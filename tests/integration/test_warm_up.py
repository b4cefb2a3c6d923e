"""A server process does its first-use work while it starts, not in its first requests
(api/warm_up.py): every route built, the cipher loaded, the odometers catching up."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from rescue.api.main import create_app
from rescue.bootstrap import bootstrap
from rescue.domain.ids import track_uuid
from rescue.domain.tracks import VanTrack
from tests.builders import ZZ_LAT, ZZ_LON, line_network, load, settings_for


def test_no_route_is_built_by_the_first_request(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    original = fastapi.routing.get_dependant

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs.get("path", ""))
        return original(*args, **kwargs)

    # FastAPI builds an included router's routes (their dependencies) on first use.
    monkeypatch.setattr(fastapi.routing, "get_dependant", counted)
    with TestClient(create_app(settings_for(store_url))) as client:
        assert built, "nothing was built while the server started"
        at_start = len(built)
        for path in ("/api/incidents", "/api/vans/V1", "/api/parts/catalogue", "/healthz"):
            client.get(path)
        assert built[at_start:] == []


def test_the_odometers_catch_up_without_waiting_for_a_dispatch(store_url: str) -> None:
    settings = settings_for(store_url)
    app = bootstrap(settings)
    try:
        load(app, *line_network(2))
        track: VanTrack = app.store.repository.get(track_uuid("V1"))
        start = datetime.now(UTC) - timedelta(hours=1)
        for minute, lat in enumerate((ZZ_LAT, ZZ_LAT + 0.05, ZZ_LAT + 0.1)):
            track.report(lat, ZZ_LON, start + timedelta(minutes=5 * minute))
        app.store.save(track)
    finally:
        app.close()
    with TestClient(create_app(settings)) as client:
        served = client.app.state.rescue  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        # Read as the odometer stands, without asking for a catch-up (which km_driven would).
        while served.upkeep._km("V1") == 0.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served.upkeep._km("V1") > 10.0


def test_the_cipher_is_loaded_before_the_first_call(store_url: str) -> None:
    settings = settings_for(store_url)
    bootstrap(settings).close()  # a store that exists, as a restarted server finds it
    # A fresh interpreter: this one has loaded the cipher's modes in earlier tests. GCM
    # loads its counter mode (and its C binding) when it is first used.
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from rescue.api.main import create_app\n"
        "from rescue.settings import Settings\n"
        f"settings = Settings(db={store_url!r}, cipher_key={settings.resolved_key()!r})\n"
        "with TestClient(create_app(settings)):\n"
        "    print('Crypto.Cipher._mode_ctr' in sys.modules)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert shown.stdout.strip().splitlines()[-1] == "True", shown.stderr[-2000:]
