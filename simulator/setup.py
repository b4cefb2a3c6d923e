"""Getting a store ready for a simulation: the network, and a real token per role and van.

Tokens are issued with `RescueApp.add_user`, exactly as `rescue users add`
does, so the simulator authenticates like any operator or tablet. These
helpers write to the store directly and therefore need its URL (`--db`); the
server may be running meanwhile, it reads other writers' events as they land.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rescue.domain.actors import Actor
from rescue.domain.vocabulary import Role
from rescue.services.application import RescueApp, load_network
from rescue.simulator.engine import SimTokens
from rescue.simulator.network import Network

__all__ = ["SIM_ADMIN", "issue_tokens", "load_with_progress", "network_subset", "progress_bar"]

SIM_ADMIN = Actor(role=Role.ADMIN, name="simulator")


def progress_bar(console: Console | None = None) -> Progress:
    """The progress display of long steps (rich draws it only on a terminal)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def network_subset(network: Network, provinces: Iterable[str]) -> Network:
    """The stations of the given provinces and their vans."""
    wanted = set(provinces)
    stations = tuple(s for s in network.stations if s.province in wanted)
    if not stations:
        raise ValueError(f"no stations in {sorted(wanted)}")
    ids = {s.station_id for s in stations}
    return Network(stations=stations, vans=tuple(v for v in network.vans if v.station_id in ids))


def load_with_progress(
    app: RescueApp,
    network: Network,
    actor: Actor = SIM_ADMIN,
    *,
    progress: Progress | None = None,
    chunk: int = 200,
) -> tuple[int, int]:
    """`load_network` in chunks, advancing a progress bar; returns (stations, vans) added."""
    stations = [dataclasses.asdict(s) for s in network.stations]
    vans = [dataclasses.asdict(v) for v in network.vans]
    task = (
        progress.add_task("loading the network", total=len(stations) + len(vans))
        if progress is not None
        else None
    )
    added = [0, 0]
    # Stations first: a van is registered only at a known station.
    for kind, rows in ((0, stations), (1, vans)):
        for start in range(0, len(rows), chunk):
            part: Sequence[dict[str, Any]] = rows[start : start + chunk]
            got = (
                load_network(app, part, [], actor)
                if kind == 0
                else load_network(app, [], part, actor)
            )
            added[kind] += got[kind]
            if progress is not None and task is not None:
                progress.advance(task, len(part))
    return added[0], added[1]


def issue_tokens(
    app: RescueApp,
    van_ids: Iterable[str],
    *,
    prefix: str = "sim",
    progress: Progress | None = None,
) -> SimTokens:
    """A new operator token and one crew token per van (users `{prefix}-operator`,
    `{prefix}-crew-{van}`; issuing again adds a token, the old ones keep working)."""
    vans = list(van_ids)
    task = (
        progress.add_task("issuing crew tokens", total=len(vans) + 1)
        if progress is not None
        else None
    )
    operator = app.add_user(f"{prefix}-operator", Role.OPERATOR, None, SIM_ADMIN)
    crews: dict[str, str] = {}
    for van_id in vans:
        crews[van_id] = app.add_user(f"{prefix}-crew-{van_id}", Role.CREW, van_id, SIM_ADMIN)
        if progress is not None and task is not None:
            progress.advance(task)
    if progress is not None and task is not None:
        progress.advance(task)
    return SimTokens(operator=operator, crews=crews)
