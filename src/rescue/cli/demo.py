"""`rescue demo`: the national network on embedded SQLite, a token per role, the server,
and the simulator taking calls and driving vans in real time.

The server runs as `rescue serve --workers N` (one process per core by
default; its log in var/demo/server.log), or, with one worker, in a background
thread of this process; the simulator runs on the main thread's event loop.
Ctrl-C stops the simulator, then the server, and exits 0. Calls and crews
are played through the HTTP API with real tokens; one van (HQ's repair van) is
left to a human with the printed crew token, so its offers wait for the tablet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

import typer

from rescue.api.workers import default_workers
from rescue.bootstrap import bootstrap
from rescue.domain.actors import Actor
from rescue.domain.validation import CHINA_TZ
from rescue.domain.vocabulary import Role
from rescue.progress import progress_bar
from rescue.settings import Settings
from rescue.simulator.engine import Simulation, StatusLine
from rescue.simulator.network import build_network
from rescue.simulator.scenarios import CrewBehaviour, ordinary_day
from rescue.simulator.server import ServerProcesses, ServerThread
from rescue.simulator.setup import issue_tokens, load_van_stock, load_with_progress
from rescue.simulator.sms_gateway import StandInGateway
from rescue.store.privacy import load_or_create_key

DEMO_DIR = Path("var/demo")
PAGES = (("console", "operator"), ("tablet", "crew"), ("audit", "auditor"))

# Real time, so a drive takes as long as it would; but crews are quick on the
# buttons (answer within half a minute, leave within another) so the console
# shows vans on the move in the first minute. A fix every 5 s, sent every 10 s.
DEMO_CREW = CrewBehaviour(
    answer_s=(5.0, 25.0), depart_s=(10.0, 30.0), fix_interval_s=5.0, fixes_per_post=2
)


def run_demo(
    *,
    host: str,
    port: int,
    db: str | None,
    calls_per_hour: float = 60.0,
    seed: int | None = None,
    speed: float = 1.0,
    token_lifetime: timedelta | None = timedelta(days=1),
    workers: int | None = None,
) -> None:
    key_file = DEMO_DIR / "cipher.key"
    _, created = load_or_create_key(key_file)
    if created:
        typer.echo(f"generated a cipher key for callers' data at {key_file} (demo only)")
    # The customers' texts go to a stand-in gateway on loopback, which keeps them.
    gateway = StandInGateway(record=DEMO_DIR / "sms.jsonl").start()
    settings = Settings(
        db=db or f"sqlite:///{DEMO_DIR / 'rescue.db'}",
        key_file=key_file,
        host=host,
        port=port,
        sms_url=gateway.send_url,
    )
    network = build_network()
    # HQ's repair van is left to the human with the tablet token.
    human_van = network.vans[1 if len(network.vans) > 1 else 0].van_id
    admin = Actor(role=Role.ADMIN, name="demo")
    rescue = bootstrap(settings)
    try:
        with progress_bar() as progress:
            stations, vans = load_with_progress(rescue, network, admin, progress=progress)
            # Parts on the vans, so crews fit from stock and dispatch weighs who carries what.
            if vans:
                load_van_stock(rescue, network, admin)
            sim_tokens = issue_tokens(
                rescue,
                [v.van_id for v in network.vans if v.van_id != human_van],
                prefix="demo-sim",
                progress=progress,
                expires_in=token_lifetime,
            )
        people = {
            "operator": ("demo-operator", Role.OPERATOR, None),
            "auditor": ("demo-auditor", Role.AUDITOR, None),
            "admin": ("demo-admin", Role.ADMIN, None),
            f"crew of {human_van}": (f"demo-crew-{human_van}", Role.CREW, human_van),
        }
        tokens = {
            role: rescue.access.add_user(name, kind, van, admin, expires_in=token_lifetime)
            for role, (name, kind, van) in people.items()
        }
    finally:
        rescue.close()
    typer.echo(
        f"network: {len(network.stations)} stations, {len(network.vans)} vans "
        f"({stations} stations and {vans} vans added now)"
    )

    count = workers or default_workers()
    server: ServerThread | ServerProcesses = (
        ServerThread(settings)
        if count == 1
        else ServerProcesses(settings, count, DEMO_DIR / "server.log")
    )
    server.start()
    typer.echo(f"server: {count} process{'es' if count > 1 else ''}")
    base = server.url
    try:
        for page, role in PAGES:
            typer.echo(f"{page:<9} {base}/{page}   ({role})")
        typer.echo(f"{'API docs':<9} {base}/docs")
        typer.echo(f"{'texts':<9} {gateway.url}/messages   (stand-in SMS gateway)")
        typer.echo(f"{'health':<9} {base}/healthz")
        for role, token in tokens.items():
            typer.echo(f"token for {role}: {token}")
        lasting = "until revoked" if token_lifetime is None else f"for {token_lifetime}"
        typer.echo(f"tokens work {lasting} (--token-lifetime)")
        seed = seed if seed is not None else int(time.time()) % 1_000_000
        scenario = ordinary_day(
            start=datetime.now(CHINA_TZ), hours=None, calls_per_hour=calls_per_hour
        ).replace(first_call_at_s=3.0, crew=DEMO_CREW)
        typer.echo(
            f"simulator: {calls_per_hour:g} calls/hour (day average, shaped by the hour), "
            f"{speed:g}x real time, seed {seed}; Ctrl-C stops"
        )
        simulation = Simulation(
            base,
            sim_tokens,
            scenario,
            seed=seed,
            speed=speed,
            exclude_vans={human_van},
            status_every_s=15.0,
            on_status=_print_status,
        )
        logging.basicConfig(level=logging.WARNING)
        try:
            asyncio.run(simulation.run())
        except KeyboardInterrupt:
            typer.echo("stopping")
    finally:
        server.stop()
        gateway.stop()
    typer.echo("stopped")


def _print_status(line: StatusLine) -> None:
    typer.echo(str(line))
