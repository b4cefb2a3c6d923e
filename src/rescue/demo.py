"""`rescue demo`: the national network on embedded SQLite, a token per role, and the server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer
import uvicorn

from rescue.actors import Actor
from rescue.application import RescueApp, load_network
from rescue.privacy import load_or_create_key
from rescue.settings import Settings
from rescue.simulator.network import build_network
from rescue.vocabulary import Role

DEMO_DIR = Path("var/demo")


def run_demo(*, host: str, port: int, db: str | None) -> None:
    key_file = DEMO_DIR / "cipher.key"
    _, created = load_or_create_key(key_file)
    if created:
        typer.echo(f"generated a cipher key for callers' data at {key_file} (demo only)")
    settings = Settings(
        db=db or f"sqlite:///{DEMO_DIR / 'rescue.db'}",
        key_file=key_file,
        host=host,
        port=port,
    )
    network = build_network()
    rescue = RescueApp(settings)
    admin = Actor(role=Role.ADMIN, name="demo")
    stations, vans = load_network(
        rescue,
        [dataclasses.asdict(s) for s in network.stations],
        [dataclasses.asdict(v) for v in network.vans],
        admin,
    )
    typer.echo(
        f"network: {len(network.stations)} stations, {len(network.vans)} vans "
        f"({stations} stations and {vans} vans added now)"
    )
    first_van = network.vans[0].van_id
    tokens = {
        "operator": rescue.add_user("demo-operator", Role.OPERATOR, None, admin),
        "auditor": rescue.add_user("demo-auditor", Role.AUDITOR, None, admin),
        "admin": rescue.add_user("demo-admin", Role.ADMIN, None, admin),
        f"crew of {first_van}": rescue.add_user(
            f"demo-crew-{first_van}", Role.CREW, first_van, admin
        ),
    }
    rescue.close()
    base = f"http://{host}:{port}"
    typer.echo(f"API docs:  {base}/docs")
    typer.echo(f"health:    {base}/healthz")
    for role, token in tokens.items():
        typer.echo(f"token for {role}: {token}")

    from rescue.api.main import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
