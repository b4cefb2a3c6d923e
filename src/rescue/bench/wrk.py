"""HTTP load from `wrk` (Debian package `wrk`), rotating through a list of prepared requests.

`wrk` is a C load generator: it keeps its connections busy (a new request as
soon as the answer is read) at a small fraction of the CPU a Python client
would need, which matters when it shares two cores with the server. Its Lua
script here reads the requests (method, path, bearer token, body) from a
file, formats each once, and sends them in turn, each thread starting at its
own offset; at the end it prints the counts and latency percentiles on one
line this module parses, and the latency's quantile function on lines of
their own (every 0.5% up to 90%, every 0.01% above), from which several
windows' percentiles are merged (`merged_percentile`).
"""

from __future__ import annotations

import bisect
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "INSTALL_HINT",
    "Load",
    "Request",
    "combined",
    "merged_percentile",
    "run_wrk",
    "wrk_command",
]

INSTALL_HINT = "`wrk` is not installed (Debian: apt-get install wrk)"
_RESULT = "WRK-RESULT"
_QUANTILE = "WRK-QUANTILE"

# One request a line: METHOD, PATH, TOKEN and BODY separated by tabs (a JSON body from
# orjson holds no tab or newline; an empty token or body means none).
_SCRIPT = r"""
local prepared = {}
local index = 1
local threads = 0

function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local method, path, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if token ~= "" then headers["Authorization"] = "Bearer " .. token end
    if body == "" then
      body = nil
    else
      headers["Content-Type"] = "application/json"
    end
    prepared[#prepared + 1] = wrk.format(method, path, headers, body)
  end
  index = (offset or 0) % #prepared + 1
end

function request()
  local r = prepared[index]
  index = index % #prepared + 1
  return r
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("%s %.0f %.0f %.0f %.0f %.0f %.0f\n", "WRK-RESULT",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
  -- The quantile function, coarse in the body and fine in the tail, where p99 lies.
  local function quantile(p)
    io.write(string.format("WRK-QUANTILE %.2f %.0f\n", p, latency:percentile(p)))
  end
  for i = 0, 179 do quantile(i * 0.5) end
  for i = 0, 999 do quantile(90 + i * 0.01) end
end
"""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    token: str = ""
    body: bytes = b""

    def line(self) -> str:
        body = self.body.decode()
        for field in (self.method, self.path, self.token, body):
            if "\t" in field or "\n" in field:
                raise ValueError(f"a request field holds a tab or newline: {field[:40]!r}")
        return f"{self.method}\t{self.path}\t{self.token}\t{body}"


@dataclass(frozen=True, slots=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    socket_errors: int  # connect, read, write and timeout errors
    status_errors: int  # answers with a status of 400 or more
    p50_ms: float
    p99_ms: float
    # (percent, ms) in rising order of percent: wrk's percentiles of this run's latency.
    quantiles: tuple[tuple[float, float], ...] = ()

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.status_errors


def combined(windows: Sequence[Load]) -> Load:
    """Several windows of one load as one figure: counts and time summed, the percentiles of
    all the windows' requests together (`merged_percentile`)."""
    if not windows:
        raise ValueError("no window to combine")
    return Load(
        requests=sum(w.requests for w in windows),
        seconds=sum(w.seconds for w in windows),
        socket_errors=sum(w.socket_errors for w in windows),
        status_errors=sum(w.status_errors for w in windows),
        p50_ms=merged_percentile(windows, 50.0),
        p99_ms=merged_percentile(windows, 99.0),
    )


def merged_percentile(windows: Sequence[Load], percent: float) -> float:
    """The latency under which `percent` of all the windows' requests were answered, in ms.

    wrk gives each window's percentiles, not the latencies behind them. Each
    window's share of requests answered within a time t is read off its
    quantile function (the highest percent whose latency is at most t), the
    shares are weighed by the windows' requests, and the answer is the least
    latency any window reported at which the weighed share reaches `percent`.
    It is exact to the quantile function's step (0.01% above 90%): with a
    single window it is that window's own percentile.
    """
    counted = [w for w in windows if w.requests > 0 and w.quantiles]
    if len(counted) != len([w for w in windows if w.requests > 0]):
        raise ValueError("a window with requests has no quantiles to merge")
    if not counted:
        return 0.0
    total = sum(w.requests for w in counted)
    curves = [
        ([ms for _, ms in w.quantiles], [pct for pct, _ in w.quantiles], w.requests)
        for w in counted
    ]

    def share_within(limit_ms: float) -> float:
        within = 0.0
        for latencies, percents, requests in curves:
            at = bisect.bisect_right(latencies, limit_ms)  # latencies rise with the percent
            within += requests * (percents[at - 1] if at else 0.0)
        return within / total

    candidates = sorted({ms for latencies, _, _ in curves for ms in latencies})
    for limit_ms in candidates:
        if share_within(limit_ms) >= percent - 1e-9:
            return limit_ms
    return candidates[-1]


def wrk_command() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    base_url: str,
    requests: Sequence[Request],
    folder: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    timeout_s: float = 10.0,
) -> Load:
    """Sends `requests` in turn over `connections` connections for `seconds`."""
    wrk = wrk_command()
    if wrk is None:
        raise RuntimeError(INSTALL_HINT)
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "rotate.lua"
    script.write_text(_SCRIPT)
    listed = folder / "requests.tsv"
    listed.write_text("\n".join(r.line() for r in requests) + "\n")
    done = subprocess.run(
        [
            wrk,
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={max(1, round(timeout_s))}s",
            f"--script={script}",
            base_url,
            "--",
            str(listed),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + timeout_s + 60,
    )
    lines = done.stdout.splitlines()
    line = next((x for x in lines if x.startswith(_RESULT)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout)[-500:]}")
    count, micros, socket_errors, status_errors, p50_us, p99_us = (
        float(x) for x in line.split()[1:]
    )
    return Load(
        requests=int(count),
        seconds=micros / 1e6,
        socket_errors=int(socket_errors),
        status_errors=int(status_errors),
        p50_ms=p50_us / 1000,
        p99_ms=p99_us / 1000,
        quantiles=_quantiles(lines) if count > 0 else (),
    )


def _quantiles(lines: Sequence[str]) -> tuple[tuple[float, float], ...]:
    """The (percent, ms) pairs wrk printed, in rising order of percent."""
    pairs = {}
    for line in lines:
        if line.startswith(_QUANTILE):
            percent, micros = line.split()[1:]
            pairs[float(percent)] = float(micros) / 1000
    return tuple(sorted(pairs.items()))
