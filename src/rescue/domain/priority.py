"""The priority rule: how urgent a rescue call is, from its fault and safety facts.

The handling flow of a call asks the operator to record the problem, classify
it and set its priority (docs/domain.md). The rule is fixed and simple so that
an operator can predict it, a crew can trust it and an auditor can re-derive it
from the recorded facts. Priority 1 is the most urgent, 4 is routine.

Rule, applied top to bottom
---------------------------

=====  ================================================  ===========================
step   fact                                              effect
=====  ================================================  ===========================
1      injury (someone is hurt)                          priority 1, nothing else
                                                         is considered
2      base, by fault category:
       ``accident``                                      2
       ``engine_failure``, ``transmission``,             3
       ``overheating``, ``electrical``, ``other``
       ``battery``, ``flat_tire``, ``out_of_fuel``,      4
       ``lockout``
3      on an expressway                                  at most 2
4      at night                                          one step more urgent
5      passengers waiting (at least one besides          one step more urgent
       the driver)
6      vulnerable people (children, elderly, ill)        one step more urgent
7      without injury                                    never more urgent than 2
=====  ================================================  ===========================

Why these choices
-----------------
- Injury is the one fact that makes a call a medical matter, so it alone
  reaches priority 1. Reserving 1 for it keeps the top of the board meaningful:
  if everything dangerous could become 1, an injured person would queue behind
  a flat tyre at night on the expressway.
- An accident is priority 2 even with no one hurt: the vehicle usually blocks
  a lane and has to be towed.
- A stopped vehicle on an expressway (高速公路) is at risk of being hit by
  following traffic whatever broke, so any fault there gets priority 2 or 1.
- Engine, gearbox, overheating, electrical and unclassified faults usually
  leave the vehicle immobile or need a diagnosis: 3. A flat battery or tyre,
  an empty tank or a lockout are quick roadside jobs in town by day: 4.
- Darkness, people waiting by the road and vulnerable people each add exposure
  independently, so each raises urgency by one step and they add up (a lockout
  at night with children on board is 2), but only injury crosses into 1.
- Monotone by construction: every fact only ever lowers the number (``min``
  and "one step more urgent"), so adding a safety fact never makes a call less
  urgent. The tests check this over every combination.

``priority_reasons`` returns short reason codes, stored with the event so the
board and the audit trail can show why a call got its priority: every rule of
the table that applied, in its order, e.g. ``["injury", "accident",
"expressway", "night"]`` or ``["minor_fault", "night", "vulnerable"]``. The
fault's base class is always there (``accident``, ``breakdown`` or
``minor_fault``); the safety facts are listed when present even if a cap made
them change nothing, because they are what the decision was taken on.
"""

from __future__ import annotations

from dataclasses import dataclass

from rescue.domain.vocabulary import FaultCategory

__all__ = [
    "MOST_URGENT",
    "ROUTINE",
    "SafetyFacts",
    "base_priority",
    "priority_for",
    "priority_reasons",
]

MOST_URGENT = 1
ROUTINE = 4
# The most urgent priority a call can reach without an injury.
_URGENT_WITHOUT_INJURY = 2

_BASE: dict[FaultCategory, tuple[int, str]] = {
    FaultCategory.ACCIDENT: (2, "accident"),
    FaultCategory.ENGINE_FAILURE: (3, "breakdown"),
    FaultCategory.TRANSMISSION: (3, "breakdown"),
    FaultCategory.OVERHEATING: (3, "breakdown"),
    FaultCategory.ELECTRICAL: (3, "breakdown"),
    FaultCategory.OTHER: (3, "breakdown"),
    FaultCategory.BATTERY: (4, "minor_fault"),
    FaultCategory.FLAT_TIRE: (4, "minor_fault"),
    FaultCategory.OUT_OF_FUEL: (4, "minor_fault"),
    FaultCategory.LOCKOUT: (4, "minor_fault"),
}


@dataclass(frozen=True, slots=True)
class SafetyFacts:
    """What the operator learned about the people and the place, beyond the fault."""

    on_expressway: bool = False
    at_night: bool = False
    passengers: int = 0  # people waiting with the vehicle besides the driver
    injury: bool = False
    vulnerable: bool = False  # children, elderly or ill people on board

    def __post_init__(self) -> None:
        if self.passengers < 0:
            raise ValueError(
                f"passengers must be 0 or more (people besides the driver), got {self.passengers}"
            )


def _base(category: str) -> tuple[int, str]:
    try:
        return _BASE[FaultCategory(category)]
    except ValueError:
        known = ", ".join(c.value for c in FaultCategory)
        raise ValueError(f"unknown fault category {category!r}; expected one of {known}") from None


def base_priority(category: str) -> int:
    """The priority of ``category`` alone, before any safety fact (step 2)."""
    return _base(category)[0]


def priority_for(category: str, safety: SafetyFacts) -> int:
    """1 (most urgent) to 4 (routine), by the table in the module docstring."""
    base, _ = _base(category)
    if safety.injury:
        return MOST_URGENT
    priority = base
    if safety.on_expressway:
        priority = min(priority, _URGENT_WITHOUT_INJURY)
    raises = sum((safety.at_night, safety.passengers > 0, safety.vulnerable))
    return max(priority - raises, _URGENT_WITHOUT_INJURY)


def priority_reasons(category: str, safety: SafetyFacts) -> list[str]:
    """Reason codes explaining ``priority_for(category, safety)``, in table order."""
    _, base_reason = _base(category)
    flags = (
        ("expressway", safety.on_expressway),
        ("night", safety.at_night),
        ("passengers", safety.passengers > 0),
        ("vulnerable", safety.vulnerable),
    )
    head = ["injury", base_reason] if safety.injury else [base_reason]
    return [*head, *(code for code, present in flags if present)]
