"""The warranty rule: the policy table at its edges, exclusions a-n, approval."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rescue.domain.warranty import (
    EXCLUSION_TEXT,
    FINDING_EXCLUSIONS,
    POLICY_ENV_VAR,
    MaintenanceVisit,
    Part,
    PolicyError,
    Reason,
    ScopeLimit,
    WarrantyDecision,
    WarrantyPolicy,
    add_months,
    decide,
    last_covered_day,
    maintenance_due,
    months_in_service,
    settle_approval,
)

SOLD = date(2023, 3, 15)


@pytest.fixture(scope="module")
def policy() -> WarrantyPolicy:
    return WarrantyPolicy.load()


def engine_part(part_no: str = "E-1", *, original: bool = True) -> Part:
    return Part(part_no=part_no, name="water pump", system="engine", qty=1, original=original)


def other_part(part_no: str = "O-1", *, original: bool = True) -> Part:
    return Part(part_no=part_no, name="alternator", system="other", qty=1, original=original)


def judge(
    policy: WarrantyPolicy,
    *,
    series: str = "PALADIN",
    failed_on: date = date(2024, 3, 15),
    odometer_km: int = 20_000,
    parts: tuple[Part, ...] = (),
    findings: tuple[str, ...] = (),
) -> WarrantyDecision:
    return decide(
        policy,
        series=series,
        sold_on=SOLD,
        failed_on=failed_on,
        odometer_km=odometer_km,
        parts=parts,
        findings=findings,
    )


def rules(decision: WarrantyDecision) -> list[str]:
    return [reason.rule for reason in decision.reasons]


# --------------------------------------------------------------------------- the table

# (series, system of the claimed part, scope that applies, mileage_km, months)
TABLE = [
    ("PALADIN", "engine", "whole_vehicle", 60_000, 24),
    ("PALADIN", "other", "whole_vehicle", 60_000, 24),
    ("D22", "engine", "engine", 50_000, 24),
    ("D22", "other", "other", 30_000, 18),
    ("RICH", "engine", "engine", 50_000, 24),
    ("RICH", "other", "other", 30_000, 18),
    ("NV200", "engine", "whole_vehicle", 60_000, 24),
    ("NV200", "other", "whole_vehicle", 60_000, 24),
]


def test_packaged_table_is_the_domain_table(policy: WarrantyPolicy) -> None:
    assert policy.as_dict()["series"] == {
        "PALADIN": [{"scope": "whole_vehicle", "mileage_km": 60_000, "months": 24}],
        "D22": [
            {"scope": "engine", "mileage_km": 50_000, "months": 24},
            {"scope": "other", "mileage_km": 30_000, "months": 18},
        ],
        "RICH": [
            {"scope": "engine", "mileage_km": 50_000, "months": 24},
            {"scope": "other", "mileage_km": 30_000, "months": 18},
        ],
        "NV200": [{"scope": "whole_vehicle", "mileage_km": 60_000, "months": 24}],
    }
    assert resources.files("rescue.domain").joinpath("warranty_policy.json").is_file()


@pytest.mark.parametrize(("series", "system", "scope", "mileage", "months"), TABLE)
def test_last_covered_km_and_day(
    policy: WarrantyPolicy, series: str, system: str, scope: str, mileage: int, months: int
) -> None:
    part = Part("P-1", "part", system, 1, True)
    last_day = add_months(SOLD, months) - timedelta(days=1)
    assert last_day == last_covered_day(SOLD, months)
    d = judge(policy, series=series, failed_on=last_day, odometer_km=mileage, parts=(part,))
    assert d.decision == "covered"
    assert d.reasons == ()
    assert d.scope == scope
    assert d.covered_parts == ("P-1",)
    assert d.uncovered_parts == ()
    assert d.months_in_service == months - 1
    assert d.odometer_km == mileage


@pytest.mark.parametrize(("series", "system", "scope", "mileage", "months"), TABLE)
def test_first_uncovered_km(
    policy: WarrantyPolicy, series: str, system: str, scope: str, mileage: int, months: int
) -> None:
    part = Part("P-1", "part", system, 1, True)
    d = judge(policy, series=series, failed_on=SOLD, odometer_km=mileage + 1, parts=(part,))
    assert d.decision == "not_covered"
    assert d.reasons == (d.reasons[0],)
    assert d.reasons[0].rule == "mileage"
    assert d.reasons[0].part_no == "P-1"
    assert str(mileage) in d.reasons[0].message
    assert d.scope == scope
    assert d.uncovered_parts == ("P-1",)
    assert d.covered_parts == ()


@pytest.mark.parametrize(("series", "system", "scope", "mileage", "months"), TABLE)
def test_first_uncovered_day(
    policy: WarrantyPolicy, series: str, system: str, scope: str, mileage: int, months: int
) -> None:
    part = Part("P-1", "part", system, 1, True)
    anniversary = add_months(SOLD, months)
    d = judge(policy, series=series, failed_on=anniversary, odometer_km=1_000, parts=(part,))
    assert d.decision == "not_covered"
    assert rules(d) == ["age"]
    assert d.reasons[0].part_no == "P-1"
    assert d.months_in_service == months
    assert d.scope == scope


@pytest.mark.parametrize(("series", "system", "scope", "mileage", "months"), TABLE)
def test_both_limits_passed_gives_both_reasons(
    policy: WarrantyPolicy, series: str, system: str, scope: str, mileage: int, months: int
) -> None:
    part = Part("P-1", "part", system, 1, True)
    d = judge(
        policy,
        series=series,
        failed_on=add_months(SOLD, months + 5),
        odometer_km=mileage * 2,
        parts=(part,),
    )
    assert d.decision == "not_covered"
    assert rules(d) == ["age", "mileage"]


@pytest.mark.parametrize(
    ("series", "mileage", "months", "scope"),
    [
        ("PALADIN", 60_000, 24, "whole_vehicle"),
        ("NV200", 60_000, 24, "whole_vehicle"),
        ("D22", 30_000, 18, "other"),
        ("RICH", 30_000, 18, "other"),
    ],
)
def test_no_parts_uses_the_other_limit_at_vehicle_level(
    policy: WarrantyPolicy, series: str, mileage: int, months: int, scope: str
) -> None:
    last_day = last_covered_day(SOLD, months)
    inside = judge(policy, series=series, failed_on=last_day, odometer_km=mileage)
    assert (inside.decision, inside.scope, inside.reasons) == ("covered", scope, ())
    assert inside.covered_parts == inside.uncovered_parts == ()
    km_out = judge(policy, series=series, failed_on=last_day, odometer_km=mileage + 1)
    assert (km_out.decision, rules(km_out)) == ("not_covered", ["mileage"])
    assert km_out.reasons[0].part_no is None
    day_out = judge(policy, series=series, failed_on=add_months(SOLD, months), odometer_km=1)
    assert (day_out.decision, rules(day_out)) == ("not_covered", ["age"])


@pytest.mark.parametrize("series", ["D22", "RICH"])
def test_engine_and_other_parts_judged_by_their_own_scope(
    policy: WarrantyPolicy, series: str
) -> None:
    # 40,000 km and 20 months: inside the engine row, past both limits of "other".
    failed = date(2024, 11, 20)
    engine_only = judge(
        policy, series=series, failed_on=failed, odometer_km=40_000, parts=(engine_part(),)
    )
    assert (engine_only.decision, engine_only.scope) == ("covered", "engine")
    other_only = judge(
        policy, series=series, failed_on=failed, odometer_km=40_000, parts=(other_part(),)
    )
    assert (other_only.decision, other_only.scope) == ("not_covered", "other")
    assert rules(other_only) == ["age", "mileage"]
    both = judge(
        policy,
        series=series,
        failed_on=failed,
        odometer_km=40_000,
        parts=(engine_part(), other_part()),
    )
    assert both.decision == "covered"
    assert both.scope == "mixed"
    assert both.covered_parts == ("E-1",)
    assert both.uncovered_parts == ("O-1",)
    assert {r.part_no for r in both.reasons} == {"O-1"}


@pytest.mark.parametrize("series", ["PALADIN", "NV200"])
def test_whole_vehicle_one_limit_for_every_part(policy: WarrantyPolicy, series: str) -> None:
    # 40,000 km and 20 months: past D22's "other" row but inside the whole-vehicle row.
    d = judge(
        policy,
        series=series,
        failed_on=date(2024, 11, 20),
        odometer_km=40_000,
        parts=(engine_part(), other_part()),
    )
    assert d.decision == "covered"
    assert d.scope == "whole_vehicle"
    assert d.covered_parts == ("E-1", "O-1")


def test_series_code_is_case_insensitive(policy: WarrantyPolicy) -> None:
    assert judge(policy, series=" rich ").decision == "covered"


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("sold", "failed", "months"),
    [
        (date(2024, 1, 31), date(2024, 2, 28), 0),
        (date(2024, 1, 31), date(2024, 2, 29), 1),  # end of a leap February
        (date(2023, 1, 31), date(2023, 2, 27), 0),
        (date(2023, 1, 31), date(2023, 2, 28), 1),  # end of a common February
        (date(2024, 1, 31), date(2024, 3, 30), 1),
        (date(2024, 1, 31), date(2024, 3, 31), 2),
        (date(2024, 2, 29), date(2025, 2, 27), 11),
        (date(2024, 2, 29), date(2025, 2, 28), 12),
        (date(2024, 3, 15), date(2024, 3, 15), 0),
        (date(2024, 3, 15), date(2024, 4, 14), 0),
        (date(2024, 3, 15), date(2024, 4, 15), 1),
        (date(2023, 12, 31), date(2024, 1, 1), 0),
        (date(2023, 12, 31), date(2025, 12, 31), 24),
    ],
)
def test_months_in_service(sold: date, failed: date, months: int) -> None:
    assert months_in_service(sold, failed) == months


def test_months_in_service_rejects_failure_before_sale() -> None:
    with pytest.raises(ValueError, match="before"):
        months_in_service(date(2024, 3, 15), date(2024, 3, 14))


@pytest.mark.parametrize(
    ("sold", "months", "anniversary", "last_day"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29), date(2024, 2, 28)),
        (date(2023, 1, 31), 1, date(2023, 2, 28), date(2023, 2, 27)),
        (date(2023, 8, 31), 18, date(2025, 2, 28), date(2025, 2, 27)),
        (date(2024, 2, 29), 24, date(2026, 2, 28), date(2026, 2, 27)),
        (date(2023, 3, 15), 24, date(2025, 3, 15), date(2025, 3, 14)),
        (date(2023, 12, 1), 18, date(2025, 6, 1), date(2025, 5, 31)),
    ],
)
def test_period_end_month_arithmetic(
    sold: date, months: int, anniversary: date, last_day: date
) -> None:
    assert add_months(sold, months) == anniversary
    assert last_covered_day(sold, months) == last_day


def test_month_end_sale_both_edges(policy: WarrantyPolicy) -> None:
    # D22 "other" row, 18 months, sold on the 31st: anniversary clamps to 28 Feb.
    sold = date(2023, 8, 31)
    part = (other_part(),)
    inside = decide(
        policy,
        series="D22",
        sold_on=sold,
        failed_on=date(2025, 2, 27),
        odometer_km=100,
        parts=part,
        findings=(),
    )
    assert (inside.decision, inside.months_in_service) == ("covered", 17)
    out = decide(
        policy,
        series="D22",
        sold_on=sold,
        failed_on=date(2025, 2, 28),
        odometer_km=100,
        parts=part,
        findings=(),
    )
    assert (out.decision, out.months_in_service, rules(out)) == ("not_covered", 18, ["age"])
    assert "2025-02-27" in out.reasons[0].message


@given(
    sold=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=0, max_value=1200),
    months=st.integers(min_value=1, max_value=60),
)
def test_age_cover_is_months_in_service_below_limit(sold: date, days: int, months: int) -> None:
    failed = sold + timedelta(days=days)
    in_service = months_in_service(sold, failed)
    assert add_months(sold, in_service) <= failed < add_months(sold, in_service + 1)
    covered_by_age = failed <= last_covered_day(sold, months)
    assert covered_by_age == (in_service < months)


# --------------------------------------------------------------------------- exclusions


def test_finding_list_is_specs_list() -> None:
    assert dict(FINDING_EXCLUSIONS) == {
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
        "undetermined": (),
    }
    assert set(EXCLUSION_TEXT) == set("abcdefghijklmn")


REMOVING_FINDINGS = [
    ("missed_maintenance", ["a"]),
    ("modified", ["b"]),
    ("accident", ["b", "e"]),
    ("manual_maintenance", ["c"]),
    ("wear_consumable", ["d"]),
    ("misuse", ["e"]),
    ("wrong_fluid", ["f"]),
    ("non_original_part", ["g"]),
    ("delayed_report", ["h"]),
    ("environmental", ["i"]),
    ("unauthorized_repair", ["j"]),
    ("appearance_ageing", ["k"]),
    ("odometer_altered", ["l"]),
    ("long_storage", ["n"]),
]


@pytest.mark.parametrize(("finding", "letters"), REMOVING_FINDINGS)
def test_exclusion_finding_removes_every_part(
    policy: WarrantyPolicy, finding: str, letters: list[str]
) -> None:
    d = judge(policy, parts=(engine_part(), other_part()), findings=(finding,))
    assert d.decision == "not_covered"
    assert rules(d) == letters
    assert all(r.part_no is None and finding in r.message for r in d.reasons)
    assert d.covered_parts == ()
    assert d.uncovered_parts == ("E-1", "O-1")


@pytest.mark.parametrize(("finding", "letters"), REMOVING_FINDINGS)
def test_exclusion_finding_fails_the_vehicle_level_check(
    policy: WarrantyPolicy, finding: str, letters: list[str]
) -> None:
    d = judge(policy, findings=(finding,))
    assert (d.decision, rules(d)) == ("not_covered", letters)


def test_indirect_loss_is_noted_but_removes_no_part(policy: WarrantyPolicy) -> None:
    d = judge(policy, parts=(engine_part(),), findings=("indirect_loss",))
    assert d.decision == "covered"
    assert rules(d) == ["m"]
    assert d.covered_parts == ("E-1",)
    # ... but the limits still apply.
    late = judge(policy, odometer_km=70_000, parts=(engine_part(),), findings=("indirect_loss",))
    assert (late.decision, rules(late)) == ("not_covered", ["m", "mileage"])
    assert judge(policy, findings=("indirect_loss",)).decision == "covered"


def test_altered_odometer_skips_the_mileage_check(policy: WarrantyPolicy) -> None:
    d = judge(
        policy,
        failed_on=add_months(SOLD, 30),
        odometer_km=999_999,
        parts=(engine_part(),),
        findings=("odometer_altered",),
    )
    assert d.decision == "not_covered"
    assert rules(d) == ["l", "age"]


def test_findings_are_deduplicated_and_letters_sorted(policy: WarrantyPolicy) -> None:
    d = judge(policy, findings=("misuse", "accident", "misuse", "missed_maintenance"))
    assert rules(d) == ["a", "b", "e"]
    e_reason = d.reasons[2]
    assert "misuse" in e_reason.message and "accident" in e_reason.message


def test_non_original_part_alone_is_excluded_under_g(policy: WarrantyPolicy) -> None:
    d = judge(policy, parts=(engine_part(original=False),))
    assert d.decision == "not_covered"
    assert rules(d) == ["g"]
    assert d.reasons[0].part_no == "E-1"


def test_mixed_parts_covered_with_uncovered_listed(policy: WarrantyPolicy) -> None:
    d = judge(
        policy,
        series="D22",
        failed_on=date(2024, 11, 20),
        odometer_km=25_000,
        parts=(engine_part("E-1"), other_part("O-1"), engine_part("E-2", original=False)),
    )
    assert d.decision == "covered"
    assert d.scope == "mixed"
    assert d.covered_parts == ("E-1",)
    assert d.uncovered_parts == ("O-1", "E-2")
    assert [(r.rule, r.part_no) for r in d.reasons] == [("age", "O-1"), ("g", "E-2")]
    as_dict = d.as_dict()
    assert as_dict["covered_parts"] == ["E-1"]
    assert as_dict["reasons"] == [r.as_dict() for r in d.reasons]
    json.dumps(as_dict)


# --------------------------------------------------------------------------- approval


def test_undetermined_needs_approval_then_approved(policy: WarrantyPolicy) -> None:
    d = judge(policy, parts=(engine_part(), other_part(original=False)), findings=("undetermined",))
    assert d.decision == "needs_approval"
    assert rules(d) == ["g", "undetermined"]
    assert d.covered_parts == ("E-1",)
    assert d.uncovered_parts == ("O-1",)
    settled = settle_approval(
        d, approved=True, evidence="maintenance records 1500/5000 km", approver="Wang"
    )
    assert settled.decision == "covered"
    assert rules(settled) == ["g", "undetermined", "undetermined"]
    assert "approved by Wang" in settled.reasons[-1].message
    assert "maintenance records" in settled.reasons[-1].message
    assert settled.covered_parts == ("E-1",)
    assert settled.uncovered_parts == ("O-1",)


def test_undetermined_needs_approval_then_rejected(policy: WarrantyPolicy) -> None:
    d = judge(policy, parts=(engine_part(),), findings=("undetermined",))
    settled = settle_approval(d, approved=False, evidence="no maintenance records", approver="Li")
    assert settled.decision == "not_covered"
    assert settled.covered_parts == ()
    assert settled.uncovered_parts == ("E-1",)
    assert settled.reasons[0] == d.reasons[0]
    assert "rejected by Li" in settled.reasons[-1].message


def test_undetermined_without_parts_needs_approval(policy: WarrantyPolicy) -> None:
    assert judge(policy, findings=("undetermined",)).decision == "needs_approval"


def test_undetermined_does_not_outweigh_an_exclusion_or_a_limit(policy: WarrantyPolicy) -> None:
    excluded = judge(policy, parts=(engine_part(),), findings=("undetermined", "misuse"))
    assert (excluded.decision, rules(excluded)) == ("not_covered", ["e", "undetermined"])
    late = judge(policy, odometer_km=60_001, parts=(engine_part(),), findings=("undetermined",))
    assert (late.decision, rules(late)) == ("not_covered", ["mileage", "undetermined"])


def test_settle_only_a_pending_decision_with_evidence(policy: WarrantyPolicy) -> None:
    covered = judge(policy)
    with pytest.raises(ValueError, match="needs_approval"):
        settle_approval(covered, approved=True, evidence="records", approver="Wang")
    pending = judge(policy, findings=("undetermined",))
    with pytest.raises(ValueError, match="evidence"):
        settle_approval(pending, approved=True, evidence="  ", approver="Wang")
    with pytest.raises(ValueError, match="approver"):
        settle_approval(pending, approved=True, evidence="records", approver="")


def test_unknown_series_needs_approval(policy: WarrantyPolicy) -> None:
    d = judge(policy, series="TEANA", parts=(engine_part(),))
    assert d.decision == "needs_approval"
    assert rules(d) == ["unknown_series"]
    assert d.scope == "none"
    assert d.covered_parts == ("E-1",)
    settled = settle_approval(d, approved=True, evidence="Paladin-based build", approver="Zhao")
    assert settled.decision == "covered"
    assert rules(settled) == ["unknown_series", "unknown_series"]


def test_unknown_series_still_honours_exclusions(policy: WarrantyPolicy) -> None:
    misuse = judge(policy, series="TEANA", findings=("misuse",))
    assert (misuse.decision, rules(misuse)) == ("not_covered", ["e", "unknown_series"])
    non_original = judge(policy, series="TEANA", parts=(engine_part(original=False),))
    assert non_original.decision == "not_covered"


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_rejected(policy: WarrantyPolicy) -> None:
    with pytest.raises(ValueError, match="unknown finding"):
        judge(policy, findings=("rust",))
    with pytest.raises(ValueError, match="odometer"):
        judge(policy, odometer_km=-1)
    with pytest.raises(ValueError, match="before"):
        judge(policy, failed_on=SOLD - timedelta(days=1))
    with pytest.raises(ValueError, match="twice"):
        judge(policy, parts=(engine_part(), engine_part()))
    with pytest.raises(ValueError, match="system"):
        Part("P", "x", "gearbox", 1, True)
    with pytest.raises(ValueError, match="qty"):
        Part("P", "x", "engine", 0, True)
    with pytest.raises(ValueError, match="rule"):
        Reason("z", "no such rule")


def test_part_from_dict() -> None:
    part = Part.from_dict(
        {"part_no": "16100", "name": "pump", "system": "engine", "qty": 2, "original": False}
    )
    assert part == Part("16100", "pump", "engine", 2, False)
    assert part.as_dict()["qty"] == 2
    with pytest.raises(ValueError):
        Part.from_dict({"part_no": "1", "system": "engine", "qty": "2"})


# --------------------------------------------------------------------------- maintenance


def test_free_maintenance_schedule(policy: WarrantyPolicy) -> None:
    assert maintenance_due(policy, "PALADIN", 0) == [
        MaintenanceVisit(1500, ("check", "adjust")),
        MaintenanceVisit(5000, ("check", "adjust", "oil", "oil_filter")),
    ]
    assert [v.at_km for v in maintenance_due(policy, "PALADIN", 1500)] == [1500, 5000]
    assert [v.at_km for v in maintenance_due(policy, "PALADIN", 1501)] == [5000]
    assert maintenance_due(policy, "PALADIN", 5001) == []
    assert [v.at_km for v in maintenance_due(policy, "d22", 800)] == [1500]
    assert maintenance_due(policy, "D22", 1501) == []
    assert maintenance_due(policy, "RICH", 0) == []
    assert maintenance_due(policy, "TEANA", 0) == []


# --------------------------------------------------------------------------- loading


CUSTOM = {
    "comment": "test table",
    "series": {
        "teana": [{"scope": "whole_vehicle", "mileage_km": 100_000, "months": 36}],
        "D22": [
            {"scope": "engine", "mileage_km": 10, "months": 1},
            {"scope": "other", "mileage_km": 5, "months": 1},
        ],
    },
    "free_maintenance": {"TEANA": [{"at_km": 3000, "items": ["check"]}]},
}


def write(tmp_path: Path, data: object, name: str = "policy.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_load_custom_file(tmp_path: Path) -> None:
    custom = WarrantyPolicy.load(write(tmp_path, CUSTOM))
    assert set(custom.series) == {"TEANA", "D22"}
    assert custom.limit_for("TEANA", "engine") == ScopeLimit("whole_vehicle", 100_000, 36)
    d = decide(
        custom,
        series="TEANA",
        sold_on=date(2020, 1, 1),
        failed_on=date(2022, 12, 31),
        odometer_km=100_000,
        parts=(engine_part(),),
        findings=(),
    )
    assert (d.decision, d.scope) == ("covered", "whole_vehicle")
    assert [v.at_km for v in maintenance_due(custom, "teana", 0)] == [3000]
    assert judge(custom, series="PALADIN").decision == "needs_approval"


def test_load_from_environment_and_explicit_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POLICY_ENV_VAR, str(write(tmp_path, CUSTOM)))
    assert set(WarrantyPolicy.load().series) == {"TEANA", "D22"}
    only_rich = {"series": {"RICH": CUSTOM["series"]["D22"]}}  # type: ignore[index]
    assert set(WarrantyPolicy.load(write(tmp_path, only_rich, "rich.json")).series) == {"RICH"}
    monkeypatch.setenv(POLICY_ENV_VAR, "")
    assert "PALADIN" in WarrantyPolicy.load().series


@pytest.mark.parametrize(
    "data",
    [
        [],
        {},
        {"series": {"X": []}},
        {"series": {"X": [{"scope": "engine", "mileage_km": 1, "months": 1}]}},
        {"series": {"X": [{"scope": "chassis", "mileage_km": 1, "months": 1}]}},
        {"series": {"X": [{"scope": "whole_vehicle", "mileage_km": 0, "months": 1}]}},
        {"series": {"X": [{"scope": "whole_vehicle", "mileage_km": "1", "months": 1}]}},
        {"series": {"X": [{"scope": "whole_vehicle", "mileage_km": 1, "months": True}]}},
        {
            "series": {
                "X": [
                    {"scope": "whole_vehicle", "mileage_km": 1, "months": 1},
                    {"scope": "whole_vehicle", "mileage_km": 2, "months": 2},
                ]
            }
        },
        {  # the same code twice, once in lower case
            "series": {
                "x": [{"scope": "whole_vehicle", "mileage_km": 1, "months": 1}],
                "X": [{"scope": "whole_vehicle", "mileage_km": 1, "months": 1}],
            }
        },
        {
            "series": {"X": [{"scope": "whole_vehicle", "mileage_km": 1, "months": 1}]},
            "free_maintenance": {"X": [{"at_km": 100, "items": []}]},
        },
    ],
)
def test_load_rejects_a_malformed_table(tmp_path: Path, data: object) -> None:
    with pytest.raises(PolicyError):
        WarrantyPolicy.load(write(tmp_path, data))


def test_load_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"missing\.json"):
        WarrantyPolicy.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"bad\.json"):
        WarrantyPolicy.load(bad)
