"""The warranty rule (质量保修): pure code, no I/O besides loading the policy file.

The policy table (docs/domain.md) lives in ``warranty_policy.json`` next to this
module; ``WarrantyPolicy.load()`` reads it, or the file named by the
``RESCUE_WARRANTY_POLICY`` environment variable, or an explicit path (an
explicit path wins over the variable, the variable over the packaged file).

Period (保修期限)
    The warranty runs from ``sold_on`` (the purchase invoice date) until the
    months OR the mileage end, whichever comes first (以先达到为准).

    * Mileage: covered while ``odometer_km <= mileage_km``. The limit itself is
      the last covered kilometre; ``mileage_km + 1`` is out.
    * Age: the *anniversary* is ``sold_on`` plus ``months`` calendar months,
      on the same day of the month, clamped to the month's last day when that
      month is shorter (sold 2024-01-31 + 1 month -> 2024-02-29; sold
      2023-08-31 + 18 months -> 2025-02-28). The anniversary is the first
      uncovered day; the last covered day is the day before it
      (``last_covered_day``). So a vehicle sold 2023-03-15 with 24 months is
      covered on 2025-03-14 and out on 2025-03-15.
    * ``months_in_service`` counts whole calendar months elapsed, on the same
      clamped arithmetic: the largest ``m`` with ``sold_on + m months <=
      failed_on``. Hence "covered by age" is exactly
      ``months_in_service < months``.
    * A failure before the invoice date, a negative odometer reading, an
      unknown finding code or a part listed twice is bad input: ``ValueError``
      (the API validates before recording; see ``Part.from_dict``).

Scope
    * Series with an ``engine`` and an ``other`` scope (D22, RICH): each part
      is judged under the scope of its ``system``.
    * Whole-vehicle series (PALADIN, NV200): one limit for every part.
    * No parts recorded: the vehicle-level check uses the limit a part of
      system ``other`` would get (D22/RICH: 30,000 km / 18 months, the
      stricter row, since no engine part is claimed; whole-vehicle series:
      their one limit). Its reasons carry ``part_no=None``.
    * ``WarrantyDecision.scope`` is the scope that applied: the one scope of
      every judged part, ``mixed`` when parts fell under different scopes,
      the vehicle-level scope when there are no parts, and ``none`` for an
      unknown series (no row applies).

Exclusions (不予保修, a-n)
    Findings are recorded for the claim as a whole (``diagnose`` takes no
    per-part findings), so an exclusion finding removes every claimed part (and fails
    the vehicle-level check), with these two refinements:

    * ``m`` (indirect losses: hire car, lodging, lost business) is about
      losses that are not parts; it is noted as a reason but removes no part:
      the repair is judged on its own and the indirect losses are not paid.
    * ``l`` (altered odometer): the mileage cannot be established, so the
      claim is not covered and no mileage check is made (its figure would be
      meaningless); the age check is still reported.

    A part with ``original=False`` is excluded under ``g`` on its own, even
    without the ``non_original_part`` finding (that finding removes every part).
    ``undetermined`` (cause and responsibility hard to establish) is not an
    exclusion: with no exclusion removing the parts it gives ``needs_approval``
    (still covered with evidence of correct use and maintenance and the
    after-sales section's approval, see ``settle_approval``).

Decision
    * ``not_covered``: an exclusion or a limit removes every claimed part (or
      fails the vehicle-level check when there are no parts).
    * ``covered``: at least one part survives; the others are listed in
      ``uncovered_parts`` with their reasons (each reason names its part).
    * ``needs_approval``: ``undetermined`` with nothing else removing every
      part, or a series missing from the table (rule ``unknown_series``; the
      finding exclusions and the non-original rule still apply, since they do
      not depend on the table). ``covered_parts`` then lists the parts the
      approval would cover.

    Every ``Reason`` names its rule: ``mileage``, ``age``, an exclusion letter
    ``a``-``n``, ``undetermined`` or ``unknown_series``. Reasons come in a
    fixed order: claim-wide exclusions (alphabetical), then per-part (or
    vehicle-level) reasons in the order of the parts, then ``undetermined`` /
    ``unknown_series``.
"""

from __future__ import annotations

import calendar
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeGuard

