"""The customer's tracking link: its code, its URL, and who it opens.

A code is derived, never stored: HMAC-SHA256 of the incident id and the
link's serial under the server's tracking secret, 192 bits in URL-safe
base64. The log records only the code's SHA-256 (`TrackingLink.Issued`), and
the link aggregate is named by that hash, so opening `/t/{code}` is one
lookup by id in any process, and the server can rebuild the URL for the
console or a text message whenever it needs it.

The secret is `RESCUE_TRACKING_SECRET`; without it, one is derived from the
callers' cipher key; without either, the process makes a random one, and links
it issued cannot be rebuilt after a restart or by another process (they still
open, since opening needs only the hash).

A link lives while the incident is open and for an hour after it completes
or is cancelled; after that it answers as expired (`LinkExpired`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from eventsourcing.domain import Aggregate

from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.errors import NotFound
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.ids import tracking_link_uuid
from rescue.domain.tracking import TrackingLink
from rescue.domain.vocabulary import FINAL_STATUSES, IncidentStatus
from rescue.services.clock import Clock
from rescue.services.runner import CommandRunner, Decision
from rescue.settings import Settings

log = logging.getLogger("rescue.services.tracking_links")

# How long a link still opens after its incident completes or is cancelled.
LIFETIME_AFTER_END = timedelta(hours=1)
# The serial of an incident's first link; a later one (revoking a code sent to
# the wrong number) would take the next.
FIRST_SERIAL = 1
CODE_BYTES = 24  # 192 bits of HMAC output, 32 characters of base64url
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
# Codes already looked up, so a customer's page polling its status costs no store read.
KNOWN_CODES_HELD = 10_000
OPEN_STATUSES = frozenset(
    s.value for s in IncidentStatus if s not in FINAL_STATUSES and s is not IncidentStatus.COMPLETED
)


class LinkExpired(NotFound):
    """The link opened once but its incident ended more than an hour ago (410)."""


class IncidentsBoard(Protocol):
    """The part of the live board a customer's page is drawn from."""

    incidents: dict[str, dict[str, Any]]
    vans: dict[str, dict[str, Any]]
    stations: dict[str, dict[str, Any]]
    lock: Any  # held while reading the documents


def tracking_secret(settings: Settings) -> bytes:
    configured = settings.tracking_secret
    if configured is not None:
        return bytes(configured.get_secret_value(), "utf-8")
    key = settings.resolved_key()
    if key is not None:
        # A key of its own for links, so a link's code says nothing about the cipher key.
        return hmac.new(key.encode(), b"rescue tracking links", hashlib.sha256).digest()
    log.warning(
        "no tracking secret and no cipher key: tracking links of this process "
        "cannot be rebuilt after a restart; set RESCUE_TRACKING_SECRET"
    )
    return secrets.token_bytes(32)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def public_base_url(settings: Settings) -> str:
    configured = settings.public_url
    if configured:
        return str(configured).rstrip("/")
    return f"http://{settings.host}:{settings.port}"


