"""Stock control for spare parts: ABC classes by consumption value and the (T, S) ordering policy.

ABC: parts sorted by consumption value (quantity used x unit cost), most
valuable first; a part is class A while the share of the parts before it is
below `a_share` (about 80% of the value), B below `b_share` (the next 15%), C
after that. The most valuable part is always A.

(T, S): every T days the stock is reviewed and brought up to S, where
    S = forecast demand over T + lead time + safety stock,
    safety stock = z(service level) x sd(daily error) x sqrt(T + lead time),
and the order is S - on hand - on order (never below zero).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

from rescue.domain.forecast import Fitted


@dataclass(frozen=True, slots=True)
class AbcThresholds:
    a_share: float = 0.80
    b_share: float = 0.95

    def __post_init__(self) -> None:
        if not 0 < self.a_share <= self.b_share <= 1:
            raise ValueError("ABC thresholds need 0 < A share <= B share <= 1")


@dataclass(frozen=True, slots=True)
class AbcRow:
    part_no: str
    klass: str
    qty: int
    consumption_value: float
    share: float

    def as_dict(self) -> dict[str, object]:
        return {
            "part_no": self.part_no,
            "class": self.klass,
            "qty": self.qty,
            "consumption_value": round(self.consumption_value, 2),
            "share": round(self.share, 4),
        }


def abc_classes(
    used: Mapping[str, int], unit_cost: Mapping[str, float], thresholds: AbcThresholds
) -> list[AbcRow]:
    """ABC rows for the parts used (part number -> quantity), most valuable first.

    A part without a known cost counts 1 per piece, so it is still classed.
    """
    values = {p: q * unit_cost.get(p, 1.0) for p, q in used.items() if q > 0}
    total = sum(values.values())
    rows: list[AbcRow] = []
    before = 0.0
    for part_no, value in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])):
        share_before = before / total if total else 0.0
        if not rows or share_before < thresholds.a_share:
            klass = "A"
        elif share_before < thresholds.b_share:
            klass = "B"
        else:
            klass = "C"
        rows.append(AbcRow(part_no, klass, used[part_no], value, value / total if total else 0.0))
        before += value
    return rows


@dataclass(frozen=True, slots=True)
class OrderPolicy:
    review_days: int = 7  # T
    lead_time_days: int = 3
    service_level: float = 0.95

    def __post_init__(self) -> None:
        if self.review_days < 1 or self.lead_time_days < 0:
            raise ValueError("the review period is at least a day; the lead time not negative")
        if not 0.5 <= self.service_level < 1:
            raise ValueError("the service level is a probability in [0.5, 1)")


@dataclass(frozen=True, slots=True)
class OrderLine:
    forecast: float  # demand expected over T + lead time
    safety_stock: float
    order_up_to: int  # S
    order_qty: int


def order_line(fitted: Fitted, on_hand: int, on_order: int, policy: OrderPolicy) -> OrderLine:
    """S and the order quantity for one part at one station."""
    horizon = policy.review_days + policy.lead_time_days
    forecast = fitted.over(horizon)
    z = NormalDist().inv_cdf(policy.service_level)
    safety = z * fitted.residual_sd * math.sqrt(horizon)
    order_up_to = math.ceil(forecast + safety - 1e-9)
    return OrderLine(
        forecast=forecast,
        safety_stock=safety,
        order_up_to=order_up_to,
        order_qty=max(0, order_up_to - on_hand - on_order),
    )
