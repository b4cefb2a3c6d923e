"""Demand forecasting for spare parts: exponential smoothing with a weekday pattern.

Parts are used a few at a time, on some days and not others, and more on some
weekdays than on others. The method is simple exponential smoothing of the
daily demand with multiplicative weekday factors:

- the weekday factors are each weekday's mean demand over the overall mean,
  used only once at least `min_weeks_for_season` full weeks of history exist
  (with less, every factor is 1: plain smoothing);
- the level is smoothed on the demand with the weekday taken out
  (demand / factor), starting from the mean of the first week; a weekday that
  never had demand (factor 0) is forecast as none and leaves the level alone;
- the forecast for a day is level x that weekday's factor.

`holdout_error` reports the method's error on the last weeks of history, fitted
on the weeks before them, next to the error of the plain mean of those weeks:
the figure that says whether the forecast is worth more than an average.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

DAYS_IN_WEEK = 7
_TINY = 1e-9


@dataclass(frozen=True, slots=True)
class ForecastParams:
    alpha: float = 0.3  # weight of the newest day in the level
    min_weeks_for_season: int = 3  # full weeks of history before weekday factors are used


@dataclass(frozen=True, slots=True)
class Fitted:
    """A fitted forecast: the level after the last day, the weekday factors, the residuals."""

    level: float
    factors: tuple[float, ...]  # Monday .. Sunday
    last_day: date
    residual_sd: float  # standard deviation of the one-day-ahead errors
    days: int

    def daily(self, day: date) -> float:
        return self.level * self.factors[day.weekday()]

    def over(self, days: int) -> float:
        """Expected demand over the `days` days after the last day of history."""
        return sum(self.daily(self.last_day + timedelta(days=i)) for i in range(1, days + 1))


def weekday_factors(
    demand: Sequence[float], first_day: date, params: ForecastParams
) -> tuple[float, ...]:
    weeks = len(demand) // DAYS_IN_WEEK
    if weeks < params.min_weeks_for_season:
        return (1.0,) * DAYS_IN_WEEK
    used = demand[len(demand) - weeks * DAYS_IN_WEEK :]
    start = first_day + timedelta(days=len(demand) - len(used))
    overall = sum(used) / len(used)
    if overall <= 0:
        return (1.0,) * DAYS_IN_WEEK
    sums = [0.0] * DAYS_IN_WEEK
    for i, value in enumerate(used):
        sums[(start + timedelta(days=i)).weekday()] += value
    # A week's factors add up to 7: the pattern moves demand between weekdays, adds none.
    return tuple(s / weeks / overall for s in sums)


def fit(
    demand: Sequence[float], first_day: date, params: ForecastParams = ForecastParams()
) -> Fitted:
    """Fits the method to a daily demand series starting on `first_day` (at least one day)."""
    if not demand:
        raise ValueError("a forecast needs at least one day of history")
    factors = weekday_factors(demand, first_day, params)
    warmup = [
        (v, factors[(first_day + timedelta(days=i)).weekday()])
        for i, v in enumerate(demand[:DAYS_IN_WEEK])
    ]
    level = sum(v for v, _ in warmup) / max(sum(f for _, f in warmup), _TINY)
    squared, count = 0.0, 0
    for i, value in enumerate(demand):
        factor = factors[(first_day + timedelta(days=i)).weekday()]
        error = value - level * factor
        squared += error * error
        count += 1
        if factor > _TINY:
            level = params.alpha * (value / factor) + (1 - params.alpha) * level
    return Fitted(
        level=level,
        factors=factors,
        last_day=first_day + timedelta(days=len(demand) - 1),
        residual_sd=math.sqrt(squared / count),
        days=len(demand),
    )


@dataclass(frozen=True, slots=True)
class HoldoutError:
    """How the forecast did on held-out weeks it was not fitted on."""

    weeks: int
    forecast_total: float
    actual_total: float
    mae: float  # mean absolute error per day, of the method
    mae_mean: float  # the same for the plain mean of the fitted weeks
    daily: tuple[tuple[str, float, float], ...]  # (day, forecast, actual) for each held-out day

    def as_dict(self) -> dict[str, object]:
        return {
            "weeks": self.weeks,
            "forecast_total": round(self.forecast_total, 3),
            "actual_total": round(self.actual_total, 3),
            "mae": round(self.mae, 4),
            "mae_mean": round(self.mae_mean, 4),
            "daily": [{"day": d, "forecast": round(f, 3), "actual": a} for d, f, a in self.daily],
        }


def holdout_error(
    demand: Sequence[float],
    first_day: date,
    weeks: int = 1,
    params: ForecastParams = ForecastParams(),
) -> HoldoutError | None:
    """Fits on all but the last `weeks` weeks and measures the forecast of those weeks.

    None when there is not at least one week of history before them.
    """
    held = weeks * DAYS_IN_WEEK
    if weeks < 1 or len(demand) < held + DAYS_IN_WEEK:
        return None
    train, test = demand[:-held], demand[-held:]
    fitted = fit(train, first_day, params)
    mean = sum(train) / len(train)
    daily = []
    err = err_mean = 0.0
    for i, actual in enumerate(test):
        day = fitted.last_day + timedelta(days=i + 1)
        predicted = fitted.daily(day)
        daily.append((day.isoformat(), predicted, actual))
        err += abs(predicted - actual)
        err_mean += abs(mean - actual)
    return HoldoutError(
        weeks=weeks,
        forecast_total=sum(d[1] for d in daily),
        actual_total=float(sum(test)),
        mae=err / held,
        mae_mean=err_mean / held,
        daily=tuple(daily),
    )
