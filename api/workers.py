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

import ctypes
import ctypes.util
import json
import multiprocessing
import os
import signal

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


# prctl(2)'s option: the signal this process gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1


def stop_with_supervisor() -> None:
    """Has the kernel send this worker SIGTERM when its supervisor dies (Linux).

    The supervisor stops its workers when told to stop; killed outright (the
    OOM killer, a SIGKILL), it cannot, and its workers would go on serving
    the port and holding the elected duties, next to the workers of the
    `rescue serve` started after it. SIGTERM ends a worker the way the
    supervisor would have: it finishes its requests and leaves its duties.
    """
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:  # not Linux' libc: nothing to ask for
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        return  # not Linux: the supervisor's own stop is all there is
    supervisor = multiprocessing.parent_process()
    if supervisor is not None and os.getppid() != supervisor.pid:
        # It died before the request above was made: no signal will come.
        os.kill(os.getpid(), signal.SIGTERM)


def worker_app() -> FastAPI:
    """The application of one worker process (uvicorn's factory, called in the worker)."""
    stop_with_supervisor()
    settings = Settings()
    configure(settings.log_level, settings.log_format)
    return create_app(settings)
