"""The composition root: every part of a running `rescue` is built here, once.

`bootstrap` opens the store and builds the live board, the log follower
that keeps it current, the command runner and the services over it; the
server, every CLI command, the simulator, the benchmarks and the tests start
from it. `start_server_parts` adds what only a server runs: the GPS writer,
the read-model runner, the board's fan-out to sockets and the timers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rescue.projections.hub import BoardHub
from rescue.projections.live import LiveView
from rescue.projections.runner import ProjectionRunner, load_models
from rescue.projections.storage import ViewStore
from rescue.services.access import AccessService
from rescue.services.aftersales import AfterSales
from rescue.services.clock import Clock, utcnow
from rescue.services.customer_records import CustomerRecords
from rescue.services.delivery import DeliveryWorkers
from rescue.services.dispatch import DispatchService
from rescue.services.eta import EtaService, eta_refitter
from rescue.services.fault_stats import FaultStats
from rescue.services.kept import KeptAggregates
from rescue.services.messages import MessageService
from rescue.services.network import NetworkService
from rescue.services.outbox import delivery_workers
from rescue.services.parts import PartsService
from rescue.services.periodic import PeriodicDuty
from rescue.services.photos import PhotoService
from rescue.services.positions import PositionWriter
from rescue.services.privacy import PrivacyService
from rescue.services.queries import IncidentQueries
from rescue.services.replenishment import PartsPlanner
from rescue.services.runner import CommandRunner
from rescue.services.steps import IncidentSteps
from rescue.services.store import RescueStore
from rescue.services.timers import Background
from rescue.services.tokens import TokenBook
from rescue.services.track_replay import TrackReplay
from rescue.services.trackers import TrackerService
from rescue.services.tracking_links import TrackingLinks
from rescue.services.tracking_status import TrackingStatus
from rescue.services.upkeep import UpkeepService
from rescue.services.webhooks import WebhookService
from rescue.settings import Settings
from rescue.store.caller_keys import CallerKeys
from rescue.store.deliveries import DeliveryStore
from rescue.store.follower import LogFollower
from rescue.store.leader import Leadership
from rescue.store.photos import DirectoryPhotos, PhotoStorage, default_photo_dir
from rescue.store.privacy import PersonalData


@dataclass(frozen=True, slots=True)
class Rescue:
    """One process's store, live board and services."""

    settings: Settings
    clock: Clock
    store: RescueStore
    view: LiveView
    follower: LogFollower
    runner: CommandRunner
    privacy: PersonalData
    queries: IncidentQueries
    dispatch: DispatchService
    network: NetworkService
    steps: IncidentSteps
    aftersales: AfterSales
    access: AccessService
    trackers: TrackerService
    etas: EtaService
    erasure: PrivacyService
    messages: MessageService
    links: TrackingLinks
    tracking_status: TrackingStatus
    trails: TrackReplay
    customers: CustomerRecords
    parts: PartsService
    planner: PartsPlanner
    fault_stats: FaultStats
    upkeep: UpkeepService
    photos: PhotoService

    def close(self) -> None:
        self.follower.stop()
        if self.privacy.keys is not None:
            self.privacy.keys.close()
        self.store.close()


def bootstrap(settings: Settings, *, clock: Clock = utcnow, follow: bool = True) -> Rescue:
    """Opens the store and builds the services; with `follow`, the live board follows the log.

    Tools that only read the log in bulk (rebuilds, audits, benchmarks of the
    store) pass `follow=False`: no board is restored and no thread started.
    """
    store = RescueStore(settings.db)
    view = LiveView()
    tokens = TokenBook()

    def handle(position: int, event: object) -> None:
        tokens.apply(position, event)
        view.apply(position, event)

    # Token events are never GPS fixes: the fixes go to the board alone. Every event's
    # originator and version go to the kept aggregates, which then know what changed.
    kept = KeptAggregates(store)
    follower = LogFollower(store, handle, view.apply_fix, observe=kept.saw)
    if follow:
        _restore_view(view, settings)
        follower.position = view.position
        tokens.load(store, view.position)
        follower.start()
        follower.catch_up()
        kept.follow()
    runner = CommandRunner(store, follower, kept)
    privacy = PersonalData(settings.resolved_key(), CallerKeys(settings.db))
    queries = IncidentQueries(runner, privacy)
    etas = EtaService(runner, settings, clock)
    links = TrackingLinks(runner, settings, clock, view)
    upkeep = UpkeepService(runner, store, settings.service_interval_km, clock)
    dispatch = DispatchService(
        runner, view, settings, privacy, clock, etas, links=links, upkeep=upkeep
    )
    aftersales = AfterSales(runner, queries, settings, clock)
    return Rescue(
        settings=settings,
        clock=clock,
        store=store,
        view=view,
        follower=follower,
        runner=runner,
        privacy=privacy,
        queries=queries,
        dispatch=dispatch,
        network=NetworkService(runner, dispatch),
        steps=IncidentSteps(runner, dispatch, aftersales),
        aftersales=aftersales,
        access=AccessService(runner, clock, tokens),
        trackers=TrackerService(runner, view),
        etas=etas,
        erasure=PrivacyService(runner, privacy),
        messages=MessageService(runner),
        links=links,
        tracking_status=TrackingStatus(runner, view, settings, clock),
        trails=TrackReplay(runner),
        customers=CustomerRecords(runner, privacy, view, clock),
        parts=PartsService(runner),
        planner=PartsPlanner(store, settings, clock),
        fault_stats=FaultStats(store),
        upkeep=upkeep,
        photos=PhotoService(runner, photo_storage(settings)),
    )


