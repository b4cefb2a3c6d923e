"""What a crew finds and records on scene, by fault: time taken, cause, parts, findings.

The findings are the warranty inputs a crew records with ``diagnose``; they
are drawn with small probabilities so that the claims built from a simulated
day show the usual spread (consumables not covered, the odd non-original part, storm damage).
"""

from __future__ import annotations

import random
from typing import Any

from rescue.domain.likely_parts import LikelyParts
from rescue.domain.vocabulary import CAPABILITY_FOR_FAULT, Capability, FaultCategory
from rescue.simulator.scenarios import SCENE_MINUTES

__all__ = ["DECLINE_REASONS", "diagnosis", "needs_tow", "scene_seconds"]

F = FaultCategory

DECLINE_REASONS = (
    "finishing a roadside job nearby",
    "crew on meal break",
    "van low on fuel",
    "missing the part this needs",
    "road closed on the way",
)

# cause, parts (part_no, name, system), findings with their probability.
_WORK: dict[str, list[tuple[str, list[tuple[str, str, str]], list[tuple[str, float]]]]] = {
    F.BATTERY: [
        ("battery discharged, jump-started", [], [("wear_consumable", 0.2)]),
        ("battery cell failure", [("BAT-55", "12V battery 55Ah", "other")],
         [("wear_consumable", 0.4)]),
        ("alternator not charging", [("ALT-90", "alternator", "engine")], []),
    ],
    F.FLAT_TIRE: [
        ("puncture, spare fitted", [], [("wear_consumable", 0.3)]),
        ("sidewall damaged, tyre replaced", [("TYR-215", "tyre 215/70R15", "other")],
         [("wear_consumable", 0.5)]),
    ],
    F.OUT_OF_FUEL: [("tank empty, 10 L delivered", [], [])],
    F.LOCKOUT: [
        ("keys inside, door opened", [], []),
        ("remote key battery flat", [("KEY-CR2", "key fob battery", "other")],
         [("wear_consumable", 0.6)]),
    ],
    F.ENGINE_FAILURE: [
        ("timing belt broken", [("TB-22", "timing belt kit", "engine")],
         [("missed_maintenance", 0.15), ("non_original_part", 0.05)]),
        ("fuel pump failed", [("FP-10", "fuel pump", "engine")], [("wrong_fluid", 0.1)]),
    ],
    F.OVERHEATING: [
        ("coolant hose split", [("HOS-3", "radiator hose", "engine")], [("wrong_fluid", 0.1)]),
        ("thermostat stuck", [("THM-82", "thermostat", "engine")], []),
    ],
    F.TRANSMISSION: [
        ("clutch plate worn out", [("CLU-240", "clutch kit", "other")],
         [("wear_consumable", 0.3), ("misuse", 0.1)]),
        ("gearbox bearing failed", [("GBX-B5", "gearbox bearing", "other")], []),
    ],
    F.ELECTRICAL: [
        ("fuse blown, replaced", [("FUS-15", "fuse 15A", "other")], [("modified", 0.05)]),
        ("wiring harness chafed", [("WH-F1", "front wiring harness", "other")],
         [("environmental", 0.15)]),
    ],
    F.ACCIDENT: [
        ("front-end collision damage", [], [("accident", 1.0)]),
        ("slid off the road, suspension bent", [], [("accident", 1.0), ("environmental", 0.2)]),
    ],
    F.OTHER: [
        ("brake pads worn to the metal", [("BRK-P2", "brake pads", "other")],
         [("wear_consumable", 0.7)]),
        ("wheel bearing noise", [("WB-30", "wheel bearing", "other")], []),
    ],
}  # fmt: skip


def needs_tow(category: str) -> bool:
    return CAPABILITY_FOR_FAULT[FaultCategory(category)] is Capability.TOW


def scene_seconds(category: str, rng: random.Random, factor: float = 1.0) -> float:
    lo, hi = SCENE_MINUTES[category]
    return rng.uniform(lo, hi) * 60.0 * factor


def diagnosis(
    category: str,
    rng: random.Random,
    *,
    in_storm: bool = False,
    model_series: str | None = None,
    on_van: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The body of a `diagnose` step for this fault.

    With the vehicle's `model_series`, a battery or tyre is the one the likely-parts table
    names for that series; a part the van holds (`on_van`: part number -> quantity, taken
    from as parts are fitted) is fitted from the van.
    """
    cause, parts, findings = rng.choice(_WORK[category])
    if model_series is not None and category in _BY_SERIES:
        parts = [_for_series(category, model_series, part) for part in parts]
    found = [code for code, p in findings if rng.random() < p]
    if in_storm and "environmental" not in found and rng.random() < 0.1:
        found.append("environmental")
    if not found and rng.random() < 0.03:
        found.append("undetermined")
    return {
        "cause": cause,
        "parts": [
            {
                "part_no": part_no,
                "name": name,
                "system": system,
                "qty": 1,
                "original": "non_original_part" not in found,
                "from_van": _take(on_van, part_no),
            }
            for part_no, name, system in parts
        ],
        "findings": found,
    }


# The faults whose part depends on the vehicle: the part the table names for its series.
_BY_SERIES: dict[str, str] = {F.BATTERY: "BAT-", F.FLAT_TIRE: "TYR-"}
_TABLE = LikelyParts.load()


def _for_series(category: str, series: str, part: tuple[str, str, str]) -> tuple[str, str, str]:
    part_no, name, system = part
    if not part_no.startswith(_BY_SERIES[category]):
        return part
    likely = _TABLE.for_fault(category, series)
    if not likely:
        return part
    return likely[0], _TABLE.names.get(likely[0], name), system


def _take(on_van: dict[str, int] | None, part_no: str) -> bool:
    if not on_van or on_van.get(part_no, 0) < 1:
        return False
    on_van[part_no] -= 1
    return True
