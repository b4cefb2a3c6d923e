"""A core of its own for each server process, while there are cores to go round.

A server process's threads (the event loop, the GPS writer, the log
follower and its reader) take turns on one interpreter lock. Left to the
scheduler, two processes on two cores each spread their threads over both:
a thread woken on one core waits for the lock held on the other, and the
core it woke on stands idle meanwhile. With one fix per HTTP request,
two unpinned processes each ran about three quarters of the time and the
machine stood 15–17% idle; each pinned to a core of its own, the idle time
halved and the server took about a sixth more fixes a second
(docs/benchmarks.md, "A core for each process").

Each worker claims the first core of its supervisor's that no other worker
of the same supervisor holds, by binding a name in the abstract Unix socket
namespace (as the supervisor claims its port, rescue.api.shared_port): the
name is gone with the process, however it ends, so a worker the supervisor
starts in place of a dead one takes the core it left. A worker finding
every core taken (more workers than cores) is left to the scheduler.
"""

from __future__ import annotations

import os
import socket

# The names (abstract Unix socket namespace) by which a supervisor's workers claim cores.
CORE_CLAIM_PREFIX = "rescue-serve-core-"

# The claim this process holds: kept open for the process's lifetime.
_held: list[socket.socket] = []


def claim_core(supervisor: str) -> int | None:
    """Pins this process to the first free core among those it may run on; returns it.

    `supervisor` names the group of workers that share out the cores. None when
    every core is claimed by another worker of the group, when the process
    already holds one, or where CPU affinity does not exist.
    """
    if _held or not hasattr(os, "sched_setaffinity"):
        return None
    for core in sorted(os.sched_getaffinity(0)):
        claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            claim.bind(f"\0{CORE_CLAIM_PREFIX}{supervisor}-{core}")
        except OSError:
            claim.close()
            continue
        _held.append(claim)
        _pin_every_thread(core)
        return core
    return None


def _pin_every_thread(core: int) -> None:
    # sched_setaffinity moves the calling thread only; threads started later inherit it.
    for task in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(task), {core})
        except (ProcessLookupError, ValueError):  # a thread that ended meanwhile
            continue
