"""A server's deliveries from the log: the SMS outbox (with a gateway configured) and webhooks."""

from __future__ import annotations

from rescue.services.delivery import Backoff, DeliveryWorkers, Target
from rescue.services.notifications import TARGET, LinkFor, NotificationTarget
from rescue.services.runner import CommandRunner
from rescue.services.sms import HttpSmsGateway, Templates
from rescue.services.webhooks import WebhookService
from rescue.settings import Settings
from rescue.store.deliveries import DeliveryStore
from rescue.store.privacy import PersonalData


def backoff_of(settings: Settings) -> Backoff:
    return Backoff(
        base_s=settings.delivery_backoff_s,
        max_s=settings.delivery_backoff_max_s,
        failing_after=settings.delivery_failing_after,
    )


def sms_gateway(settings: Settings) -> HttpSmsGateway | None:
    if not settings.sms_url:
        return None
    return HttpSmsGateway(
        settings.sms_url,
        username=settings.sms_username,
        password=settings.sms_password.get_secret_value() if settings.sms_password else None,
        token=settings.sms_token.get_secret_value() if settings.sms_token else None,
        timeout_s=settings.sms_timeout_s,
    )


def delivery_workers(
    runner: CommandRunner,
    privacy: PersonalData,
    settings: Settings,
    store: DeliveryStore,
    webhooks: WebhookService,
    link_for: LinkFor,
) -> DeliveryWorkers:
    """The workers over this store; not started."""
    app = runner.store
    notifications: NotificationTarget | None = None
    gateway = sms_gateway(settings)
    if gateway is not None:
        # Messages are sent for what happens from the first start with a gateway on.
        store.ensure_cursor(TARGET, app.recorder.max_notification_id() or 0)
        notifications = NotificationTarget(
            runner,
            privacy,
            gateway,
            Templates.with_overrides(settings.sms_templates),
            link_for,
            settings.followup_delay_h,
        )

    def targets() -> list[Target]:
        found: list[Target] = list(webhooks.targets(app.mapper))
        if notifications is not None:
            found.append(notifications)
        return found

    return DeliveryWorkers(
        app, store, targets, backoff_of(settings), lease_s=settings.delivery_lease_s
    )
