"""Replenishment from the log: what each station's vans used, ABC classes, forecasts and orders.

Everything here is read from the vans' stock events: a part fitted from a van
(`VanStock.Consumed`, less any `PutBack`) is demand at the van's station; the
station's stock on hand is what its vans hold now. Nothing here changes the
record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from rescue.domain.forecast import ForecastParams, fit, holdout_error
from rescue.domain.likely_parts import LikelyParts
from rescue.domain.parts import VanStock
from rescue.domain.replenishment import AbcThresholds, OrderPolicy, abc_classes, order_line
from rescue.domain.validation import CHINA_TZ
from rescue.services.clock import Clock
from rescue.services.log_reader import events_of
from rescue.services.store import RescueStore
from rescue.settings import Settings

_STOCK_EVENTS = (
    VanStock.Opened,  # type: ignore[attr-defined]
    VanStock.Restocked,  # type: ignore[attr-defined]
    VanStock.Consumed,  # type: ignore[attr-defined]
    VanStock.PutBack,  # type: ignore[attr-defined]
    VanStock.Returned,  # type: ignore[attr-defined]
    VanStock.WrittenOff,  # type: ignore[attr-defined]
)
_TOPICS = [get_topic(cls) for cls in _STOCK_EVENTS]


@dataclass(frozen=True, slots=True)
class Use:
    """Parts fitted from a van on a job (negative: put back by a corrected diagnosis)."""

    at: datetime
    station_id: str
    van_id: str
    part_no: str
    qty: int
    incident_id: str


@dataclass
class StockLedger:
    """The vans' stock events, read once: who is where, what was used, what is on hand."""

    vans: dict[UUID, tuple[str, str]]  # stock aggregate -> (van, station)
    uses: list[Use]
    on_hand: dict[tuple[str, str], int]  # (station, part) -> quantity on its vans now


class PartsPlanner:
    def __init__(self, store: RescueStore, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.table = LikelyParts.load(settings.likely_parts)

    # -- reading the log ------------------------------------------------------------------

    def _events(self) -> Iterator[Any]:
        return events_of(self.store, _TOPICS)

    def ledger(self) -> StockLedger:
        vans: dict[UUID, tuple[str, str]] = {}
        uses: list[Use] = []
        on_hand: dict[tuple[str, str], int] = defaultdict(int)
        for e in self._events():
            name = type(e).__name__
            if name == "Opened":
                vans[e.originator_id] = (e.van_id, e.station_id)
                continue
            van_id, station_id = vans[e.originator_id]
            if name in ("Consumed", "PutBack"):
                sign = 1 if name == "Consumed" else -1
                for part_no, qty in e.parts.items():
                    uses.append(
                        Use(e.timestamp, station_id, van_id, part_no, sign * qty, e.incident_id)
                    )
                    on_hand[(station_id, part_no)] -= sign * qty
            elif name == "Restocked":
                on_hand[(station_id, e.part_no)] += e.qty
            else:  # Returned, WrittenOff
                on_hand[(station_id, e.part_no)] -= e.qty
        return StockLedger(vans, uses, dict(on_hand))

    # -- answers --------------------------------------------------------------------------

    def consumption(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Parts used per part, station and van over the period."""
        totals: dict[tuple[str, str, str], int] = defaultdict(int)
        for use in _within(self.ledger().uses, start, end):
            totals[(use.part_no, use.station_id, use.van_id)] += use.qty
        return [
            {"part_no": p, "station_id": s, "van_id": v, "qty": q}
            for (p, s, v), q in sorted(totals.items())
            if q
        ]

    def abc(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """ABC classes of the parts used over the period, by consumption value."""
        used: dict[str, int] = defaultdict(int)
        for use in _within(self.ledger().uses, start, end):
            used[use.part_no] += use.qty
        thresholds = AbcThresholds(self.settings.abc_a_share, self.settings.abc_b_share)
        return [
            {**row.as_dict(), "name": self.table.names.get(row.part_no, ""),
             "unit_cost": self.table.unit_cost.get(row.part_no)}
            for row in abc_classes(used, self.table.unit_cost, thresholds)
        ]  # fmt: skip

    def replenishment(self, station_id: str | None = None) -> list[dict[str, Any]]:
        """The (T, S) plan: for each station and part, stock on hand, forecast, S and the order.

        Orders are placed by the station with its supplier outside this system, so
        nothing is on order here.
        """
        ledger = self.ledger()
        today = self.clock().astimezone(CHINA_TZ).date()
        classes = {row["part_no"]: row["class"] for row in self.abc()}
        policy = OrderPolicy(
            self.settings.review_days, self.settings.lead_time_days, self.settings.service_level
        )
        params = ForecastParams(alpha=self.settings.forecast_alpha)
        series = daily_demand(ledger.uses, today)
        keys = set(series) | {k for k, q in ledger.on_hand.items() if q > 0}
        rows = []
        for station, part_no in sorted(keys):
            if station_id is not None and station != station_id:
                continue
            first, demand = series.get((station, part_no), (today, [0.0]))
            fitted = fit(demand, first, params)
            on_hand = max(0, ledger.on_hand.get((station, part_no), 0))
            line = order_line(fitted, on_hand, 0, policy)
            check = holdout_error(demand, first, 1, params)
            rows.append(
                {
                    "station_id": station,
                    "part_no": part_no,
                    "name": self.table.names.get(part_no, ""),
                    "class": classes.get(part_no, "C"),
                    "on_hand": on_hand,
                    "on_order": 0,
                    "forecast": round(line.forecast, 2),
                    "safety_stock": round(line.safety_stock, 2),
                    "order_up_to": line.order_up_to,
                    "order_qty": line.order_qty,
                    "review_days": policy.review_days,
                    "lead_time_days": policy.lead_time_days,
                    "service_level": policy.service_level,
                    "history_days": fitted.days,
                    "holdout": check.as_dict() if check else None,
                }
            )
        return rows


def _within(uses: list[Use], start: datetime | None, end: datetime | None) -> Iterator[Use]:
    for use in uses:
        if (start is None or use.at >= start) and (end is None or use.at < end):
            yield use


def daily_demand(uses: list[Use], today: date) -> dict[tuple[str, str], tuple[date, list[float]]]:
    """(station, part) -> (first day, the quantity used each day from it up to `today`).

    Every series starts on the first day any part was used anywhere, so a part
    first used late counts the days it was not used before as zero demand.
    """
    if not uses:
        return {}
    day_of = {id(u): u.at.astimezone(CHINA_TZ).date() for u in uses}
    first = min(day_of.values())
    last = max(today, max(day_of.values()))
    length = (last - first).days + 1
    series: dict[tuple[str, str], list[float]] = {}
    for use in uses:
        days = series.setdefault((use.station_id, use.part_no), [0.0] * length)
        days[(day_of[id(use)] - first).days] += use.qty
    return {key: (first, [max(0.0, v) for v in days]) for key, days in series.items()}