def photo_storage(settings: Settings) -> PhotoStorage:
    """Where this store's photo bytes are kept: the bucket `RESCUE_PHOTOS_S3_BUCKET` if set,
    else the directory `RESCUE_PHOTOS_DIR`, or beside the database."""
    if settings.photos_s3_bucket:
        return s3_photo_storage(settings, settings.photos_s3_bucket)
    if settings.photos_s3_url:
        raise ValueError("RESCUE_PHOTOS_S3_URL is set but RESCUE_PHOTOS_S3_BUCKET is not")
    return DirectoryPhotos(settings.photos_dir or default_photo_dir(settings.db))


def s3_photo_storage(settings: Settings, bucket: str) -> PhotoStorage:
    # Imported here: boto3 takes a while to load, and only a store with a bucket needs it.
    from rescue.store.s3_photos import S3Photos, s3_client

    key, secret = settings.photos_s3_access_key, settings.photos_s3_secret_key
    client = s3_client(
        endpoint_url=settings.photos_s3_url,
        region=settings.photos_s3_region,
        access_key=key.get_secret_value() if key is not None else None,
        secret_key=secret.get_secret_value() if secret is not None else None,
    )
    return S3Photos(client, bucket, settings.photos_s3_prefix)


def _restore_view(view: LiveView, settings: Settings) -> None:
    """Starts the live board from the stored read models, if there are any.

    Replaying a long log at every start would keep a restarted server from
    answering for many seconds; the read models already hold the same
    documents as of a recent position.
    """
    store = ViewStore(settings.db)
    try:
        models = load_models(store)
    finally:
        store.close()
    # Read models stored before the `incidents` model existed cannot seed the board.
    if models.position and (models.docs["incidents"] or not models.docs["timings"]):
        view.restore(
            models.position,
            models.docs["stations"],
            models.docs["vans"],
            models.docs["incidents"],
            models.van_ids,
        )


@dataclass(frozen=True, slots=True)
class ServerParts:
    """What a server runs beside the services; `close` stops them in order."""

    positions: PositionWriter
    projections: ProjectionRunner
    hub: BoardHub
    timers: Background
    webhooks: WebhookService
    deliveries: DeliveryWorkers
    delivery_store: DeliveryStore
    eta_refitter: PeriodicDuty | None = None

    def close(self) -> None:
        self.deliveries.stop()
        self.delivery_store.close()
        self.projections.stop()
        self.hub.close()
        self.timers.stop()
        if self.eta_refitter is not None:
            self.eta_refitter.stop()
        self.positions.close()


def timers_for(rescue: Rescue) -> Background:
    """The background duties (offer timers, the queue, escalations) over these services."""
    return Background(
        rescue.dispatch,
        rescue.aftersales,
        rescue.view,
        interval_s=rescue.settings.timer_interval_s,
        arrival_margin_min=rescue.settings.arrival_margin_min,
        leadership=Leadership(rescue.settings.db, "timers"),
    )


def start_server_parts(rescue: Rescue, loop: asyncio.AbstractEventLoop) -> ServerParts:
    """Starts the GPS writer, the read-model runner, the board hub (on `loop`) and the timers."""
    positions = PositionWriter(rescue.runner)
    hub = BoardHub(rescue.view, loop)
    projections = ProjectionRunner(rescue.store, ViewStore(rescue.settings.db))
    rescue.view.subscribe(projections.wake)
    projections.start()
    timers = timers_for(rescue)
    timers.start()
    refitter = None
    if rescue.settings.eta_refit_h > 0:
        refitter = eta_refitter(rescue.etas, leadership=Leadership(rescue.settings.db, "eta-refit"))
        refitter.start()
    delivery_store = DeliveryStore(rescue.settings.db)
    webhooks = WebhookService(
        delivery_store, rescue.store.recorder.max_notification_id, rescue.settings
    )
    deliveries = delivery_workers(
        rescue.runner,
        rescue.privacy,
        rescue.settings,
        delivery_store,
        webhooks,
        rescue.links.url_for,
    )
    rescue.view.subscribe(deliveries.wake)
    deliveries.start()
    return ServerParts(
        positions=positions,
        projections=projections,
        hub=hub,
        timers=timers,
        eta_refitter=refitter,
        webhooks=webhooks,
        deliveries=deliveries,
        delivery_store=delivery_store,
    )
