"""The parts on the vans: loading and unloading at the station, and fitting on a job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import Aggregate

from rescue.domain.actors import Actor
from rescue.domain.errors import Conflict, Invalid
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.ids import van_uuid
from rescue.domain.incidents import Incident
from rescue.domain.parts import VanStock, fitted_from_van, stock_uuid
from rescue.services.runner import CommandRunner, Decision


class PartsService:
    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    def stock(self, van_id: str) -> list[dict[str, Any]]:
        """The parts on a van now; a van never loaded carries nothing."""
        self.runner.van(van_id)  # 404 for a van that does not exist
        stock = load_stock(self.runner, van_id)
        return stock.as_list() if stock is not None else []

    def adjust(
        self,
        van_id: str,
        part_no: str,
        name: str | None,
        delta: int,
        reason: str,
        kind: str | None,
        actor: Actor,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Adds parts to a van (`delta > 0`) or takes them off (`< 0`: written off or returned)."""
        if delta == 0:
            raise Invalid("delta", "delta is the change in quantity: not zero")
        if delta > 0 and kind not in (None, "restocked"):
            raise Invalid("kind", "parts added to a van are restocked")
        if delta < 0 and kind not in (None, "written_off", "returned"):
            raise Invalid("kind", "parts taken off a van are written_off or returned")

        def decide() -> Decision:
            van = self.runner.van(van_id)
            stock = load_stock(self.runner, van_id)
            if stock is None:
                if delta < 0:
                    raise Conflict(
                        f"van {van_id} carries no parts", {"van_id": van_id, "stock": []}
                    )
                stock = VanStock(van_id=van_id, station_id=van.station_id, actor=actor.as_dict())
            if delta > 0:
                stock.restock(part_no, name, delta, reason, actor.as_dict())
            else:
                stock.take_off(part_no, -delta, kind or "written_off", reason, actor.as_dict())
            return [stock], Result({"van_id": van_id, "stock": stock.as_list()})

        return self.runner.run(idempotency, decide)

    def load_van(
        self,
        van_id: str,
        lines: list[tuple[str, str, int]],
        reason: str,
        actor: Actor,
    ) -> Result:
        """Loads several parts (part number, name, quantity) onto a van in one transaction."""

        def decide() -> Decision:
            van = self.runner.van(van_id)
            stock = load_stock(self.runner, van_id) or VanStock(
                van_id=van_id, station_id=van.station_id, actor=actor.as_dict()
            )
            for part_no, name, qty in lines:
                stock.restock(part_no, name, qty, reason, actor.as_dict())
            return [stock], Result({"van_id": van_id, "stock": stock.as_list()})

        return self.runner.run(None, decide)


def carrying(
    runner: CommandRunner, van_ids: Sequence[str], part_nos: Sequence[str]
) -> dict[str, bool]:
    """Whether each named van carries one of each part, for the vans ever loaded.

    At most one store read for all of them (rescue.services.kept): ranking asks
    this of the nearest vans at every call and every dispatch.
    """
    by_stock = {stock_uuid(van_id): van_id for van_id in van_ids}
    carries = runner.kept.read(list(by_stock), lambda stock: stock.carries(part_nos))
    return {by_stock[stock_id]: answer for stock_id, answer in carries.items()}


def load_stock(runner: CommandRunner, van_id: str) -> VanStock | None:
    if not runner.exists(stock_uuid(van_id)):
        return None
    stock: VanStock = runner.load(stock_uuid(van_id), f"stock of van {van_id}")
    return stock


def fit_from_van(
    runner: CommandRunner,
    incident: Incident,
    previous_parts: list[dict[str, Any]] | None,
    van_id: str,
    actor: dict[str, Any],
) -> list[Aggregate]:
    """Takes a diagnosis's parts marked `from_van` off the van's stock.

    A later diagnosis of the same job replaces the earlier one, so only the
    difference is taken (or put back): the stock counts each part fitted once.
    """
    before = fitted_from_van(previous_parts)
    after = fitted_from_van(incident.diagnosis["parts"] if incident.diagnosis else [])
    if before == after:
        return []
    stock = load_stock(runner, van_id)
    if stock is None:
        if not runner.exists(van_uuid(van_id)):
            return []
        raise Conflict(f"van {van_id} carries no parts", {"van_id": van_id, "stock": []})
    parts = sorted(set(before) | set(after))
    taken = {p: after.get(p, 0) - before.get(p, 0) for p in parts}
    stock.put_back(str(incident.id), {p: -q for p, q in taken.items() if q < 0}, actor)
    stock.fit(str(incident.id), {p: q for p, q in taken.items() if q > 0}, actor)
    return [stock]
