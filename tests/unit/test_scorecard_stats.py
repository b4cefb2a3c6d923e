"""The median and 90th percentile behind the scorecards: properties over any durations."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rescue.projections.stats import quantile, summary

durations = st.lists(
    st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False), min_size=1
)
fractions = st.floats(min_value=0, max_value=1)


@given(durations)
def test_the_median_is_the_statistics_modules_median(values: list[float]) -> None:
    assert quantile(values, 0.5) == pytest.approx(statistics.median(values), rel=1e-9, abs=1e-6)


@given(st.lists(st.floats(0, 1e7), min_size=2))
def test_the_p90_is_the_inclusive_ninth_decile(values: list[float]) -> None:
    ninth = statistics.quantiles(values, n=10, method="inclusive")[8]
    assert quantile(values, 0.9) == pytest.approx(ninth, rel=1e-9, abs=1e-6)


@given(durations, fractions, fractions)
def test_a_quantile_lies_within_the_values_and_grows_with_q(
    values: list[float], q1: float, q2: float
) -> None:
    low, high = sorted((q1, q2))
    a, b = quantile(values, low), quantile(values, high)
    assert a is not None and b is not None
    assert min(values) <= a <= b <= max(values)


@given(durations, fractions, st.randoms())
def test_the_order_of_the_values_does_not_matter(values: list[float], q: float, rng) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(values)
    rng.shuffle(shuffled)
    assert quantile(shuffled, q) == quantile(values, q)


@given(durations)
def test_the_ends_are_the_smallest_and_largest(values: list[float]) -> None:
    assert (quantile(values, 0), quantile(values, 1)) == (min(values), max(values))


def test_no_values_have_no_quantile_and_q_must_be_a_fraction() -> None:
    assert quantile([], 0.5) is None
    assert summary([]) == {"n": 0, "median": None, "p90": None}
    assert summary([10, 20, 30, 40]) == {"n": 4, "median": 25.0, "p90": 37.0}
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile([1.0], 1.5)
