"""The server's background duties: offer timers, the queue, and other processes' writes."""

from __future__ import annotations

import logging
import threading

from rescue.services.aftersales import aftersales_for
from rescue.services.application import RescueApp

log = logging.getLogger("rescue.background")


class Background:
    """A thread that ticks every `timer_interval_s`.

    Each tick moves expired offers on to the next van, records late arrivals,
    escalates complaints not answered in time, and offers queued incidents if
    vans are free. A failing tick is
    logged and the next one tries again: timers must survive a store hiccup.
    """

    def __init__(self, app: RescueApp) -> None:
        self._app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rescue-timers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def tick(self) -> None:
        self._app.expire_due_offers()
        self._app.flag_overdue_arrivals(self._app.settings.arrival_margin_min)
        aftersales_for(self._app).escalate_overdue()
        if self._app.view.queued() and self._app.view.free_vans_exist():
            self._app.offer_queued()

    def _loop(self) -> None:
        while not self._stop.wait(self._app.settings.timer_interval_s):
            try:
                self.tick()
            except Exception:
                log.exception("background tick failed; retrying on the next tick")