__all__ = [
    "COVERED",
    "DECISIONS",
    "EXCLUSION_TEXT",
    "FINDING_EXCLUSIONS",
    "NEEDS_APPROVAL",
    "NOT_COVERED",
    "POLICY_ENV_VAR",
    "RULES",
    "SCOPES",
    "SYSTEMS",
    "MaintenanceVisit",
    "Part",
    "PolicyError",
    "Reason",
    "ScopeLimit",
    "WarrantyDecision",
    "WarrantyPolicy",
    "add_months",
    "decide",
    "last_covered_day",
    "maintenance_due",
    "months_in_service",
    "settle_approval",
]

POLICY_ENV_VAR: Final = "RESCUE_WARRANTY_POLICY"
_POLICY_RESOURCE: Final = "warranty_policy.json"

COVERED: Final = "covered"
NOT_COVERED: Final = "not_covered"
NEEDS_APPROVAL: Final = "needs_approval"
DECISIONS: Final = frozenset({COVERED, NOT_COVERED, NEEDS_APPROVAL})

WHOLE_VEHICLE: Final = "whole_vehicle"
ENGINE: Final = "engine"
OTHER: Final = "other"
MIXED: Final = "mixed"
NO_SCOPE: Final = "none"
SCOPES: Final = frozenset({WHOLE_VEHICLE, ENGINE, OTHER})
SYSTEMS: Final = frozenset({ENGINE, OTHER})
_DECISION_SCOPES: Final = SCOPES | {MIXED, NO_SCOPE}

MILEAGE: Final = "mileage"
AGE: Final = "age"
UNDETERMINED: Final = "undetermined"
UNKNOWN_SERIES: Final = "unknown_series"
_LETTERS: Final = tuple("abcdefghijklmn")
RULES: Final = frozenset({MILEAGE, AGE, UNDETERMINED, UNKNOWN_SERIES, *_LETTERS})

# What the warranty does not cover, 不予保修 a-n (English, then the policy's own wording).
EXCLUSION_TEXT: Final[Mapping[str, str]] = MappingProxyType(
    {
        "a": "missed the mandatory free inspection or the periodic maintenance at an "
        "authorised service point (未经特约维修服务网点进行强制免费检查保养或定期检查保养)",
        "b": "parts fitted or modified outside the factory and the damage they cause; "
        "accident vehicle (在工厂之外安装或改装部分、事故车)",
        "c": "parts and labour of maintenance the owner's manual prescribes "
        "(《使用说明手册》中规定或推荐的保养时发生的零件或劳务费用)",
        "d": "normal maintenance and consumables (正常的维修保养及正常消耗品的更换)",
        "e": "misuse causing an accident, theft or fire (使用不当,造成事故、失窃或者失火)",
        "f": "wrong or dirty fuel, antifreeze, brake fluid or lubricant "
        "(使用不正确的或不干净的燃油、防冻液、制动液或润滑油)",
        "g": "non-original parts (使用非原装郑州日产配件)",
        "h": "the part of the loss that grew because the fault was not dealt with in time "
        "(出现故障未及时处理,带故障操作使损失扩大部分)",
        "i": "sand, chemical dust, tree sap, salt, hail, storm, lightning or other "
        "environmental causes (砂粒、化学尘埃、树液、盐、冰雹、风暴、闪电或其它环境因素引起的损坏)",
        "j": "repair done outside the authorised network (未经特约维修服务网点进行的修理)",
        "k": "normal ageing of trim, paint and other appearance parts "
        "(内饰件、油漆或其它外观件正常的变质、老化)",
        "l": "altered odometer, the mileage cannot be established "
        "(更改里程表读数以致不能确定里程数)",
        "m": "indirect losses such as a hire car, lodging or lost business "
        "(间接损失,如租用车辆、住宿及营业损失)",
        "n": "damage from long parking or poor storage (因长期停驶,保管不善造成的损坏)",
    }
)

# The findings a crew may record with ``diagnose`` -> the exclusions each establishes.
FINDING_EXCLUSIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "missed_maintenance": ("a",),
        "modified": ("b",),
        "accident": ("b", "e"),
        "manual_maintenance": ("c",),
        "wear_consumable": ("d",),
        "misuse": ("e",),
        "wrong_fluid": ("f",),
        "non_original_part": ("g",),
        "delayed_report": ("h",),
        "environmental": ("i",),
        "unauthorized_repair": ("j",),
        "appearance_ageing": ("k",),
        "odometer_altered": ("l",),
        "indirect_loss": ("m",),
        "long_storage": ("n",),
        UNDETERMINED: (),
    }
)

# Exclusions noted on the claim that remove no part (see the module docstring).
_NON_REMOVING: Final = frozenset({"m"})


