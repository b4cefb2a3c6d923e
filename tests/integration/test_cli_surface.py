"""The command line as a newcomer meets it: every option's `--help` says what it falls back
to, flags print as flags, `network export` writes the store's network, and `simulate` will not
write into the default store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from rescue.cli.main import app
from rescue.simulator.network import build_network
from tests.builders import line_network, load, open_app


def commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable command's words, e.g. ("users", "add")."""
    if hasattr(group, "commands"):
        found = []
        for name, sub in group.commands.items():
            found += commands(sub, (*path, name))
        return found
    return [path]


def unexplained_options(command: Any) -> list[str]:
    """Options whose help shows no default: not a flag, not required, no default shown."""
    missing = []
    for param in command.params:
        if param.param_type_name != "option" or param.is_flag or param.required:
            continue
        shown = param.show_default
        if isinstance(shown, str) and shown:
            continue
        if param.default is not None and shown is not False:
            continue
        missing.append(param.opts[0])
    return missing


def test_every_option_of_every_command_shows_its_default() -> None:
    root = typer.main.get_command(app)
    found = commands(root)
    assert ("serve",) in found and ("users", "list") in found
    missing = {}
    for words in found:
        command: Any = root
        for word in words:
            command = command.commands[word]
        if gaps := unexplained_options(command):
            missing[" ".join(words)] = gaps
    assert missing == {}, "give these options a default or show_default=..."


def test_serve_help_shows_where_each_setting_comes_from_and_flags_as_flags() -> None:
    serve = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert serve.exit_code == 0
    for shown in ("127.0.0.1", "8000", "sqlite:///var/rescue.db", "RESCUE_PORT"):
        assert shown in serve.output, serve.output
    backup = CliRunner().invoke(app, ["backup", "--help"], terminal_width=200)
    assert "--force / --no-force" in backup.output
    assert "<bool>" not in backup.output + serve.output


def test_network_export_writes_the_stores_network_and_the_demo_one_on_request(
    store_url: str, tmp_path: Path
) -> None:
    # 1. A store with two stations and their vans.
    with open_app(store_url) as rescue:
        stations, vans = line_network(2)
        load(rescue, stations, vans)
    # 2. The export names exactly them.
    out = tmp_path / "network.geojson"
    result = CliRunner().invoke(app, ["network", "export", str(out), "--db", store_url])
    assert result.exit_code == 0, result.output
    features = json.loads(out.read_text())["features"]
    assert [f["properties"]["station_id"] for f in features] == ["S1", "S2"]
    assert [v["van_id"] for f in features for v in f["properties"]["vans"]] == ["V1", "V2"]
    # 3. It reads back with `network import` into another store unchanged.
    again = tmp_path / "again.db"
    imported = CliRunner().invoke(
        app, ["network", "import", str(out), "--db", f"sqlite:///{again}"]
    )
    assert imported.exit_code == 0 and "added 2 stations and 2 vans" in imported.output
    # 4. --demo writes the generated demo network instead.
    result = CliRunner().invoke(app, ["network", "export", str(out), "--demo"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["features"]) == len(build_network().stations)


def test_simulate_refuses_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESCUE_DB", raising=False)
    result = CliRunner().invoke(app, ["simulate", "--minutes", "0.1"])
    assert result.exit_code == 2
    assert "--db" in result.output
    assert not (tmp_path / "var").exists()
