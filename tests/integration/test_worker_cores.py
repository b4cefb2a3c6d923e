"""Server processes share out the cores they may run on, one each while there are enough:
a process that ends leaves its core to the next one, and `--share-cores` leaves every
process to the scheduler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from rescue.api.shared_port import hold_port, worker_share

# A process that claims a core of the group named on its command line, says which (or
# None) and its affinity, then holds the claim until its input closes.
CLAIMANT = """
import json, os, sys
from rescue.api.worker_cores import claim_core
core = claim_core(sys.argv[1])
print(json.dumps([core, sorted(os.sched_getaffinity(0))]), flush=True)
sys.stdin.read()
"""

CORES = sorted(os.sched_getaffinity(0))


@contextmanager
def _claimant(group: str) -> Iterator[tuple[int | None, list[int], subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-c", CLAIMANT, group],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        core, affinity = json.loads(process.stdout.readline())
        yield core, affinity, process
    finally:
        for pipe in (process.stdin, process.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()
        process.wait(timeout=30)


def test_each_process_takes_a_free_core_and_leaves_it_when_it_ends() -> None:
    group = uuid.uuid4().hex
    with ExitStack() as stack:
        claims = [stack.enter_context(_claimant(group)) for _ in CORES]
        assert sorted(core for core, _, _ in claims) == CORES
        assert all(affinity == [core] for core, affinity, _ in claims)
        # One more than there are cores: left to run anywhere.
        with _claimant(group) as (core, affinity, _):
            assert (core, affinity) == (None, CORES)
        # The first one ends; the next process takes its core.
        first_core, _, first = claims[0]
        assert first.stdin is not None
        first.stdin.close()
        first.wait(timeout=30)
        with _claimant(group) as (core, affinity, _):
            assert (core, affinity) == (first_core, [first_core])
    # Another group's processes do not see these claims.
    with _claimant(uuid.uuid4().hex) as (core, _, _):
        assert core == CORES[0]


@pytest.mark.parametrize("pin_cores", [True, False])
def test_a_worker_takes_a_core_only_when_the_supervisor_shares_them_out(pin_cores: bool) -> None:
    share = hold_port("127.0.0.1", 0)
    try:
        share.cores_shared_out = pin_cores
        rebuild, (family, host, port, group) = share.__reduce__()
        assert rebuild is worker_share
        assert (family, host, port) == (int(share.family), "127.0.0.1", share.getsockname()[1])
        assert (group is not None) == pin_cores
        assert group is None or str(os.getpid()) in group
    finally:
        share.close()
