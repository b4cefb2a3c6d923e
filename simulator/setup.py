"""Getting a store ready for a simulation: the network, and a real token per role and van.

Tokens are issued with `AccessService.add_user`, exactly as `rescue users add`
does, so the simulator authenticates like any operator or tablet. These
helpers write to the store directly and therefore need its URL (`--db`); the
server may be running meanwhile, it reads other writers' events as they land.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import timedelta

from rich.progress import Progress

from rescue.bootstrap import Rescue
from rescue.domain.actors import Actor
from rescue.domain.vocabulary import Role
from rescue.places.network import Network
from rescue.services.network_import import import_network
from rescue.simulator.engine import SimTokens

__all__ = [
    "SIM_ADMIN",
    "issue_tokens",
    "load_van_stock",
    "load_with_progress",
    "network_subset",
]

SIM_ADMIN = Actor(role=Role.ADMIN, name="simulator")


def network_subset(network: Network, provinces: Iterable[str]) -> Network:
    """The stations of the given provinces and their vans."""
    wanted = set(provinces)
    stations = tuple(s for s in network.stations if s.province in wanted)
    if not stations:
        raise ValueError(f"no stations in {sorted(wanted)}")
    ids = {s.station_id for s in stations}
    return Network(stations=stations, vans=tuple(v for v in network.vans if v.station_id in ids))


def load_with_progress(
    app: Rescue,
    network: Network,
    actor: Actor = SIM_ADMIN,
    *,
    progress: Progress | None = None,
    chunk: int = 200,
) -> tuple[int, int]:
    """`import_network` advancing a progress bar; returns (stations, vans) added."""
    if progress is None:
        return import_network(app.network, network, actor, chunk=chunk)
    task = progress.add_task("loading the network", total=len(network.stations) + len(network.vans))
    return import_network(
        app.network, network, actor, chunk=chunk, advance=lambda done: progress.advance(task, done)
    )


def issue_tokens(
    app: Rescue,
    van_ids: Iterable[str],
    *,
    prefix: str = "sim",
    progress: Progress | None = None,
    expires_in: timedelta | None = None,
) -> SimTokens:
    """A new operator token and one crew token per van (users `{prefix}-operator`,
    `{prefix}-crew-{van}`; issuing again adds a token, the old ones keep working)."""
    vans = list(van_ids)
    task = (
        progress.add_task("issuing crew tokens", total=len(vans) + 1)
        if progress is not None
        else None
    )
    operator = app.access.add_user(
        f"{prefix}-operator", Role.OPERATOR, None, SIM_ADMIN, expires_in=expires_in
    )
    crews: dict[str, str] = {}
    for van_id in vans:
        crews[van_id] = app.access.add_user(
            f"{prefix}-crew-{van_id}", Role.CREW, van_id, SIM_ADMIN, expires_in=expires_in
        )
        if progress is not None and task is not None:
            progress.advance(task)
    if progress is not None and task is not None:
        progress.advance(task)
    return SimTokens(operator=operator, crews=crews)


# What a van is loaded with for each of its capabilities: part number and how many at most.
# Each part is loaded with probability `share`, so some vans lack a part that others carry
# and dispatch has to choose between nearer and better equipped.
VAN_KIT: dict[str, tuple[tuple[str, int], ...]] = {
    "battery": (("BAT-55", 4), ("BAT-80", 2)),
    "tire": (("TYR-215", 2), ("TYR-235", 2), ("TYR-255", 1), ("TYR-205", 1)),
    "repair": (("THM-82", 2), ("HOS-3", 2), ("FUS-15", 10)),
    "lockout": (("KEY-CR2", 5),),
}


def load_van_stock(
    app: Rescue,
    network: Network,
    actor: Actor = SIM_ADMIN,
    *,
    seed: int = 0,
    share: float = 0.6,
) -> int:
    """Loads each van's parts by its capabilities; returns how many vans got parts."""
    names = app.dispatch.likely_parts.names
    loaded = 0
    for van in network.vans:
        rng = random.Random(f"{seed}:stock:{van.van_id}")
        lines = [
            (part_no, names.get(part_no, part_no), rng.randint(1, most))
            for capability in van.capabilities
            for part_no, most in VAN_KIT.get(capability, ())
            if rng.random() < share
        ]
        if lines:
            app.parts.load_van(van.van_id, lines, "loaded at the station", actor)
            loaded += 1
    return loaded