class PolicyError(ValueError):
    """The policy file is missing, unreadable or not of the expected shape."""


# --------------------------------------------------------------------------- dates


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the target month's end."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_covered_day(sold_on: date, months: int) -> date:
    """The last covered day of a ``months``-month period: the day before the anniversary."""
    return date.fromordinal(add_months(sold_on, months).toordinal() - 1)


def months_in_service(sold_on: date, failed_on: date) -> int:
    """Whole calendar months from ``sold_on`` to ``failed_on``.

    The largest ``m`` with ``add_months(sold_on, m) <= failed_on``: sold
    2024-01-31, failed 2024-02-28 -> 0, failed 2024-02-29 -> 1.
    """
    if failed_on < sold_on:
        raise ValueError(f"failed_on {failed_on} is before sold_on {sold_on}")
    elapsed = (failed_on.year - sold_on.year) * 12 + failed_on.month - sold_on.month
    if add_months(sold_on, elapsed) > failed_on:
        elapsed -= 1
    return elapsed


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class ScopeLimit:
    """One row of the policy table: a scope and its mileage and months."""

    scope: str
    mileage_km: int
    months: int

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {sorted(SCOPES)}, not {self.scope!r}")
        for name in ("mileage_km", "months"):
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")

    def as_dict(self) -> dict[str, object]:
        return {"scope": self.scope, "mileage_km": self.mileage_km, "months": self.months}


@dataclass(frozen=True, slots=True)
class MaintenanceVisit:
    """A free maintenance visit (免费保养) due at an odometer reading."""

    at_km: int
    items: tuple[str, ...]

    def __post_init__(self) -> None:
        if not _is_int(self.at_km) or self.at_km <= 0:
            raise ValueError(f"at_km must be a positive integer, not {self.at_km!r}")
        if not self.items or not all(isinstance(i, str) and i for i in self.items):
            raise ValueError("items must be a non-empty list of non-empty strings")

    def as_dict(self) -> dict[str, object]:
        return {"at_km": self.at_km, "items": list(self.items)}


def _normalise_series(series: str) -> str:
    return series.strip().upper()


