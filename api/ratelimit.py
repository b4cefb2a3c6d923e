"""Per-caller rate limits: a token bucket per account name, answered with 429.

A runaway script or a tablet stuck in a retry loop must not crowd out the
hotline. Each account may make `rate_per_s` requests a second on average with
bursts of `burst`; past that it gets 429 with a Retry-After. Buckets live in
the process: with several server processes each enforces its own share.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)
        self._lock = threading.Lock()

    def wait_needed(self, name: str) -> float:
        """0 if the request may go ahead (and counts it), else seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[name] = (tokens - 1, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1 - tokens) / self.rate


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
