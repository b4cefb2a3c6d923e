"""Forecasts, ABC classes and the (T, S) policy on series and tables made here."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rescue.domain.forecast import ForecastParams, fit, holdout_error, weekday_factors
from rescue.domain.replenishment import (
    AbcThresholds,
    OrderPolicy,
    abc_classes,
    order_line,
)

MONDAY = date(2026, 1, 5)
# Busy at the start of the week, quiet at the weekend.
PATTERN = (6.0, 5.0, 4.0, 4.0, 3.0, 1.0, 1.0)


def weeks_of(
    pattern: tuple[float, ...], weeks: int, noise: float = 0.0, seed: int = 1
) -> list[float]:
    rng = random.Random(seed)
    return [max(0.0, v + rng.gauss(0, noise)) for _ in range(weeks) for v in pattern]


def test_a_steady_demand_is_forecast_as_itself() -> None:
    fitted = fit([3.0] * 28, MONDAY)
    assert fitted.factors == pytest.approx((1.0,) * 7)
    assert fitted.over(10) == pytest.approx(30.0)
    assert fitted.residual_sd == pytest.approx(0.0)


def test_the_weekday_pattern_is_learnt_once_there_are_enough_weeks() -> None:
    # 1. Two weeks: too few, every weekday counts the same.
    assert weekday_factors(weeks_of(PATTERN, 2), MONDAY, ForecastParams()) == (1.0,) * 7
    # 2. Eight weeks: Monday well above Sunday, the week's factors adding up to 7.
    factors = weekday_factors(weeks_of(PATTERN, 8), MONDAY, ForecastParams())
    assert sum(factors) == pytest.approx(7.0)
    assert factors[0] > 1.4 > 0.5 > factors[6]
    # 3. The same series started on a Wednesday gives the same factors by weekday.
    shifted = weeks_of(PATTERN[2:] + PATTERN[:2], 8)
    assert weekday_factors(shifted, MONDAY + timedelta(days=2), ForecastParams()) == (
        pytest.approx(factors)
    )


def test_held_out_weeks_show_the_seasonal_forecast_beats_the_plain_mean() -> None:
    demand = weeks_of(PATTERN, 10, noise=0.5)
    check = holdout_error(demand, MONDAY, weeks=2)
    assert check is not None
    assert len(check.daily) == 14
    assert check.actual_total == pytest.approx(sum(demand[-14:]))
    assert check.mae < check.mae_mean * 0.6
    # Without the weekday factors (too few weeks asked for) the error is the mean's or worse.
    flat = holdout_error(demand, MONDAY, weeks=2, params=ForecastParams(min_weeks_for_season=99))
    assert flat is not None and flat.mae > check.mae
    # Not enough history to hold a week out: no figure rather than a made-up one.
    assert holdout_error(demand[:10], MONDAY, weeks=1) is None


@settings(max_examples=80, deadline=None)
@given(
    demand=st.lists(st.integers(0, 20), min_size=1, max_size=120),
    alpha=st.floats(0.05, 1.0),
)
def test_forecasts_are_never_negative_and_grow_with_the_horizon(
    demand: list[int], alpha: float
) -> None:
    fitted = fit([float(d) for d in demand], MONDAY, ForecastParams(alpha=alpha))
    assert all(f >= 0 for f in fitted.factors)
    assert sum(fitted.factors) == pytest.approx(7.0)
    totals = [fitted.over(days) for days in range(0, 15)]
    assert all(t >= 0 for t in totals)
    assert totals == sorted(totals)


def test_abc_classes_follow_the_value_shares() -> None:
    used = {"ALT": 2, "BAT": 10, "FUSE": 300, "TYRE": 3, "KEY": 20}
    cost = {"ALT": 1000.0, "BAT": 500.0, "FUSE": 2.0, "TYRE": 600.0, "KEY": 8.0}
    rows = abc_classes(used, cost, AbcThresholds())
    # values: BAT 5000, ALT 2000, TYRE 1800, FUSE 600, KEY 160 (total 9560)
    # values: BAT 5000, ALT 2000, TYRE 1800, FUSE 600, KEY 160 of 9560; the share of the
    # parts before each: 0, 52.3%, 73.2%, 92.1%, 98.3%.
    assert [r.part_no for r in rows] == ["BAT", "ALT", "TYRE", "FUSE", "KEY"]
    assert [r.klass for r in rows] == ["A", "A", "A", "B", "C"]
    assert sum(r.share for r in rows) == pytest.approx(1.0)
    assert rows[0].consumption_value == 5000.0
    # Tighter thresholds move parts down a class; an unknown cost counts 1 a piece.
    tight = abc_classes(used, cost, AbcThresholds(a_share=0.5, b_share=0.6))
    assert [r.klass for r in tight] == ["A", "B", "C", "C", "C"]
    assert abc_classes({"X": 4}, {}, AbcThresholds())[0].consumption_value == 4.0
    with pytest.raises(ValueError):
        AbcThresholds(a_share=0.9, b_share=0.8)


def test_the_order_brings_the_stock_up_to_s() -> None:
    policy = OrderPolicy(review_days=7, lead_time_days=3, service_level=0.95)
    steady = fit([2.0] * 21, MONDAY)
    line = order_line(steady, on_hand=5, on_order=0, policy=policy)
    # No error in a steady series: S is exactly the demand over T + L.
    assert line.forecast == pytest.approx(20.0)
    assert line.safety_stock == pytest.approx(0.0)
    assert (line.order_up_to, line.order_qty) == (20, 15)
    # A noisy series of the same mean needs safety stock, more for a higher service level.
    noisy = fit(weeks_of((2.0,) * 7, 6, noise=1.0), MONDAY)
    low = order_line(noisy, 0, 0, OrderPolicy(service_level=0.8))
    high = order_line(noisy, 0, 0, OrderPolicy(service_level=0.99))
    assert 0 < low.safety_stock < high.safety_stock
    z = 2.3263478740408408
    assert high.safety_stock == pytest.approx(z * noisy.residual_sd * math.sqrt(10))
    # Stock on hand and on order count against the order, which is never negative.
    assert order_line(steady, on_hand=12, on_order=6, policy=policy).order_qty == 2
    assert order_line(steady, on_hand=50, on_order=0, policy=policy).order_qty == 0
