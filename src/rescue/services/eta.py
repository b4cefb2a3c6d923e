"""Travel times learned from the log: collecting trips, fitting, and the ETA of each recommendation.

A trip is an incident's drive as recorded: the distance its last offer
measured (from the van's fresh GPS position, else its home station), its
departure and its arrival on scene. `fit` turns every trip in the log into the
cells of a new `EtaModel.Fitted` event; dispatch then asks the newest model
for each candidate's ETA.

Every process reads the model from the store and keeps it for
`eta_refresh_s`, so a fit made by another process (or the CLI) is used by all
within that time. A store that cannot be read keeps the model last read.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import OperationalError

from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.dispatch import Candidate
from rescue.domain.eta import (
    DEFAULT_SOURCE,
    ETA_MODEL_ID,
    EtaModel,
    EtaTable,
    Trip,
    fit_cells,
    hour_band,
)
from rescue.domain.idempotency import Result
from rescue.places.provinces import province_of
from rescue.services.clock import Clock
from rescue.services.periodic import PeriodicDuty
from rescue.services.recorded import recorded_events
from rescue.services.runner import CommandRunner, Decision
from rescue.services.store import RescueStore
from rescue.settings import Settings
from rescue.store.leader import Leadership

__all__ = ["EtaService", "eta_refitter", "trips_from_log"]

log = logging.getLogger("rescue.eta")

TRIP_EVENTS = ("Incident.Reported", "Incident.Offered", "Incident.Departed", "Incident.Arrived")


def trips_from_log(store: RescueStore) -> list[Trip]:
    """Every drive from departure to arrival on scene recorded in the log, in order of arrival."""
    sites: dict[UUID, tuple[float, float]] = {}
    offered_km: dict[UUID, float | None] = {}
    departed: dict[UUID, datetime] = {}
    trips: list[Trip] = []
    for _, e in recorded_events(store, TRIP_EVENTS):
        name = type(e).__qualname__
        key = e.originator_id
        if name == "Incident.Reported":
            sites[key] = (float(e.location["lat"]), float(e.location["lon"]))
        elif name == "Incident.Offered":
            offered_km[key] = e.distance_km
            departed.pop(key, None)
        elif name == "Incident.Departed":
            departed[key] = e.timestamp
        elif name == "Incident.Arrived":
            start, km, site = departed.pop(key, None), offered_km.get(key), sites.get(key)
            if start is None or km is None or site is None:
                continue
            trips.append(
                Trip(
                    province=province_of(*site),
                    band=hour_band(start),
                    km=float(km),
                    minutes=(e.timestamp - start).total_seconds() / 60.0,
                    departed_at=start,
                )
            )
    return trips


class EtaService:
    def __init__(self, runner: CommandRunner, settings: Settings, clock: Clock) -> None:
        self.runner = runner
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._model: EtaModel | None = None
        self._read_at = -float("inf")

    # -- the model in use -------------------------------------------------------------

    def model(self) -> EtaModel | None:
        """The newest fitted model, read again from the store every `eta_refresh_s`."""
        with self._lock:
            if time.monotonic() - self._read_at < self.settings.eta_refresh_s:
                return self._model
            try:
                self._model = self.runner.store.repository.get(ETA_MODEL_ID)
            except AggregateNotFoundError:
                self._model = None
            except OperationalError:
                log.warning("could not read the ETA model; keeping the one last read")
            self._read_at = time.monotonic()
            return self._model

    def table(self) -> EtaTable:
        model = self.model()
        if model is None:
            return EtaTable((), self.settings.circuity, self.settings.speed_kmh)
        return model.table(self.settings.circuity, self.settings.speed_kmh)

    def reference(self) -> dict[str, Any]:
        """The model a dispatch decision used, as recorded in the decision."""
        model = self.model()
        if model is None or not model.cells:
            return {"source": DEFAULT_SOURCE}
        return {"source": "fitted", **model.reference()}

    def annotate(
        self, candidates: list[Candidate], lat: float, lon: float, now: datetime
    ) -> list[Candidate]:
        """The candidates with their ETA from the model, ranked by (ETA, distance, van).

        Without fitted cells the candidates come back unchanged (their ETA is the
        fixed rule's). All candidates of one site share a cell, whose ETA grows
        with distance, so the ranking by ETA is the ranking by distance.
        """
        table = self.table()
        if not len(table):
            return candidates
        province, band = province_of(lat, lon), hour_band(now)
        annotated = []
        for candidate in candidates:
            estimate = table.estimate(candidate.distance_km, province, band)
            annotated.append(
                dataclasses.replace(
                    candidate,
                    eta_min=estimate.eta_min,
                    eta_source=estimate.source,
                    eta_band=(
                        (estimate.low_min, estimate.high_min)
                        if estimate.low_min is not None and estimate.high_min is not None
                        else None
                    ),
                )
            )
        annotated.sort(key=lambda c: (c.eta_min, c.distance_km, c.van_id))
        return annotated

    # -- fitting ----------------------------------------------------------------------

    def _due(self) -> bool:
        try:
            model: EtaModel = self.runner.store.repository.get(ETA_MODEL_ID)
        except AggregateNotFoundError:
            return True
        return self.clock() - model.modified_on >= timedelta(hours=self.settings.eta_refit_h)

    def fit(
        self, actor: Actor = SYSTEM_ACTOR, *, min_trips: int | None = None, due_only: bool = False
    ) -> dict[str, Any]:
        """Fits the log's trips and records the model; with `due_only`, only if the last fit
        is older than `eta_refit_h` (several server processes then fit about once)."""
        min_trips = self.settings.eta_min_trips if min_trips is None else min_trips
        if due_only and not self._due():
            return {"fitted": False}
        trips = trips_from_log(self.runner.store)
        cells = fit_cells(trips, min_trips)
        until = max((t.departed_at for t in trips), default=None)

        def decide() -> Decision:
            try:
                model: EtaModel = self.runner.store.repository.get(ETA_MODEL_ID)
            except AggregateNotFoundError:
                model = EtaModel(actor=actor.as_dict())
            if due_only and model.version > 1:
                age = self.clock() - model.modified_on
                if age < timedelta(hours=self.settings.eta_refit_h):
                    return [], Result({"fitted": False, **model.reference()})
            model.fit(cells, len(trips), min_trips, until, actor.as_dict())
            return [model], Result({"fitted": True, **model.reference()})

        result = self.runner.run(None, decide)
        with self._lock:
            self._read_at = -float("inf")  # read the new model at the next dispatch
        return {
            **result.body,
            "min_trips": min_trips,
            "cell_list": [c.as_dict() for c in cells],
        }


def eta_refitter(
    service: EtaService, *, check_s: float = 300.0, leadership: Leadership | None = None
) -> PeriodicDuty:
    """A duty that refits the model, looking every `check_s`, when the last fit is older
    than `eta_refit_h`; with a `leadership`, in one process of the store."""
    return PeriodicDuty(
        "eta-refit",
        lambda: service.fit(due_only=True),
        interval_s=check_s,
        leadership=leadership,
    )
