"""Summary statistics of durations: the median and the 90th percentile, without numpy."""

from __future__ import annotations

import math
from collections.abc import Sequence


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 <= q <= 1) by linear interpolation between the closest ranks.

    The same definition as `statistics.quantiles(method="inclusive")` and numpy's
    default: q=0 is the smallest value, q=1 the largest, q=0.5 the median. None
    for no values. Raises ValueError for q outside [0, 1].
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile is between 0 and 1, not {q}")
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    low, high = ordered[below], ordered[above]
    # low + (high - low) * f can leave [low, high] by a rounding error; this cannot.
    fraction = position - below
    return min(max(low * (1 - fraction) + high * fraction, low), high)


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """`{n, median, p90}` of durations in seconds, rounded to 0.1 s (None when there are none)."""
    median, p90 = quantile(values, 0.5), quantile(values, 0.9)
    return {
        "n": len(values),
        "median": None if median is None else round(median, 1),
        "p90": None if p90 is None else round(p90, 1),
    }
