"""Scorecard figures from hand-made `scores` documents: who each figure belongs to, the period,
late arrivals, and that the incidents behind every figure account for it exactly."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rescue.projections.scorecards import FIGURES, behind, facts, scorecards

T0 = 1_700_000_000.0


def served(
    *,
    reported: float = T0,
    offers: list[dict[str, Any]],
    eta_min: float = 20,
    on_scene_after_s: float = 600,
    outcome: str = "repaired_on_site",
    satisfaction: int | None = None,
    complaint: bool = False,
) -> dict[str, Any]:
    """A call whose last offer was accepted 30 s after it was made."""
    last = offers[-1]
    accepted = last["at"] + 30
    return {
        "reported": reported,
        "reported_at": f"t{reported}",
        "offers": offers,
        "van_id": last["van_id"],
        "station_id": last["station_id"],
        "accepted_offer_at": last["at"],
        "accepted": accepted,
        "eta_min": eta_min,
        "arrived": accepted + on_scene_after_s,
        "outcome": outcome,
        **({"satisfaction": satisfaction} if satisfaction is not None else {}),
        **({"complaint": True} if complaint else {}),
    }


def offer(van: str, at: float, outcome: str, reason: str | None = None) -> dict[str, Any]:
    station = {"V1": "S1", "V2": "S1", "V3": "S2"}[van]
    made = {"van_id": van, "station_id": station, "at": at, "outcome": outcome}
    return {**made, "reason": reason} if reason else made


DOCS = {
    "a": served(
        offers=[offer("V1", T0 + 40, "declined", "flat tyre"), offer("V3", T0 + 100, "accepted")],
        on_scene_after_s=25 * 60,  # five minutes later than the 20 promised
        satisfaction=2,
        complaint=True,
    ),
    "b": served(offers=[offer("V1", T0 + 3600 + 20, "accepted")], reported=T0 + 3600),
    "c": {
        "reported": T0 + 7200,
        "reported_at": "t3",
        "offers": [offer("V2", T0 + 7210, "expired"), offer("V1", T0 + 7300, "cancelled")],
        "cancelled": T0 + 7400,
    },
}


def test_offers_go_to_the_van_offered_and_the_call_to_the_van_that_served_it() -> None:
    rows = {r["key"]: r for r in scorecards(DOCS, "van", None, None, {"V9": {"call_sign": "x"}})}
    # 1. Every known van has a row, even without calls.
    assert rows["V9"]["offers_made"] == 0 and rows["V9"]["incidents"] == 0
    v1, v3 = rows["V1"], rows["V3"]
    assert (v1["offers_made"], v1["offers_declined"], v1["offers_accepted"]) == (3, 1, 1)
    assert v1["offers_cancelled"] == 1 and v1["declined_reasons"] == {"flat tyre": 1}
    assert rows["V2"]["offers_expired"] == 1 and rows["V2"]["acceptance_rate"] == 0.0
    # 2. V3 served call a: reported to first offer (40 s), accepted after 30 s, late.
    assert v3["answer_to_dispatch_s"] == {"n": 1, "median": 40.0, "p90": 40.0}
    assert v3["dispatch_to_accept_s"]["median"] == 30.0
    assert v3["dispatch_to_arrival_s"]["median"] == 30.0 + 25 * 60
    assert v3["arrival_within_eta"] == {"n": 1, "count": 0, "rate": 0.0}
    assert v3["satisfaction"] == {"n": 1, "mean": 2.0} and v3["complaints"] == 1
    assert v1["arrival_within_eta"] == {"n": 1, "count": 1, "rate": 1.0}
    # 3. Per station, V1 and V2's offers are S1's.
    stations = {r["key"]: r for r in scorecards(DOCS, "station", None, None, {})}
    assert stations["S1"]["offers_made"] == 4 and stations["S2"]["offers_made"] == 1


def test_the_period_holds_the_calls_reported_in_it() -> None:
    rows = {r["key"]: r for r in scorecards(DOCS, "van", T0 + 3600, T0 + 7200, {})}
    assert rows["V1"]["offers_made"] == 1  # only call b; c starts at the end, excluded
    assert set(rows) == {"V1"}


offer_st = st.builds(
    offer,
    st.sampled_from(["V1", "V2", "V3"]),
    st.floats(T0, T0 + 1e5),
    st.sampled_from(["open", "declined", "expired", "withdrawn", "cancelled"]),
    st.sampled_from([None, "busy", "no parts"]),
)
call_st = st.one_of(
    st.builds(
        lambda offers, last, reported, late, sat, complaint: served(
            offers=[*offers, {**last, "outcome": "accepted"}],
            reported=reported,
            on_scene_after_s=late,
            satisfaction=sat,
            complaint=complaint,
        ),
        st.lists(offer_st, max_size=3),
        offer_st,
        st.floats(T0 - 1e4, T0),
        st.floats(0, 7200),
        st.one_of(st.none(), st.integers(1, 5)),
        st.booleans(),
    ),
    st.builds(
        lambda offers, reported: {"reported": reported, "reported_at": "t", "offers": offers},
        st.lists(offer_st, max_size=3),
        st.floats(T0 - 1e4, T0),
    ),
)


@given(
    st.dictionaries(st.text(min_size=1, max_size=4), call_st, max_size=8),
    st.sampled_from(["van", "station"]),
)
def test_the_incidents_behind_each_figure_account_for_it(docs: dict[str, Any], by: Any) -> None:
    for row in scorecards(docs, by, None, None, {}):
        for figure in FIGURES:
            listed = behind(docs, by, row["key"], figure, None, None)
            value = row[figure]
            if isinstance(value, int):
                assert len(listed) == value, (figure, row)
            else:
                assert len(listed) == value["n"], (figure, row)
            assert all(i["incident_id"] in docs for i in listed)


@given(st.dictionaries(st.text(min_size=1, max_size=4), call_st, max_size=8))
def test_every_offer_is_counted_once_per_van_and_per_station(docs: dict[str, Any]) -> None:
    offers = sum(len(d["offers"]) for d in docs.values())
    for by in ("van", "station"):
        rows = scorecards(docs, by, None, None, {})  # type: ignore[arg-type]
        assert sum(r["offers_made"] for r in rows) == offers
        ended = sum(
            r[f] for r in rows for f in FIGURES if f.startswith("offers_") and f != "offers_made"
        )
        still_open = sum(o["outcome"] == "open" for d in docs.values() for o in d["offers"])
        assert ended + still_open == offers
    assert all(key for d in docs.values() for key, _, _ in facts(d, "van"))
