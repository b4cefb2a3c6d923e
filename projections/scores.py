"""Per incident, the facts its scorecard figures are computed from: the `scores` read model.

One document per incident, keyed by its id, kept by the read-model runner like
the others (`projections.models`):

- `reported` (epoch seconds) and `reported_at` (ISO): the period filter uses these;
- `offers`: every offer in order, with the van and station it went to, when
  (`at`), and how it ended: `open` (still waiting), `accepted`, `declined`
  (with the crew's `reason`), `expired` (no answer in time), `withdrawn` (the
  operator offered the job to another van or queued it) or `cancelled` (the
  call was cancelled while the offer stood);
- `van_id`, `station_id`: the van that accepted the job (the one that served
  it) and its station, with `accepted_offer_at`, `accepted` and the ETA the
  crew promised on accepting (`eta_min`);
- `arrived`, `outcome` (repaired on site or towed), `completed`;
- `satisfaction` (the score the customer gave the follow-up call) and
  `complaint` (a complaint was opened for the incident), from after-sales.

A follow-up's later events name only the follow-up, not the incident: the
document keeps the follow-up's id (`_followup`), which `ReadModels.load`
turns back into the mapping, so a resumed runner writes what a rebuild writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rescue.projections.changes import Doc

OFFER_OUTCOMES = ("open", "accepted", "declined", "expired", "withdrawn", "cancelled")

# The events the model reads; every other event leaves it alone.
SCORE_EVENTS = frozenset(
    {
        "Incident.Reported",
        "Incident.Offered",
        "Incident.Queued",
        "Incident.Declined",
        "Incident.OfferExpired",
        "Incident.Accepted",
        "Incident.Arrived",
        "Incident.Resolved",
        "Incident.Completed",
        "Incident.Cancelled",
        "FollowUp.Scheduled",
        "FollowUp.Reached",
        "Complaint.Opened",
    }
)


def _end_open_offer(doc: Doc, outcome: str, reason: str | None = None) -> None:
    for offer in reversed(doc.get("offers", [])):
        if offer["outcome"] == "open":
            offer["outcome"] = outcome
            if reason is not None:
                offer["reason"] = reason
            return


def apply_score(
    name: str, event: Any, touch: Callable[[str], Doc], followups: dict[str, str]
) -> None:
    """Updates the incident's document for one event (`touch(key)` gets it, marked changed).

    `followups` maps follow-up ids (hex) to incident ids; this keeps it current.
    """
    if name == "FollowUp.Scheduled":
        followups[event.originator_id.hex] = event.incident_id
        touch(event.incident_id)["_followup"] = event.originator_id.hex
        return
    if name == "FollowUp.Reached":
        incident_id = followups.get(event.originator_id.hex)
        if incident_id is not None:
            touch(incident_id)["satisfaction"] = event.satisfaction
        return
    if name == "Complaint.Opened":
        touch(event.incident_id)["complaint"] = True
        return
    doc = touch(str(event.originator_id))
    at = event.timestamp.timestamp()
    if name == "Incident.Reported":
        doc.update(reported=at, reported_at=event.timestamp.isoformat(), offers=[])
    elif name == "Incident.Offered":
        _end_open_offer(doc, "withdrawn")
        doc.setdefault("offers", []).append(
            {
                "van_id": event.van_id,
                "station_id": event.station_id,
                "at": at,
                "outcome": "open",
            }
        )
    elif name == "Incident.Queued":
        _end_open_offer(doc, "withdrawn")
    elif name == "Incident.Declined":
        _end_open_offer(doc, "declined", event.reason)
    elif name == "Incident.OfferExpired":
        _end_open_offer(doc, "expired")
    elif name == "Incident.Cancelled":
        _end_open_offer(doc, "cancelled")
        doc["cancelled"] = at
    elif name == "Incident.Accepted":
        offers = doc.get("offers", [])
        open_offers = [o for o in offers if o["outcome"] == "open"]
        if open_offers:
            offer = open_offers[-1]
            offer["outcome"] = "accepted"
            doc.update(
                van_id=offer["van_id"],
                station_id=offer["station_id"],
                accepted_offer_at=offer["at"],
            )
        doc.update(accepted=at, eta_min=event.eta_min)
    elif name == "Incident.Arrived":
        doc.setdefault("arrived", at)
    elif name == "Incident.Resolved":
        doc["outcome"] = event.outcome
    elif name == "Incident.Completed":
        doc.setdefault("completed", at)
