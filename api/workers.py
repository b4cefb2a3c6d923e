"""Several server processes behind one port: what each worker process starts from.

`rescue serve --workers N` holds the port and starts N processes under
uvicorn's supervisor, each listening on a socket of its own in the port's
`SO_REUSEPORT` group (rescue.api.shared_port), so the kernel spreads new
connections evenly over them. Each worker builds its own application from
the environment, the way the parent's settings were written into it
(`worker_environment`): its own store
connections, live board and log follower (so its sockets see every
process's writes), its own GPS writer. Timers and the read-model runner run in
the one process elected among them (rescue.store.leader).
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI
from pydantic import SecretStr

from rescue.api.main import create_app
from rescue.logs import configure
from rescue.settings import Settings


def default_workers() -> int:
    """One server process per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # platforms without CPU affinity
        return max(1, os.cpu_count() or 1)


def serve_workers() -> int:
    """How many processes `rescue serve` starts unless told: RESCUE_WORKERS, else one per core."""
    configured = os.environ.get("RESCUE_WORKERS", "").strip()
    return int(configured) if configured else default_workers()


def worker_environment(settings: Settings) -> dict[str, str]:
    """The `RESCUE_*` variables that give a worker process exactly these settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        # Complex settings are read from the environment as JSON, not as Python's repr.
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        env[f"RESCUE_{name.upper()}"] = text
    return env


def worker_app() -> FastAPI:
    """The application of one worker process (uvicorn's factory, called in the worker)."""
    settings = Settings()
    configure(settings.log_level, settings.log_format)
    return create_app(settings)
