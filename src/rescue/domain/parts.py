"""The spare parts a van carries: every load, fit, return and write-off an event.

A van's stock is its own aggregate (`VanStock`), not part of `Van`, so a
restock at the station never conflicts with an offer being made to the van.
The quantity of a part on the van is the sum of its events and never goes
below zero: taking more than the van holds is refused with the stock as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from rescue.domain.errors import Conflict
from rescue.domain.ids import NAMESPACE

# How a part leaves a van other than by being fitted.
LEAVE_KINDS = ("written_off", "returned")


def stock_uuid(van_id: str) -> UUID:
    return uuid5(NAMESPACE, f"stock:{van_id}")


class VanStock(Aggregate):
    """What one van carries: part number -> name and quantity on hand."""

    @staticmethod
    def create_id(van_id: str, **_: Any) -> UUID:
        return stock_uuid(van_id)

    @event("Opened")
    def __init__(self, van_id: str, station_id: str, actor: dict[str, Any]) -> None:
        self.van_id = van_id
        self.station_id = station_id
        self.items: dict[str, dict[str, Any]] = {}

    # -- reading ------------------------------------------------------------------

    def on_hand(self, part_no: str) -> int:
        item = self.items.get(part_no)
        return int(item["qty"]) if item else 0

    def carries(self, part_nos: Iterable[str]) -> bool:
        """Whether at least one of each named part is on the van."""
        return all(self.on_hand(p) > 0 for p in part_nos)

    def as_list(self) -> list[dict[str, Any]]:
        """Parts with a quantity on hand, by part number."""
        return [
            {"part_no": part_no, "name": item["name"], "qty": item["qty"]}
            for part_no, item in sorted(self.items.items())
            if item["qty"] > 0
        ]

    # -- commands -----------------------------------------------------------------

    def restock(
        self, part_no: str, name: str | None, qty: int, reason: str, actor: dict[str, Any]
    ) -> None:
        """Parts loaded onto the van at its station; a new part needs its name."""
        if qty <= 0:
            raise ValueError("a restock adds at least one part")
        known = self.items.get(part_no)
        if name is None and known is None:
            raise Conflict(
                f"part {part_no} is new to van {self.van_id}: give its name",
                {"van_id": self.van_id, "stock": self.as_list()},
            )
        self._restocked(
            part_no=part_no,
            name=name if name is not None else known["name"],  # type: ignore[index]
            qty=qty,
            reason=reason,
            actor=actor,
        )

    @event("Restocked")
    def _restocked(
        self, part_no: str, name: str, qty: int, reason: str, actor: dict[str, Any]
    ) -> None:
        item = self.items.setdefault(part_no, {"name": name, "qty": 0})
        item["name"] = name
        item["qty"] += qty

    def take_off(
        self, part_no: str, qty: int, kind: str, reason: str, actor: dict[str, Any]
    ) -> None:
        """Parts leave the van unused: handed back to the station or scrapped."""
        if kind not in LEAVE_KINDS:
            raise ValueError(f"unknown way to leave a van: {kind!r}")
        self._require_on_hand({part_no: qty})
        if kind == "returned":
            self._returned(part_no=part_no, qty=qty, reason=reason, actor=actor)
        else:
            self._written_off(part_no=part_no, qty=qty, reason=reason, actor=actor)

    @event("Returned")
    def _returned(self, part_no: str, qty: int, reason: str, actor: dict[str, Any]) -> None:
        self.items[part_no]["qty"] -= qty

    @event("WrittenOff")
    def _written_off(self, part_no: str, qty: int, reason: str, actor: dict[str, Any]) -> None:
        self.items[part_no]["qty"] -= qty

    def fit(self, incident_id: str, parts: dict[str, int], actor: dict[str, Any]) -> None:
        """Parts fitted on a job (part number -> quantity), all or none."""
        if not parts:
            return
        self._require_on_hand(parts)
        self._consumed(incident_id=incident_id, parts=dict(parts), actor=actor)

    @event("Consumed")
    def _consumed(self, incident_id: str, parts: dict[str, int], actor: dict[str, Any]) -> None:
        for part_no, qty in parts.items():
            self.items[part_no]["qty"] -= qty

    def put_back(self, incident_id: str, parts: dict[str, int], actor: dict[str, Any]) -> None:
        """Parts recorded as fitted on a job that a later diagnosis no longer lists."""
        if not parts:
            return
        self._put_back(incident_id=incident_id, parts=dict(parts), actor=actor)

    @event("PutBack")
    def _put_back(self, incident_id: str, parts: dict[str, int], actor: dict[str, Any]) -> None:
        for part_no, qty in parts.items():
            self.items[part_no]["qty"] += qty

    def _require_on_hand(self, parts: dict[str, int]) -> None:
        short = {p: q for p, q in parts.items() if q > self.on_hand(p)}
        if short:
            wanted = ", ".join(
                f"{q} x {p} (on the van: {self.on_hand(p)})" for p, q in short.items()
            )
            raise Conflict(
                f"van {self.van_id} does not hold {wanted}",
                {"van_id": self.van_id, "stock": self.as_list()},
            )


def fitted_from_van(parts: Iterable[dict[str, Any]] | None) -> dict[str, int]:
    """Part number -> quantity of a diagnosis's parts that were taken from the van."""
    fitted: dict[str, int] = {}
    for part in parts or ():
        if part.get("from_van"):
            fitted[part["part_no"]] = fitted.get(part["part_no"], 0) + int(part["qty"])
    return fitted
