"""Getting a store ready: `rescue network export` / `import` round trip, and real tokens per van."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rescue.bootstrap import bootstrap
from rescue.cli.main import app as cli
from rescue.places.geojson import network_geojson
from rescue.settings import Settings
from rescue.simulator.network import build_network
from rescue.simulator.setup import issue_tokens, load_with_progress, network_subset
from rescue.store.privacy import new_key
from tests.support import sqlite_url_for


def test_network_export_then_import_loads_every_station_and_van_once(tmp_path: Path) -> None:
    runner = CliRunner()
    geojson = tmp_path / "network.geojson"
    db = sqlite_url_for(tmp_path / "rescue.db")
    network = build_network()

    # 1. Export the demo network; import it into an empty store.
    assert runner.invoke(cli, ["network", "export", str(geojson), "--demo"]).exit_code == 0
    imported = runner.invoke(cli, ["network", "import", str(geojson), "--db", db])
    assert imported.exit_code == 0, imported.output
    assert f"added {len(network.stations)} stations and {len(network.vans)} vans" in imported.output

    # 2. The store now holds exactly that network, vans on duty at their stations.
    app = bootstrap(Settings(db=db, cipher_key=new_key()))
    try:
        assert set(app.view.stations) == {s.station_id for s in network.stations}
        assert set(app.view.vans) == {v.van_id for v in network.vans}
        van = network.vans[5]
        stored = app.runner.van(van.van_id)
        assert stored.station_id == van.station_id and stored.on_duty
        assert app.runner.station(network.stations[3].station_id).lat == network.stations[3].lat
    finally:
        app.close()

    # 3. Importing again adds nothing.
    again = runner.invoke(cli, ["network", "import", str(geojson), "--db", db])
    assert again.exit_code == 0 and "added 0 stations and 0 vans" in again.output


def test_a_broken_file_is_refused_and_adds_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    db = sqlite_url_for(tmp_path / "rescue.db")
    data = network_geojson(network_subset(build_network(), ["Henan"]))
    data["features"][2]["properties"]["tier"] = "castle"
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(data))
    result = runner.invoke(cli, ["network", "import", str(bad), "--db", db])
    assert result.exit_code == 2
    assert "castle" in result.output
    app = bootstrap(Settings(db=db, cipher_key=new_key()))
    try:
        assert app.view.stations == {}
    finally:
        app.close()


def test_tokens_are_real_and_bound_to_their_van(tmp_path: Path) -> None:
    settings = Settings(db=sqlite_url_for(tmp_path / "rescue.db"), cipher_key=new_key())
    henan = network_subset(build_network(), ["Henan"])
    app = bootstrap(settings)
    try:
        load_with_progress(app, henan)
        tokens = issue_tokens(app, [v.van_id for v in henan.vans[:3]], prefix="t")
        operator = app.access.authenticate(tokens.operator)
        assert operator is not None and operator.role == "operator"
        for van_id, token in tokens.crews.items():
            crew = app.access.authenticate(token)
            assert crew is not None and (crew.role, crew.van_id) == ("crew", van_id)
        assert len(set(tokens.crews.values())) == 3
    finally:
        app.close()