class TrackingLinks:
    """Issues, rebuilds and opens customers' tracking links."""

    def __init__(
        self,
        runner: CommandRunner,
        settings: Settings,
        clock: Clock,
        board: IncidentsBoard | None = None,
    ) -> None:
        self.runner = runner
        self.clock = clock
        self.board = board
        self.base_url = public_base_url(settings)
        self._secret = tracking_secret(settings)
        self._known: OrderedDict[str, str] = OrderedDict()  # code hash -> incident id
        self._ended: dict[str, datetime] = {}  # incident id -> when it completed or was cancelled
        self._lock = threading.Lock()

    # -- codes ------------------------------------------------------------------------

    def code_for(self, incident_id: str, serial: int = FIRST_SERIAL) -> str:
        message = f"{incident_id}:{serial}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()[:CODE_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue_for(self, incident_id: str, actor: Actor = SYSTEM_ACTOR) -> list[Aggregate]:
        """The link to save with an incident's offer: none if it already has one."""
        code_hash = hash_code(self.code_for(incident_id))
        if self.runner.exists(tracking_link_uuid(code_hash)):
            return []
        link = TrackingLink(
            code_hash=code_hash,
            incident_id=incident_id,
            serial=FIRST_SERIAL,
            actor=actor.as_dict(),
        )
        return [link]

    def _issued(self, incident_id: str) -> TrackingLink | None:
        code_hash = hash_code(self.code_for(incident_id))
        try:
            link: TrackingLink = self.runner.load(tracking_link_uuid(code_hash), "tracking link")
        except NotFound:
            return None
        return link

    # -- the link of an incident --------------------------------------------------------

    def url_for(self, incident_id: str) -> str | None:
        """The customer's URL for an incident, or None if it has no live link."""
        if self._issued(incident_id) is None:
            return None
        expires_at = self.expires_at(incident_id)
        if expires_at is not None and expires_at <= self.clock():
            return None
        return f"{self.base_url}/t/{self.code_for(incident_id)}"

    def link_for(self, incident_id: str) -> dict[str, Any]:
        """{url, expires_at} of an incident's link for the operator; NotFound if none was issued."""
        self.runner.incident(incident_id)  # NotFound names the incident if it does not exist
        link = self._issued(incident_id)
        if link is None:
            raise NotFound(f"incident {incident_id} has no tracking link yet (no van offered)")
        expires_at = self.expires_at(incident_id)
        return {
            "url": f"{self.base_url}/t/{self.code_for(incident_id)}",
            "expires_at": expires_at.isoformat() if expires_at is not None else None,
            "expired": expires_at is not None and expires_at <= self.clock(),
            "issued_at": link.created_on.isoformat(),
            "resends": link.resends,
        }

    def request_resend(
        self, incident_id: str, actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Result:
        """Records that the operator wants the link sent again (the outbox sends it)."""

        def decide() -> Decision:
            self.runner.incident(incident_id)
            link = self._issued(incident_id)
            if link is None:
                raise NotFound(f"incident {incident_id} has no tracking link yet (no van offered)")
            link.request_resend(actor.as_dict())
            return [link], Result({"incident_id": incident_id, "resends": link.resends})

        return self.runner.run(idempotency, decide)

    def expires_at(self, incident_id: str) -> datetime | None:
        """An hour after the incident completed or was cancelled; None while it is open."""
        ended = self._ended_at(incident_id)
        return ended + LIFETIME_AFTER_END if ended is not None else None

    def _ended_at(self, incident_id: str) -> datetime | None:
        with self._lock:
            if incident_id in self._ended:
                return self._ended[incident_id]
        doc = self._board_doc(incident_id)
        if doc is not None:
            if doc.get("completed_at"):
                return datetime.fromisoformat(doc["completed_at"])
            if doc.get("status") in OPEN_STATUSES:
                return None
        ended: datetime | None = None
        for name, at in self._steps(incident_id):
            if name in ("Completed", "Cancelled"):
                ended = at
        if ended is not None:
            with self._lock:
                self._ended[incident_id] = ended  # an ended incident stays ended
        return ended

    def _board_doc(self, incident_id: str) -> dict[str, Any] | None:
        if self.board is None:
            return None
        with self.board.lock:
            doc = self.board.incidents.get(incident_id)
            return dict(doc) if doc is not None else None

    def _steps(self, incident_id: str) -> Iterable[tuple[str, datetime]]:
        incident = self.runner.incident(incident_id)
        if incident.is_open:
            return []
        events: Iterable[Any] = self.runner.store.events.get(incident.id)
        return [(type(e).__qualname__.split(".")[-1], e.timestamp) for e in events]

    # -- opening a code ------------------------------------------------------------------

    def open(self, code: str) -> str:
        """The incident a customer's code opens; NotFound if none, LinkExpired after its hour."""
        if not CODE_PATTERN.fullmatch(code):
            raise NotFound("no such tracking link")
        code_hash = hash_code(code)
        with self._lock:
            incident_id = self._known.get(code_hash)
        if incident_id is None:
            try:
                link: TrackingLink = self.runner.load(
                    tracking_link_uuid(code_hash), "such tracking link"
                )
            except NotFound:
                raise NotFound("no such tracking link") from None
            if not hmac.compare_digest(link.code_hash, code_hash):
                raise NotFound("no such tracking link")
            incident_id = link.incident_id
            with self._lock:
                self._known[code_hash] = incident_id
                while len(self._known) > KNOWN_CODES_HELD:
                    self._known.popitem(last=False)
        expires_at = self.expires_at(incident_id)
        if expires_at is not None and expires_at <= self.clock():
            raise LinkExpired("this tracking link has expired")
        return incident_id
