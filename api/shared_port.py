"""One port, several server processes: each listens on a socket of its own.

uvicorn's supervisor binds one socket and hands that same socket to every
worker, which all accept on it: whichever process wakes first takes every
connection waiting, so a burst of connections (a load balancer's pool, a
fleet's trackers reconnecting) lands mostly on one process, which runs hot
while the other idles, and the connections stay there for their lifetime.
Here the supervisor's socket is a `PortShare`: bound with `SO_REUSEPORT`,
never listening, it keeps the port from programs that do not share ports,
and each worker that receives it gets a new socket bound to the same
address in the same group. The kernel hashes each new connection to one of
the workers' listeners.

A group takes in any socket of the same user that asks to join, so a second
`rescue serve` on the port would quietly get a share of the first one's
connections. The supervisor therefore also claims the port by name in the
abstract Unix socket namespace (gone with the process, whatever way it
ends): a second supervisor fails on the claim with an error saying so. A
program that listens on the port without `SO_REUSEPORT` keeps it from us, as
before.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from rescue.api.worker_cores import claim_core

# The name (in the abstract Unix socket namespace) by which a supervisor claims its port.
CLAIM_PREFIX = "rescue-serve-port-"


class PortShare(socket.socket):
    """The supervisor's hold on the port; a worker that receives it gets a listener of its own.

    Pickled into a worker process (as uvicorn's supervisor hands its sockets
    over), it is rebuilt as a new socket bound to the same address, and with
    `cores_shared_out` the worker first takes a core of its own
    (rescue.api.worker_cores): the one step every worker takes before it
    starts anything.
    """

    claim: socket.socket | None = None
    cores_shared_out = False

    def __reduce__(self) -> tuple[Any, tuple[int, str, int, str | None]]:
        host, port = self.getsockname()[:2]
        # The supervisor's pid and port name its workers' group of cores.
        cores = f"{os.getpid()}-{port}" if self.cores_shared_out else None
        return (worker_share, (int(self.family), host, port, cores))

    def close(self) -> None:
        if self.claim is not None:
            self.claim.close()
        super().close()


class PortTaken(OSError):
    """Another `rescue serve` holds the port."""


def hold_port(host: str, port: int) -> PortShare:
    """The supervisor's `PortShare` on (host, port), with its claim on the port.

    Raises PortTaken when another supervisor has claimed the port, OSError when
    the port cannot be bound (another program listens on it, no such address).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = port_share(int(family), host, port)
    port = sock.getsockname()[1]  # the one the system chose, if asked for port 0
    claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        claim.bind(f"\0{CLAIM_PREFIX}{port}")
    except OSError:
        claim.close()
        sock.close()
        raise PortTaken(f"another rescue serve is serving port {port}") from None
    sock.claim = claim
    return sock


def run_workers(
    listener: PortShare, app: str, count: int, *, pin_cores: bool = True, **uvicorn_options: Any
) -> None:
    """Runs `count` processes of `app` (an import string) under uvicorn's supervisor.

    The supervisor starts them, checks they answer, starts a new one when one
    dies and stops them all on SIGINT or SIGTERM; each listens on its own
    socket of `listener`'s port and, with `pin_cores`, runs on a core of its
    own while there are cores to go round. Returns when the supervisor stops.
    """
    listener.cores_shared_out = pin_cores
    config = uvicorn.Config(app, workers=count, **uvicorn_options)
    try:
        Multiprocess(config, sockets=[listener]).run()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()


def worker_share(family: int, host: str, port: int, cores: str | None) -> PortShare:
    """In a worker process: its listener on the port, after it took a core of `cores`."""
    if cores is not None:
        claim_core(cores)
    return port_share(family, host, port)


def port_share(family: int, host: str, port: int) -> PortShare:
    """A TCP socket bound to (host, port) in the port's `SO_REUSEPORT` group, inheritable."""
    sock = PortShare(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


__all__ = ["PortShare", "PortTaken", "hold_port", "port_share", "run_workers", "worker_share"]
