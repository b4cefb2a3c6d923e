"""Webhooks: other systems follow the log as CloudEvents, signed, in order, at least once.

An admin registers `{url, events}`; every event of the log whose type
matches one of the patterns (`*`, `Incident.*`, `Incident.Completed`) is
POSTed as one CloudEvents 1.0 event in structured JSON mode
(`application/cloudevents+json`) whose `id` is the event's log position, with
`X-Rescue-Signature: sha256=<hex HMAC-SHA256 of the body under the secret>`.
Delivery follows the log from the webhook's cursor (rescue.services.delivery):
in log order, retried on timeouts and non-2xx answers with backoff; a
webhook that keeps failing is marked failing and keeps its place; every
attempt is kept for `GET /api/webhooks/{id}/deliveries`. The secret is never
logged and never shown again after registration.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from eventsourcing.persistence import Mapper

from rescue.domain.errors import Invalid, NotFound
from rescue.services.delivery import DeliveryFailed, LogEntry
from rescue.services.webhook_urls import check_webhook_url
from rescue.settings import Settings
from rescue.store.codec import state_document, untag
from rescue.store.deliveries import Attempt, DeliveryStore, WebhookRow

log = logging.getLogger("rescue.webhooks")
SIGNATURE_HEADER = "X-Rescue-Signature"
CONTENT_TYPE = "application/cloudevents+json"
SOURCE = "/rescue"
# Fields of the stored state that are not the event's data: the sealed caller is
# personal data, only readable with the cipher key, and useless to a receiver.
NOT_DATA = frozenset({"sealed_caller", "timestamp", "originator_topic"})
MAX_PATTERNS = 50


def target_name(webhook_id: str) -> str:
    return f"webhook:{webhook_id}"


def matches(patterns: list[str], event_type: str) -> bool:
    """`*` is every event, `Incident.*` every event of the aggregate, else the exact type."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def check_patterns(events: list[str]) -> list[str]:
    if not events:
        raise Invalid(
            "events", "name at least one event pattern: *, Incident.* or Incident.Completed"
        )
    if len(events) > MAX_PATTERNS:
        raise Invalid("events", f"at most {MAX_PATTERNS} event patterns")
    for pattern in events:
        name = pattern[:-2] if pattern.endswith(".*") else pattern
        if pattern != "*" and not all(part.isidentifier() for part in name.split(".")):
            raise Invalid(
                "events",
                f"{pattern!r} is not an event pattern (*, Incident.* or Incident.Completed)",
            )
    return list(dict.fromkeys(events))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def cloud_event(entry: LogEntry, mapper: Mapper[Any]) -> bytes:
    """The entry as one CloudEvents 1.0 structured-mode JSON document."""
    document = state_document(entry.state, mapper)
    timestamp = untag(document.get("timestamp"))
    data = {k: untag(v) for k, v in document.items() if k not in NOT_DATA}
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(entry.position),
        "source": SOURCE,
        "type": entry.event_type,
        "subject": str(entry.originator_id),
        "datacontenttype": "application/json",
        "data": {
            "aggregate_id": str(entry.originator_id),
            "version": entry.originator_version,
            **data,
        },
    }
    if isinstance(timestamp, str):
        event["time"] = timestamp
    return orjson.dumps(event)


class WebhookTarget:
    """One webhook as a delivery target: POSTs each matching event, records every attempt."""

    def __init__(
        self, row: WebhookRow, mapper: Mapper[Any], store: DeliveryStore, timeout_s: float
    ) -> None:
        self.name = target_name(row.webhook_id)
        self.row = row
        self._mapper = mapper
        self._store = store
        self._timeout_s = timeout_s
        self._client: httpx.Client | None = None
        self._attempts: list[Attempt] = []

    def wants(self, entry: LogEntry) -> bool:
        return matches(self.row.events, entry.event_type)

    def deliver(self, entry: LogEntry, attempt: int) -> None:
        body = cloud_event(entry, self._mapper)
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout_s, follow_redirects=False)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            answer = self._client.post(
                self.row.url,
                content=body,
                headers={
                    "Content-Type": CONTENT_TYPE,
                    SIGNATURE_HEADER: sign(self.row.secret, body),
                },
            )
            status = answer.status_code
            if not answer.is_success:
                error = f"HTTP {status}"
        except httpx.HTTPError as failure:
            error = (
                f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
            )
        self._attempts.append(
            Attempt(
                target=self.name,
                position=entry.position,
                event_type=entry.event_type,
                attempt=attempt,
                at=datetime.now(UTC).isoformat(),
                outcome="failed" if error else "delivered",
                status_code=status,
                error=error,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        )
        if error:
            self.flush()  # a failure is seen at once, not when the page is done
            raise DeliveryFailed(error, status_code=status)

    def flush(self) -> None:
        attempts, self._attempts = self._attempts, []
        self._store.record_attempts(attempts)

    def health(self, failing: bool, detail: str | None) -> None:
        if failing:
            log.warning("webhook %s is failing: %s", self.row.webhook_id, detail)
        else:
            log.info("webhook %s delivers again", self.row.webhook_id)
        self._store.set_status(
            self.row.webhook_id, "failing" if failing else "active", detail if failing else None
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class WebhookService:
    """Registering, listing and removing webhooks, and reading their delivery attempts."""

    def __init__(self, store: DeliveryStore, head: Any, settings: Settings) -> None:
        self._store = store
        self._head = head  # () -> the log's last position: a new webhook starts after it
        self._settings = settings

    def register(self, url: str, events: list[str], secret: str | None) -> dict[str, Any]:
        check_webhook_url(url, self._settings.host, self._settings.port)
        patterns = check_patterns(events)
        if secret is not None and len(secret) < 16:
            raise Invalid("secret", "a webhook secret has at least 16 characters")
        row = WebhookRow(
            webhook_id=uuid.uuid4().hex,
            url=url,
            events=patterns,
            secret=secret or secrets.token_urlsafe(32),
            created_at=datetime.now(UTC).isoformat(),
            status="active",
            status_detail=None,
        )
        # The webhook receives what happens from now on, not the whole past.
        self._store.ensure_cursor(target_name(row.webhook_id), int(self._head() or 0))
        self._store.add_webhook(row)
        log.info("webhook %s registered for %s", row.webhook_id, ", ".join(patterns))
        return {**row.as_public(), "secret": row.secret}

    def registered(self) -> list[dict[str, Any]]:
        return [
            {**row.as_public(), "position": self._store.position(target_name(row.webhook_id))}
            for row in self._store.webhooks()
        ]

    def remove(self, webhook_id: str) -> None:
        if not self._store.remove_webhook(webhook_id, target_name(webhook_id)):
            raise NotFound(f"no webhook {webhook_id}")

    def deliveries(self, webhook_id: str, limit: int = 200) -> dict[str, Any]:
        row = self._store.webhook(webhook_id)
        if row is None:
            raise NotFound(f"no webhook {webhook_id}")
        return {
            "webhook": row.as_public(),
            "position": self._store.position(target_name(webhook_id)),
            "attempts": [
                {
                    "id": str(a.position),
                    "type": a.event_type,
                    "attempt": a.attempt,
                    "at": a.at,
                    "outcome": a.outcome,
                    "status_code": a.status_code,
                    "error": a.error,
                    "duration_ms": a.duration_ms,
                }
                for a in self._store.attempts(target_name(webhook_id), limit)
            ],
        }

    def targets(self, mapper: Mapper[Any]) -> list[WebhookTarget]:
        return [
            WebhookTarget(row, mapper, self._store, self._settings.webhook_timeout_s)
            for row in self._store.webhooks()
        ]