@dataclass(frozen=True, slots=True)
class WarrantyPolicy:
    """The policy table: series code -> scope limits, and the free maintenance schedule.

    Series codes are compared case-insensitively (stored upper-case).
    """

    series: Mapping[str, tuple[ScopeLimit, ...]]
    free_maintenance: Mapping[str, tuple[MaintenanceVisit, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        series: dict[str, tuple[ScopeLimit, ...]] = {}
        for code, limits in self.series.items():
            key = _normalise_series(code)
            if not key:
                raise ValueError("empty series code")
            if key in series:
                raise ValueError(f"series {key} listed twice")
            names = [limit.scope for limit in limits]
            if len(set(names)) != len(names):
                raise ValueError(f"series {key}: a scope is listed twice")
            if WHOLE_VEHICLE not in names and not set(names) >= SYSTEMS:
                raise ValueError(
                    f"series {key}: needs a whole_vehicle scope or both engine and other"
                )
            series[key] = tuple(limits)
        visits: dict[str, tuple[MaintenanceVisit, ...]] = {}
        for code, schedule in self.free_maintenance.items():
            key = _normalise_series(code)
            ordered = tuple(sorted(schedule, key=lambda visit: visit.at_km))
            if len({visit.at_km for visit in ordered}) != len(ordered):
                raise ValueError(f"free maintenance of {key}: two visits at the same km")
            visits[key] = ordered
        object.__setattr__(self, "series", MappingProxyType(series))
        object.__setattr__(self, "free_maintenance", MappingProxyType(visits))

    @classmethod
    def load(cls, path: Path | None = None) -> WarrantyPolicy:
        """Load the policy: ``path``, else ``$RESCUE_WARRANTY_POLICY``, else the packaged file."""
        if path is None and os.environ.get(POLICY_ENV_VAR, "").strip():
            path = Path(os.environ[POLICY_ENV_VAR].strip())
        try:
            if path is None:
                where = f"package resource rescue/domain/{_POLICY_RESOURCE}"
                policy_file = resources.files("rescue.domain").joinpath(_POLICY_RESOURCE)
                text = policy_file.read_text("utf-8")
            else:
                where = str(path)
                text = Path(path).read_text(encoding="utf-8")
            data: object = json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PolicyError(f"cannot read the warranty policy {where}: {exc}") from exc
        try:
            return cls.from_dict(data)
        except PolicyError as exc:
            raise PolicyError(f"{where}: {exc}") from exc

    @classmethod
    def from_dict(cls, data: object) -> WarrantyPolicy:
        """Build a policy from the JSON shape of ``warranty_policy.json``."""
        try:
            root = _mapping(data, "the policy")
            series_data = _mapping(root.get("series"), "series")
            series = {
                str(code): tuple(
                    _scope_limit(row, f"series.{code}[{i}]")
                    for i, row in enumerate(_list(rows, f"series.{code}", non_empty=True))
                )
                for code, rows in series_data.items()
            }
            maintenance_data = _mapping(root.get("free_maintenance", {}), "free_maintenance")
            maintenance = {
                str(code): tuple(
                    _visit(row, f"free_maintenance.{code}[{i}]")
                    for i, row in enumerate(_list(rows, f"free_maintenance.{code}"))
                )
                for code, rows in maintenance_data.items()
            }
            return cls(series=series, free_maintenance=maintenance)
        except PolicyError:
            raise
        except ValueError as exc:
            raise PolicyError(str(exc)) from exc

    def knows(self, series: str) -> bool:
        return _normalise_series(series) in self.series

    def limit_for(self, series: str, system: str) -> ScopeLimit:
        """The limit a part of ``system`` gets in ``series`` (``KeyError`` if unknown series)."""
        limits = {limit.scope: limit for limit in self.series[_normalise_series(series)]}
        return limits.get(system) or limits[WHOLE_VEHICLE]

    def as_dict(self) -> dict[str, object]:
        return {
            "series": {
                code: [limit.as_dict() for limit in limits] for code, limits in self.series.items()
            },
            "free_maintenance": {
                code: [visit.as_dict() for visit in visits]
                for code, visits in self.free_maintenance.items()
            },
        }


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where} must be an object")
    return value


def _list(value: object, where: str, *, non_empty: bool = False) -> list[object]:
    if not isinstance(value, list) or (non_empty and not value):
        raise PolicyError(f"{where} must be a {'non-empty ' if non_empty else ''}list")
    return value


def _scope_limit(value: object, where: str) -> ScopeLimit:
    row = _mapping(value, where)
    scope, mileage, months = row.get("scope"), row.get("mileage_km"), row.get("months")
    if not isinstance(scope, str) or not _is_int(mileage) or not _is_int(months):
        raise PolicyError(f"{where} needs scope (string), mileage_km and months (integers)")
    try:
        return ScopeLimit(scope=scope, mileage_km=mileage, months=months)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from exc


def _visit(value: object, where: str) -> MaintenanceVisit:
    row = _mapping(value, where)
    at_km, items = row.get("at_km"), row.get("items")
    if not _is_int(at_km) or not isinstance(items, list):
        raise PolicyError(f"{where} needs at_km (integer) and items (list of strings)")
    try:
        return MaintenanceVisit(at_km=at_km, items=tuple(items))
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from exc


# --------------------------------------------------------------------------- claim inputs


@dataclass(frozen=True, slots=True)
class Part:
    """A part recorded by the crew with ``diagnose``: one of the claim's warranty inputs."""

    part_no: str
    name: str
    system: str
    qty: int
    original: bool

    def __post_init__(self) -> None:
        if not isinstance(self.part_no, str) or not self.part_no.strip():
            raise ValueError("part_no must be a non-empty string")
        if not isinstance(self.name, str):
            raise ValueError("name must be a string")
        if self.system not in SYSTEMS:
            raise ValueError(f"system must be one of {sorted(SYSTEMS)}, not {self.system!r}")
        if not _is_int(self.qty) or self.qty < 1:
            raise ValueError(f"qty must be a positive integer, not {self.qty!r}")
        if not isinstance(self.original, bool):
            raise ValueError(f"original must be a boolean, not {self.original!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Part:
        """Build a part from its JSON object; ``ValueError`` on a bad field."""
        part_no, name, system = data.get("part_no"), data.get("name", ""), data.get("system")
        qty, original = data.get("qty", 1), data.get("original", True)
        if not isinstance(part_no, str) or not isinstance(name, str):
            raise ValueError("part_no and name must be strings")
        if not isinstance(system, str) or not _is_int(qty) or not isinstance(original, bool):
            raise ValueError("system must be a string, qty an integer, original a boolean")
        return cls(part_no=part_no, name=name, system=system, qty=qty, original=original)

    def as_dict(self) -> dict[str, object]:
        return {
            "part_no": self.part_no,
            "name": self.name,
            "system": self.system,
            "qty": self.qty,
            "original": self.original,
        }


# --------------------------------------------------------------------------- the answer


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a claim (or one of its parts, ``part_no``) is or is not covered."""

    rule: str
    message: str
    part_no: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown rule {self.rule!r}")

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "message": self.message, "part_no": self.part_no}


@dataclass(frozen=True, slots=True)
class WarrantyDecision:
    """The claim answer: decision, reasons, scope, months and odometer, parts."""

    decision: str
    reasons: tuple[Reason, ...]
    scope: str
    months_in_service: int
    odometer_km: int
    covered_parts: tuple[str, ...]
    uncovered_parts: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {sorted(DECISIONS)}")
        if self.scope not in _DECISION_SCOPES:
            raise ValueError(f"scope must be one of {sorted(_DECISION_SCOPES)}")

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "reasons": [reason.as_dict() for reason in self.reasons],
            "scope": self.scope,
            "months_in_service": self.months_in_service,
            "odometer_km": self.odometer_km,
            "covered_parts": list(self.covered_parts),
            "uncovered_parts": list(self.uncovered_parts),
        }


# --------------------------------------------------------------------------- the rule


def _limit_reasons(
    series: str,
    limit: ScopeLimit,
    *,
    sold_on: date,
    failed_on: date,
    in_service: int,
    odometer_km: int,
    mileage_known: bool,
    part_no: str | None,
) -> list[Reason]:
    """The ``age`` and ``mileage`` reasons a limit gives (empty when within it)."""
    what = f"{limit.scope} warranty of {series} ({limit.mileage_km} km / {limit.months} months)"
    reasons = []
    if in_service >= limit.months:
        reasons.append(
            Reason(
                AGE,
                f"failed on {failed_on.isoformat()}, {in_service} months after the sale on "
                f"{sold_on.isoformat()}; the {what} ended on "
                f"{last_covered_day(sold_on, limit.months).isoformat()}",
                part_no,
            )
        )
    if mileage_known and odometer_km > limit.mileage_km:
        reasons.append(
            Reason(
                MILEAGE,
                f"odometer {odometer_km} km is past the {limit.mileage_km} km of the {what}",
                part_no,
            )
        )
    return reasons


def decide(
    policy: WarrantyPolicy,
    *,
    series: str,
    sold_on: date,
    failed_on: date,
    odometer_km: int,
    parts: Sequence[Part],
    findings: Sequence[str],
) -> WarrantyDecision:
    """Judge a claim against the policy (semantics in the module docstring)."""
    if not _is_int(odometer_km) or odometer_km < 0:
        raise ValueError(f"odometer_km must be a non-negative integer, not {odometer_km!r}")
    unknown = [code for code in findings if code not in FINDING_EXCLUSIONS]
    if unknown:
        raise ValueError(f"unknown finding codes {unknown}; known: {sorted(FINDING_EXCLUSIONS)}")
    part_nos = [part.part_no for part in parts]
    if len(set(part_nos)) != len(part_nos):
        raise ValueError("a part_no is listed twice; record it once with its qty")
    in_service = months_in_service(sold_on, failed_on)
    code = _normalise_series(series)

    # Claim-wide exclusions from the findings, one reason per letter.
    by_letter: dict[str, list[str]] = {}
    for finding in dict.fromkeys(findings):
        for letter in FINDING_EXCLUSIONS[finding]:
            by_letter.setdefault(letter, []).append(finding)
    claim_reasons = [
        Reason(letter, f"{letter}: {EXCLUSION_TEXT[letter]} (finding: {', '.join(found)})")
        for letter, found in sorted(by_letter.items())
    ]
    claim_excluded = any(letter not in _NON_REMOVING for letter in by_letter)
    mileage_known = "l" not in by_letter
    undetermined = UNDETERMINED in findings
    known_series = policy.knows(code)

    # Per-part reasons: the non-original rule, then the limit of the part's scope.
    part_reasons: list[Reason] = []
    removed: set[str] = set()
    applied_scopes: list[str] = []
    for part in parts:
        reasons: list[Reason] = []
        if not part.original:
            reasons.append(
                Reason("g", f"g: {EXCLUSION_TEXT['g']}: {part.name or part.part_no}", part.part_no)
            )
        if known_series:
            limit = policy.limit_for(code, part.system)
            applied_scopes.append(limit.scope)
            reasons += _limit_reasons(
                code,
                limit,
                sold_on=sold_on,
                failed_on=failed_on,
                in_service=in_service,
                odometer_km=odometer_km,
                mileage_known=mileage_known,
                part_no=part.part_no,
            )
        if reasons:
            removed.add(part.part_no)
        part_reasons += reasons

    # Vehicle-level check when no part is claimed: the "other" limit.
    vehicle_out = False
    if not parts and known_series:
        limit = policy.limit_for(code, OTHER)
        applied_scopes.append(limit.scope)
        vehicle_reasons = _limit_reasons(
            code,
            limit,
            sold_on=sold_on,
            failed_on=failed_on,
            in_service=in_service,
            odometer_km=odometer_km,
            mileage_known=mileage_known,
            part_no=None,
        )
        vehicle_out = bool(vehicle_reasons)
        part_reasons += vehicle_reasons

    tail: list[Reason] = []
    if undetermined:
        tail.append(
            Reason(
                UNDETERMINED,
                "cause and responsibility are hard to establish: covered only if the owner "
                "shows evidence of correct use and maintenance (maintenance records) and the "
                "after-sales section approves",
            )
        )
    if not known_series:
        tail.append(
            Reason(
                UNKNOWN_SERIES,
                f"model series {series!r} is not in the warranty policy table "
                f"({', '.join(sorted(policy.series))}); the after-sales section must decide",
            )
        )

    if claim_excluded:
        covered: tuple[str, ...] = ()
    else:
        covered = tuple(no for no in part_nos if no not in removed)
    uncovered = tuple(no for no in part_nos if no not in covered)

    nothing_left = (not covered) if parts else (claim_excluded or vehicle_out)
    if nothing_left:
        decision = NOT_COVERED
    elif undetermined or not known_series:
        decision = NEEDS_APPROVAL
    else:
        decision = COVERED

    distinct = set(applied_scopes)
    if not known_series:
        scope = NO_SCOPE
    elif len(distinct) == 1:
        scope = distinct.pop()
    else:
        scope = MIXED

    return WarrantyDecision(
        decision=decision,
        reasons=(*claim_reasons, *part_reasons, *tail),
        scope=scope,
        months_in_service=in_service,
        odometer_km=odometer_km,
        covered_parts=covered,
        uncovered_parts=uncovered,
    )


def settle_approval(
    decision: WarrantyDecision, *, approved: bool, evidence: str, approver: str
) -> WarrantyDecision:
    """Settle a ``needs_approval`` decision by the after-sales section (售后服务课).

    Approved -> ``covered`` for the parts the approval was asked for; rejected
    -> ``not_covered`` for every part. The reasons keep the earlier notes and
    gain one per pending rule (``undetermined`` / ``unknown_series``) naming
    the approver and the evidence.
    """
    if decision.decision != NEEDS_APPROVAL:
        raise ValueError(f"only a needs_approval decision can be settled, not {decision.decision}")
    if not approver.strip() or not evidence.strip():
        raise ValueError("an approval names its approver and its evidence")
    pending = [
        rule
        for rule in (UNDETERMINED, UNKNOWN_SERIES)
        if any(r.rule == rule for r in decision.reasons)
    ] or [UNDETERMINED]
    verdict = "approved" if approved else "rejected"
    notes = tuple(
        Reason(rule, f"{verdict} by {approver.strip()}; evidence: {evidence.strip()}")
        for rule in pending
    )
    if approved:
        return replace(decision, decision=COVERED, reasons=decision.reasons + notes)
    every_part = decision.covered_parts + decision.uncovered_parts
    return replace(
        decision,
        decision=NOT_COVERED,
        reasons=decision.reasons + notes,
        covered_parts=(),
        uncovered_parts=every_part,
    )


def maintenance_due(
    policy: WarrantyPolicy, series: str, odometer_km: int
) -> list[MaintenanceVisit]:
    """The free maintenance visits not yet passed at ``odometer_km`` (for follow-up reminders).

    A visit at exactly the current reading is still due; a series without free
    maintenance (or unknown) has none.
    """
    if not _is_int(odometer_km) or odometer_km < 0:
        raise ValueError(f"odometer_km must be a non-negative integer, not {odometer_km!r}")
    visits = policy.free_maintenance.get(_normalise_series(series), ())
    return [visit for visit in visits if visit.at_km >= odometer_km]
