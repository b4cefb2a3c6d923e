"""Scorecards per station or per van over a period, from the `scores` read model.

Every figure is made of the incidents behind it: `facts` lists, for one
incident, each (station or van, figure, value) it contributes, and both the
scorecard (`scorecards`) and the list behind one figure (`behind`) are built
from those same facts, so a figure and its list always agree.

Who a figure belongs to:
- offer figures (`offers_made`, `offers_accepted`, `offers_declined` with its
  reasons, `offers_expired`, `offers_withdrawn`, `offers_cancelled`) belong to
  the van and station each offer went to;
- the incident's figures belong to the van that accepted the job and its
  station: `answer_to_dispatch_s` (call reported to first offer),
  `dispatch_to_accept_s` and `dispatch_to_arrival_s` (from the offer that van
  accepted), `arrival_within_eta` (on scene within the ETA the crew promised
  when accepting), `repaired_on_site` (of the calls resolved: fixed on the
  spot rather than towed), `satisfaction` (the follow-up call's score, 1-5) and
  `complaints`. A call never accepted counts only in the offer figures.

The period holds the calls reported in it (`start` inclusive, `end` exclusive).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

from rescue.projections.changes import Doc
from rescue.projections.stats import summary

By = Literal["station", "van"]
Fact = tuple[str, str, Any]  # (station or van id, figure, value)

OFFER_FIGURES = {
    "accepted": "offers_accepted",
    "declined": "offers_declined",
    "expired": "offers_expired",
    "withdrawn": "offers_withdrawn",
    "cancelled": "offers_cancelled",
}
DURATIONS = ("answer_to_dispatch_s", "dispatch_to_accept_s", "dispatch_to_arrival_s")
RATES = ("arrival_within_eta", "repaired_on_site")
FIGURES = (
    "incidents",
    "offers_made",
    *OFFER_FIGURES.values(),
    *DURATIONS,
    *RATES,
    "satisfaction",
    "complaints",
)


def facts(doc: Doc, by: By) -> Iterator[Fact]:
    """What one incident's document contributes to the scorecards, figure by figure."""
    field = f"{by}_id"
    for offer in doc.get("offers", []):
        key = offer.get(field)
        if key is None:
            continue
        yield key, "offers_made", offer["outcome"]
        figure = OFFER_FIGURES.get(offer["outcome"])
        if figure is not None:
            yield key, figure, offer.get("reason")
    key = doc.get(field)
    if key is None:
        return
    offers = doc.get("offers", [])
    if offers:
        yield key, "answer_to_dispatch_s", round(offers[0]["at"] - doc["reported"], 3)
    offered_at = doc.get("accepted_offer_at")
    if offered_at is not None and "accepted" in doc:
        yield key, "dispatch_to_accept_s", round(doc["accepted"] - offered_at, 3)
    if offered_at is not None and "arrived" in doc:
        yield key, "dispatch_to_arrival_s", round(doc["arrived"] - offered_at, 3)
    if "arrived" in doc and "accepted" in doc and doc.get("eta_min") is not None:
        yield key, "arrival_within_eta", doc["arrived"] - doc["accepted"] <= doc["eta_min"] * 60
    if doc.get("outcome") is not None:
        yield key, "repaired_on_site", doc["outcome"] == "repaired_on_site"
    if doc.get("satisfaction") is not None:
        yield key, "satisfaction", doc["satisfaction"]
    if doc.get("complaint"):
        yield key, "complaints", True


def in_period(doc: Doc, start: float | None, end: float | None) -> bool:
    reported = doc.get("reported")
    if reported is None:
        return False
    return (start is None or reported >= start) and (end is None or reported < end)


def scorecards(
    docs: Mapping[str, Doc],
    by: By,
    start: float | None,
    end: float | None,
    labels: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """One row per station (or van): every known one, and any other the incidents name.

    `docs` are the `scores` documents by incident id; `labels` what each row
    shows beside its figures (a station's name, a van's call sign and station).
    """
    values: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    incidents: dict[str, set[str]] = defaultdict(set)
    for incident_id, doc in docs.items():
        if not in_period(doc, start, end):
            continue
        for key, figure, value in facts(doc, by):
            values[key][figure].append(value)
            incidents[key].add(incident_id)
    rows = []
    for key in sorted(set(labels) | set(values)):
        row: dict[str, Any] = {"key": key, **labels.get(key, {})}
        row.update(_figures(values.get(key, {}), len(incidents.get(key, ()))))
        rows.append(row)
    return rows


def _figures(values: Mapping[str, list[Any]], incidents: int) -> dict[str, Any]:
    made = len(values.get("offers_made", []))
    accepted = len(values.get("offers_accepted", []))
    row: dict[str, Any] = {"incidents": incidents, "offers_made": made}
    for figure in OFFER_FIGURES.values():
        row[figure] = len(values.get(figure, []))
    row["acceptance_rate"] = round(accepted / made, 3) if made else None
    reasons = Counter(str(r) for r in values.get("offers_declined", []))
    row["declined_reasons"] = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    for figure in DURATIONS:
        row[figure] = summary(values.get(figure, []))
    for figure in RATES:
        outcomes = values.get(figure, [])
        hits = sum(1 for ok in outcomes if ok)
        row[figure] = {
            "n": len(outcomes),
            "count": hits,
            "rate": round(hits / len(outcomes), 3) if outcomes else None,
        }
    scores = values.get("satisfaction", [])
    row["satisfaction"] = {
        "n": len(scores),
        "mean": round(sum(scores) / len(scores), 2) if scores else None,
    }
    row["complaints"] = len(values.get("complaints", []))
    return row


def behind(
    docs: Mapping[str, Doc],
    by: By,
    key: str,
    figure: str,
    start: float | None,
    end: float | None,
) -> list[dict[str, Any]]:
    """The incidents behind one figure of one row, oldest first, each with its value.

    A figure that counts offers lists an incident once per offer it made there.
    """
    found = []
    for incident_id, doc in docs.items():
        if not in_period(doc, start, end):
            continue
        for fact_key, fact_figure, value in facts(doc, by):
            if fact_key != key:
                continue
            if fact_figure == figure or figure == "incidents":
                found.append(
                    {
                        "incident_id": incident_id,
                        "reported_at": doc.get("reported_at"),
                        "value": value if figure != "incidents" else None,
                    }
                )
                if figure == "incidents":
                    break
    found.sort(key=lambda item: (item["reported_at"] or "", item["incident_id"]))
    return found


def labels_of(by: By, stations: Iterable[Doc], vans: Iterable[Doc]) -> dict[str, dict[str, Any]]:
    """What a row shows beside its figures: a station's name, a van's call sign and station."""
    if by == "station":
        return {s["station_id"]: {"name": s.get("name")} for s in stations if "station_id" in s}
    return {
        v["van_id"]: {"call_sign": v.get("call_sign"), "station_id": v.get("station_id")}
        for v in vans
        if "van_id" in v
    }
