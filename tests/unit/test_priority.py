"""The priority rule of rescue.priority: the documented table and its monotonicity."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rescue.domain.priority import SafetyFacts, base_priority, priority_for, priority_reasons
from rescue.domain.vocabulary import FaultCategory

MINOR = ["battery", "flat_tire", "out_of_fuel", "lockout"]
BREAKDOWN = ["engine_failure", "transmission", "overheating", "electrical", "other"]

facts = st.builds(
    SafetyFacts,
    on_expressway=st.booleans(),
    at_night=st.booleans(),
    passengers=st.integers(min_value=0, max_value=60),
    injury=st.booleans(),
    vulnerable=st.booleans(),
)
categories = st.sampled_from(list(FaultCategory))


# --- the table -------------------------------------------------------------


@pytest.mark.parametrize("category", MINOR)
def test_minor_fault_in_town_by_day_is_routine(category: str) -> None:
    assert priority_for(category, SafetyFacts()) == 4
    assert priority_reasons(category, SafetyFacts()) == ["minor_fault"]


@pytest.mark.parametrize("category", BREAKDOWN)
def test_breakdown_is_3(category: str) -> None:
    assert priority_for(category, SafetyFacts()) == 3
    assert priority_reasons(category, SafetyFacts()) == ["breakdown"]


def test_accident_without_injury_is_2() -> None:
    assert priority_for("accident", SafetyFacts()) == 2
    assert priority_reasons("accident", SafetyFacts()) == ["accident"]


@pytest.mark.parametrize("category", list(FaultCategory))
def test_injury_is_always_1(category: FaultCategory) -> None:
    assert priority_for(category, SafetyFacts(injury=True)) == 1
    assert priority_reasons(category, SafetyFacts(injury=True))[0] == "injury"


@pytest.mark.parametrize("category", MINOR + BREAKDOWN)
def test_expressway_makes_any_fault_priority_2(category: str) -> None:
    assert priority_for(category, SafetyFacts(on_expressway=True)) == 2


@pytest.mark.parametrize(
    ("category", "safety", "priority", "reasons"),
    [
        ("flat_tire", SafetyFacts(at_night=True), 3, ["minor_fault", "night"]),
        ("out_of_fuel", SafetyFacts(passengers=2), 3, ["minor_fault", "passengers"]),
        ("battery", SafetyFacts(vulnerable=True), 3, ["minor_fault", "vulnerable"]),
        (
            "lockout",
            SafetyFacts(at_night=True, vulnerable=True),
            2,
            ["minor_fault", "night", "vulnerable"],
        ),
        ("engine_failure", SafetyFacts(at_night=True), 2, ["breakdown", "night"]),
        # Without injury nothing goes above 2, however many facts pile up.
        (
            "lockout",
            SafetyFacts(at_night=True, passengers=3, vulnerable=True),
            2,
            ["minor_fault", "night", "passengers", "vulnerable"],
        ),
        (
            "accident",
            SafetyFacts(on_expressway=True, at_night=True, passengers=4, vulnerable=True),
            2,
            ["accident", "expressway", "night", "passengers", "vulnerable"],
        ),
        (
            "overheating",
            SafetyFacts(on_expressway=True, at_night=True),
            2,
            ["breakdown", "expressway", "night"],
        ),
        # Injury decides; the other facts are still recorded as reasons.
        (
            "flat_tire",
            SafetyFacts(injury=True, on_expressway=True, at_night=True),
            1,
            ["injury", "minor_fault", "expressway", "night"],
        ),
        ("accident", SafetyFacts(injury=True), 1, ["injury", "accident"]),
    ],
)
def test_table_rows(category: str, safety: SafetyFacts, priority: int, reasons: list[str]) -> None:
    assert priority_for(category, safety) == priority
    assert priority_reasons(category, safety) == reasons


def test_str_and_enum_categories_agree() -> None:
    assert priority_for(FaultCategory.LOCKOUT, SafetyFacts()) == priority_for(
        "lockout", SafetyFacts()
    )
    assert base_priority("accident") == 2


def test_unknown_category_is_rejected_with_the_list() -> None:
    with pytest.raises(ValueError, match="unknown fault category 'fire'; expected one of battery"):
        priority_for("fire", SafetyFacts())
    with pytest.raises(ValueError, match="unknown fault category"):
        priority_reasons("fire", SafetyFacts())


def test_negative_passengers_are_rejected() -> None:
    with pytest.raises(ValueError, match="passengers must be 0 or more"):
        SafetyFacts(passengers=-1)


def test_safety_facts_are_immutable() -> None:
    facts_ = SafetyFacts()
    with pytest.raises(dataclasses.FrozenInstanceError):
        name = "injury"  # via setattr so the type checker lets the attempt through
        setattr(facts_, name, True)


# --- properties ------------------------------------------------------------


@given(categories, facts)
def test_priority_is_between_1_and_4_and_1_only_with_injury(
    category: FaultCategory, safety: SafetyFacts
) -> None:
    priority = priority_for(category, safety)
    assert 1 <= priority <= 4
    assert (priority == 1) == safety.injury


@given(categories, facts)
def test_reasons_name_every_safety_fact_present(
    category: FaultCategory, safety: SafetyFacts
) -> None:
    reasons = priority_reasons(category, safety)
    assert ("injury" in reasons) == safety.injury
    assert ("expressway" in reasons) == safety.on_expressway
    assert ("night" in reasons) == safety.at_night
    assert ("passengers" in reasons) == (safety.passengers > 0)
    assert ("vulnerable" in reasons) == safety.vulnerable
    assert len(set(reasons)) == len(reasons)


def _more(safety: SafetyFacts, field: str) -> SafetyFacts:
    """``safety`` with one more fact: a flag switched on, or one more passenger."""
    if field == "passengers":
        return dataclasses.replace(safety, passengers=safety.passengers + 1)
    return dataclasses.replace(safety, **{field: True})


FIELDS = [f.name for f in dataclasses.fields(SafetyFacts)]


@given(categories, facts, st.sampled_from(FIELDS))
def test_adding_a_safety_fact_never_lowers_urgency(
    category: FaultCategory, safety: SafetyFacts, field: str
) -> None:
    assert priority_for(category, _more(safety, field)) <= priority_for(category, safety)


def test_monotone_over_every_combination() -> None:
    # Exhaustive over the lattice of facts (passengers 0, 1, 2 stands for
    # "none", "some", "more"): for every pair where one set of facts includes
    # the other, the larger set is at least as urgent.
    combos = [
        SafetyFacts(e, n, p, i, v)
        for e, n, p, i, v in itertools.product(
            (False, True), (False, True), (0, 1, 2), (False, True), (False, True)
        )
    ]

    def includes(a: SafetyFacts, b: SafetyFacts) -> bool:
        return all(
            (
                a.on_expressway >= b.on_expressway,
                a.at_night >= b.at_night,
                a.passengers >= b.passengers,
                a.injury >= b.injury,
                a.vulnerable >= b.vulnerable,
            )
        )

    for category in FaultCategory:
        for a, b in itertools.product(combos, combos):
            if includes(a, b):
                assert priority_for(category, a) <= priority_for(category, b), (category, a, b)


def test_categories_are_ordered_as_documented() -> None:
    # An accident is never less urgent than a breakdown, a breakdown never
    # less urgent than a minor fault, under the same safety facts.
    for safety in (SafetyFacts(), SafetyFacts(at_night=True), SafetyFacts(on_expressway=True)):
        for minor, breakdown in itertools.product(MINOR, BREAKDOWN):
            assert priority_for("accident", safety) <= priority_for(breakdown, safety)
            assert priority_for(breakdown, safety) <= priority_for(minor, safety)
