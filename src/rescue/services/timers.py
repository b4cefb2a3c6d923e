"""The server's background duties: offer timers, the queue, and other processes' writes."""

from __future__ import annotations

from rescue.services.aftersales import AfterSales
from rescue.services.board import LiveBoard
from rescue.services.dispatch import DispatchService
from rescue.services.periodic import PeriodicDuty
from rescue.store.leader import Leadership


class Background:
    """The offer timers, ticking every `interval_s`.

    Each tick moves expired offers on to the next van, records late arrivals,
    escalates complaints not answered in time, and offers queued incidents if
    vans are free. With a `leadership`, only the process elected among those of
    the store ticks (see `PeriodicDuty`).
    """

    def __init__(
        self,
        dispatch: DispatchService,
        aftersales: AfterSales,
        board: LiveBoard,
        *,
        interval_s: float,
        arrival_margin_min: float,
        leadership: Leadership | None = None,
    ) -> None:
        self._dispatch = dispatch
        self._aftersales = aftersales
        self._board = board
        self._arrival_margin_min = arrival_margin_min
        self._duty = PeriodicDuty("timers", self.tick, interval_s=interval_s, leadership=leadership)

    def start(self) -> None:
        self._duty.start()

    def stop(self) -> None:
        self._duty.stop()

    def tick(self) -> None:
        self._dispatch.expire_due_offers()
        self._dispatch.flag_overdue_arrivals(self._arrival_margin_min)
        self._aftersales.escalate_overdue()
        if self._board.queued() and self._board.free_vans_exist():
            self._dispatch.offer_queued()
