"""The after-run log check: it must catch a van on two jobs, from either side of the record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rescue.simulator.audit import double_bookings, incident_spans, van_spans

T0 = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_one_job_after_another_is_fine() -> None:
    spans, problems = van_spans(
        "V1",
        [
            ("Offered", at(0), {"incident_id": "A"}),
            ("Engaged", at(1), {"incident_id": "A"}),
            ("Released", at(30), {"incident_id": "A"}),
            ("Offered", at(31), {"incident_id": "B"}),
            ("Released", at(32), {"incident_id": "B"}),
        ],
    )
    assert problems == []
    assert [(s.incident_id, s.start, s.end) for s in spans] == [
        ("A", at(0), at(30)),
        ("B", at(31), at(32)),
    ]
    assert double_bookings(spans) == []


def test_a_van_offered_a_second_job_while_holding_one_is_caught() -> None:
    _spans, problems = van_spans(
        "V1",
        [
            ("Offered", at(0), {"incident_id": "A"}),
            ("Offered", at(5), {"incident_id": "B"}),
            ("Released", at(9), {"incident_id": "A"}),
        ],
    )
    assert len(problems) == 2  # offered while holding A; then released A while holding B
    assert "while holding A" in problems[0]


def test_overlapping_spans_from_two_incidents_records_are_caught() -> None:
    a = incident_spans(
        "A",
        [
            ("Reported", at(0), {}),
            ("Offered", at(1), {"van_id": "V1"}),
            ("Accepted", at(2), {}),
            ("Completed", at(40), {}),
        ],
    )
    b = incident_spans(
        "B",
        [
            ("Reported", at(10), {}),
            ("Offered", at(11), {"van_id": "V2"}),
            ("Declined", at(12), {"van_id": "V2"}),
            ("Offered", at(20), {"van_id": "V1"}),  # V1 is still on A until 40
            ("Cancelled", at(25), {}),
        ],
    )
    assert [(s.van_id, s.start, s.end) for s in b] == [
        ("V2", at(11), at(12)),
        ("V1", at(20), at(25)),
    ]
    problems = double_bookings(a + b)
    assert len(problems) == 1 and "V1 on A and B" in problems[0]


def test_a_job_never_released_overlaps_everything_after_it() -> None:
    a = incident_spans("A", [("Offered", at(0), {"van_id": "V1"})])
    b = incident_spans("B", [("Offered", at(60), {"van_id": "V1"}), ("Completed", at(90), {})])
    assert a[0].end is None
    assert double_bookings(a + b) != []
    # A withdrawn offer ends the first van's span where the next van's begins.
    c = incident_spans(
        "C", [("Offered", at(0), {"van_id": "V3"}), ("Offered", at(5), {"van_id": "V4"})]
    )
    assert [(s.van_id, s.end) for s in c] == [("V3", at(5)), ("V4", None)]
