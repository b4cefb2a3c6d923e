"""How the GPS writer lets a batch gather (rescue.services.positions.Gathering), on a clock of
its own: each sleep moves it, and a producer may queue requests meanwhile."""

from __future__ import annotations

import queue
from collections.abc import Callable

import pytest

from rescue.services.positions import GATHERING, Gathering


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


def gathered(expected: int, arrivals: Callable[[int], int], queued: int = 1) -> Clock:
    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    for _ in range(queued):  # already queued behind the first when the writer starts to wait
        jobs.put(0)
    clock = Clock(jobs, arrivals)
    GATHERING.wait(jobs, expected, sleep=clock.sleep, monotonic=clock.monotonic)
    return clock


def test_the_wait_ends_as_soon_as_the_last_crowd_is_back() -> None:
    clock = gathered(expected=7, arrivals=lambda n: 2)
    assert len(clock.sleeps) == 3  # 1 queued, then 3, 5, 7
    assert clock.jobs.qsize() == 7
    assert clock.now < GATHERING.longest_s


def test_no_wait_when_the_crowd_is_already_queued() -> None:
    clock = gathered(expected=3, arrivals=lambda n: 1, queued=5)
    assert clock.sleeps == []


def test_a_crowd_that_does_not_come_back_is_waited_for_at_most_the_longest() -> None:
    clock = gathered(expected=30, arrivals=lambda n: 1 if n < 2 else 0)
    assert clock.now == pytest.approx(GATHERING.longest_s)
    assert len(clock.sleeps) == round(GATHERING.longest_s / GATHERING.step_s)
    assert clock.jobs.qsize() == 3


def test_the_queue_is_looked_at_every_step() -> None:
    clock = gathered(expected=4, arrivals=lambda n: 1)
    assert clock.sleeps == [GATHERING.step_s] * 3


def test_a_gathering_of_its_own_keeps_its_own_limits() -> None:
    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    own = Gathering(longest_s=0.01, step_s=0.005)
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    own.wait(jobs, 1, sleep=sleep, monotonic=lambda: now[0])
    assert slept == [0.005, 0.005]
