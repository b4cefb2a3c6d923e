"""The server's background duties: offer timers, the queue, and other processes' writes."""

from __future__ import annotations

import logging
import threading

from rescue.services.aftersales import AfterSales
from rescue.services.board import LiveBoard
from rescue.services.dispatch import DispatchService
from rescue.store.leader import Leadership

log = logging.getLogger("rescue.background")


class Background:
    """A thread that ticks every `timer_interval_s`.

    Each tick moves expired offers on to the next van, records late arrivals,
    escalates complaints not answered in time, and offers queued incidents if
    vans are free. A failing tick is
    logged and the next one tries again: timers must survive a store hiccup.
    With a `leadership`, only the process elected among those of the store ticks.
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
        self._interval_s = interval_s
        self._arrival_margin_min = arrival_margin_min
        self._leadership = leadership
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rescue-timers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._leadership is not None:
            self._leadership.release()

    def tick(self) -> None:
        self._dispatch.expire_due_offers()
        self._dispatch.flag_overdue_arrivals(self._arrival_margin_min)
        self._aftersales.escalate_overdue()
        if self._board.queued() and self._board.free_vans_exist():
            self._dispatch.offer_queued()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            if self._leadership is not None and not self._leadership.held():
                continue
            try:
                self.tick()
            except Exception:
                log.exception("background tick failed; retrying on the next tick")
