"""Parts-aware dispatch: the parts a fault likely needs, and who goes when few vans carry them.

Whether a van carries the right part decides whether the fault is fixed on the
spot, so a van that carries the likely parts is ranked ahead of a nearer van
that does not, as long as it arrives no more than `margin_min` later. The rule
is one sort key: a carrying van's ETA counts `margin_min` less. So a carrying
van is placed ahead of a non-carrying one exactly when its ETA exceeds the
other's by at most the margin, and otherwise the order is the nearest-van
order: vans of the same kind stay in ETA order, and a van beyond the margin
never overtakes one that is nearer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rescue.domain.dispatch import Candidate

_TABLE_RESOURCE = "likely_parts.json"
ANY_SERIES = "*"
_PLACES = 6


class LikelyPartsError(ValueError):
    """A likely-parts table that does not have the expected shape."""


@dataclass(frozen=True, slots=True)
class LikelyParts:
    """Fault category -> model series (or `*`) -> the part numbers a crew is likely to fit."""

    categories: Mapping[str, Mapping[str, tuple[str, ...]]]
    names: Mapping[str, str]  # part number -> name, for loading vans and showing people
    unit_cost: Mapping[str, float] = field(default_factory=dict)  # part number -> yuan

    @classmethod
    def load(cls, path: Path | None = None) -> LikelyParts:
        """The table in `path`, else the one shipped with the package."""
        if path is None:
            text = resources.files("rescue.domain").joinpath(_TABLE_RESOURCE).read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        return cls.from_json(json.loads(text))

    @classmethod
    def from_json(cls, data: Any) -> LikelyParts:
        if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
            raise LikelyPartsError("the table needs a 'categories' object")
        categories: dict[str, dict[str, tuple[str, ...]]] = {}
        for category, by_series in data["categories"].items():
            if not isinstance(by_series, dict):
                raise LikelyPartsError(f"{category}: model series -> list of part numbers")
            categories[category] = {}
            for series, parts in by_series.items():
                if not isinstance(parts, list) or not all(
                    isinstance(p, str) and p.strip() for p in parts
                ):
                    raise LikelyPartsError(f"{category}.{series}: a list of part numbers")
                categories[category][series] = tuple(parts)
        names = data.get("parts", {})
        if not isinstance(names, dict):
            raise LikelyPartsError("'parts' maps part numbers to names")
        costs = data.get("unit_cost", {})
        if not isinstance(costs, dict) or not all(
            isinstance(v, int | float) and v >= 0 for v in costs.values()
        ):
            raise LikelyPartsError("'unit_cost' maps part numbers to costs (not negative)")
        return cls(
            categories=categories,
            names={str(k): str(v) for k, v in names.items()},
            unit_cost={str(k): float(v) for k, v in costs.items()},
        )

    def for_fault(self, category: str, model_series: str | None) -> tuple[str, ...]:
        """The likely parts for a fault of a vehicle of this series; none if the table has none."""
        by_series = self.categories.get(category, {})
        if model_series is not None and model_series in by_series:
            return by_series[model_series]
        return by_series.get(ANY_SERIES, ())


@dataclass(frozen=True, slots=True)
class PartsRanking:
    """Candidates in the order they are offered, each with whether it carries the likely parts."""

    ranked: list[tuple[Candidate, bool]]
    likely_parts: tuple[str, ...]
    margin_min: float
    why: str | None  # set when a carrying van was put ahead of a nearer one

    @property
    def candidates(self) -> list[Candidate]:
        return [c for c, _ in self.ranked]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [
            {**c.as_dict(), "carries_parts": carries, "likely_parts": list(self.likely_parts)}
            for c, carries in self.ranked
        ]

    def record(self) -> dict[str, Any]:
        """What the dispatch decision records about parts."""
        return {
            "likely_parts": list(self.likely_parts),
            "margin_min": self.margin_min,
            "carrying_van_ids": [c.van_id for c, carries in self.ranked if carries],
            "why": self.why,
        }


def rank_by_parts(
    candidates: Sequence[Candidate],
    carries: Mapping[str, bool],
    likely_parts: Sequence[str],
    margin_min: float,
    k: int,
) -> PartsRanking:
    """The first `k` candidates, a van carrying the likely parts counting `margin_min` nearer.

    `candidates` are in the nearest-van order; with no likely parts, or no van
    that carries them, that order is kept.
    """
    if not likely_parts:
        return PartsRanking([(c, False) for c in candidates[:k]], (), margin_min, None)
    order = {c.van_id: i for i, c in enumerate(candidates)}

    def key(c: Candidate) -> tuple[float, bool, int]:
        carrying = carries.get(c.van_id, False)
        # ETAs are tenths of a minute: rounding keeps 22.8 - 15 level with 7.8.
        effective = round(c.eta_min - (margin_min if carrying else 0.0), _PLACES)
        return (effective, not carrying, order[c.van_id])

    ranked = sorted(candidates, key=key)[:k]
    return PartsRanking(
        [(c, carries.get(c.van_id, False)) for c in ranked],
        tuple(likely_parts),
        margin_min,
        _why(ranked, candidates, carries, likely_parts, margin_min),
    )


def _why(
    ranked: Sequence[Candidate],
    nearest_first: Sequence[Candidate],
    carries: Mapping[str, bool],
    likely_parts: Sequence[str],
    margin_min: float,
) -> str | None:
    if not ranked or not nearest_first or ranked[0].van_id == nearest_first[0].van_id:
        return None
    first, nearest = ranked[0], nearest_first[0]
    extra = round(first.eta_min - nearest.eta_min, 1)
    return (
        f"{first.van_id} carries {', '.join(likely_parts)} and arrives {extra} min after "
        f"{nearest.van_id}, which does not: within the {margin_min:g} min margin"
    )
