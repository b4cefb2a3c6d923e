"""How the GPS writer lets a batch gather (rescue.services.positions.Gathering), on a clock of
its own: each sleep moves it, and a producer may queue requests meanwhile."""

from __future__ import annotations

import queue
from collections.abc import Callable

import pytest

from rescue.services.positions import LOCAL_STORE, SERVER_STORE, Gathering


class Clock:
    def __init__(self, jobs: queue.SimpleQueue[int], arrivals: Callable[[int], int]) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.jobs = jobs
        self.arrivals = arrivals  # how many requests come during the n-th sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        for _ in range(self.arrivals(len(self.sleeps))):
            self.jobs.put(0)
        self.sleeps.append(seconds)
        self.now += seconds


def gathered(gathering: Gathering, arrivals: Callable[[int], int]) -> Clock:
    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    jobs.put(0)  # already queued behind the first when the writer starts to wait
    clock = Clock(jobs, arrivals)
    gathering.wait(jobs, sleep=clock.sleep, monotonic=clock.monotonic)
    return clock


def test_a_quiet_queue_ends_the_wait_after_one_step() -> None:
    clock = gathered(LOCAL_STORE, lambda n: 0)
    assert clock.sleeps == [LOCAL_STORE.quiet_s]


def test_the_wait_goes_on_while_requests_keep_coming() -> None:
    clock = gathered(LOCAL_STORE, lambda n: 2 if n < 3 else 0)
    assert len(clock.sleeps) == 4  # three steps with newcomers, then a quiet one
    assert clock.jobs.qsize() == 1 + 3 * 2


def test_a_steady_stream_is_cut_at_the_longest_wait() -> None:
    clock = gathered(LOCAL_STORE, lambda n: 1)
    assert LOCAL_STORE.quiet_s is not None
    assert clock.now == pytest.approx(LOCAL_STORE.longest_s)
    assert len(clock.sleeps) == round(LOCAL_STORE.longest_s / LOCAL_STORE.quiet_s)


def test_a_fixed_gathering_always_waits_the_longest() -> None:
    clock = gathered(SERVER_STORE, lambda n: 0)
    assert clock.sleeps == [SERVER_STORE.longest_s]
