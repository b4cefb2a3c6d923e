"""What a server process does once at start, so its first requests do not pay for first use.

Measured on a server of 1,000 vans: the first operator call after a start took
about 100 ms, the next ones about 20 ms. Three things happened on first use:
FastAPI builds the state of an included router's routes (their dependencies
and fields) on the first request that reaches the router; the cipher library
loads its modes (and their C bindings) on the first encryption, which sealing
the caller's details is; and the first dispatch starts reading the whole log
into the vans' odometers, a thread that shares the interpreter with that call.
With `--workers`, each process met all three on its own first calls. Here
each process does them while it starts, before it takes requests (then 18 to
22 ms for the first call).
"""

from __future__ import annotations

import contextlib

from fastapi import FastAPI
from starlette.routing import NoMatchFound

from rescue.bootstrap import Rescue
from rescue.store.caller_keys import wrap
from rescue.store.privacy import new_key

# No route has this name, so looking it up walks (and so builds) every route.
_NO_ROUTE = "rescue.warm-up: no route has this name"


def warm_up(api: FastAPI, rescue: Rescue) -> None:
    """Builds every route, loads the cipher, and starts the odometers' catch-up."""
    with contextlib.suppress(NoMatchFound):
        api.url_path_for(_NO_ROUTE)
    wrap(new_key(), new_key())
    rescue.upkeep.catch_up_in_background()


__all__ = ["warm_up"]
