"""Photos as evidence: taken by the crew, stored by hash, recorded on the incident, checked later.

An upload is checked (size, and type by content), its bytes stored under
their SHA-256 (before the event: bytes without an event are harmless, an event
without bytes is not), then recorded on the incident in one transaction,
idempotent with a key like every command. Readers other than auditors get
the photos without the position their metadata claims.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from eventsourcing.utils import get_topic

from rescue.domain.access import Principal
from rescue.domain.errors import Forbidden, Invalid, NotFound
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.incidents import Incident
from rescue.domain.photos import (
    MAX_BYTES,
    check_kind,
    find_photo,
    parts_without_photo,
    photos_of,
)
from rescue.domain.vocabulary import Role
from rescue.services.imagery import inspect, without_location
from rescue.services.runner import CommandRunner, Decision
from rescue.store.codec import state_document
from rescue.store.photos import MissingPhoto, PhotoStorage, digest

# Who sees where a photo claims it was taken.
SEES_LOCATION = frozenset({Role.AUDITOR})
PHOTO_TOPIC = get_topic(Incident.PhotoAttached)


class PhotoService:
    def __init__(self, runner: CommandRunner, storage: PhotoStorage) -> None:
        self.runner = runner
        self.storage = storage

    def attach(
        self,
        incident_id: str,
        data: bytes,
        kind: str,
        part_no: str | None,
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Records a photo of the incident taken by the crew of its van."""
        if principal.role != Role.CREW:
            raise Forbidden("photos are taken by the crew of the incident's van")
        if len(data) > MAX_BYTES:
            raise Invalid("file", f"a photo is at most {MAX_BYTES // (1024 * 1024)} MB")
        if not data:
            raise Invalid("file", "the file is empty")
        try:
            kind, part_no = check_kind(kind, part_no)
        except ValueError as error:
            raise Invalid("kind" if "kind" in str(error) else "part_no", str(error)) from None
        # Refused before anything is stored: the caller's van, and the incident's state.
        self.runner.incident(incident_id).require_van(principal.van_id)
        facts = inspect(data)
        sha256 = self.storage.put(data)
        actor = principal.actor.as_dict()
        fields = {
            "sha256": sha256,
            "bytes": len(data),
            "content_type": facts.content_type,
            "kind": kind,
            "part_no": part_no,
            "width": facts.width,
            "height": facts.height,
            "taken_at": facts.taken_at,
            "gps": facts.gps,
        }

        def decide() -> Decision:
            incident = self.runner.incident(incident_id)
            known = len(photos_of(incident))
            photo = incident.attach_photo({"photo_id": uuid.uuid4().hex, **fields}, actor)
            created = len(photos_of(incident)) > known
            body = _shown(photo, principal, incident_id)
            return ([incident] if created else []), Result(body, created)

        return self.runner.run(idempotency, decide)

    def photos(self, incident_id: str, principal: Principal) -> list[dict[str, Any]]:
        incident = self._readable(incident_id, principal)
        return [_shown(p, principal, incident_id) for p in photos_of(incident)]

    def photo_bytes(
        self, incident_id: str, photo_id: str, principal: Principal
    ) -> tuple[bytes, str]:
        """The photo's bytes and type; without location metadata unless the reader audits."""
        incident = self._readable(incident_id, principal)
        photo = find_photo(photos_of(incident), photo_id)
        try:
            data = self.storage.get(photo["sha256"])
        except MissingPhoto:
            raise NotFound(
                f"the bytes of photo {photo_id} are missing from storage (rescue audit verify)"
            ) from None
        if principal.role not in SEES_LOCATION and photo.get("gps"):
            data = without_location(data)
        return data, photo["content_type"]

    def evidence(self, incident: Incident) -> dict[str, Any]:
        """A claim's photos (with their hashes), and the replaced parts no photo shows."""
        kept = photos_of(incident)
        missing = parts_without_photo(incident.diagnosis, kept)
        return {
            "photos": [
                {k: p[k] for k in ("photo_id", "sha256", "bytes", "kind", "part_no", "at")}
                for p in kept
            ],
            "parts_without_photo": missing,
            "requests": [
                f"part {part_no} was replaced: attach a photo of it to support the claim"
                for part_no in missing
            ],
        }

    def _readable(self, incident_id: str, principal: Principal) -> Incident:
        incident = self.runner.incident(incident_id)
        if principal.role == Role.CREW:
            incident.require_van(principal.van_id)
        elif principal.role not in (Role.OPERATOR, Role.AUDITOR):
            raise Forbidden("photos are for the desk and the crew of the incident's van")
        return incident


def _shown(photo: dict[str, Any], principal: Principal, incident_id: str) -> dict[str, Any]:
    shown = {**photo, "incident_id": incident_id}
    if principal.role not in SEES_LOCATION:
        shown.pop("gps", None)
    return shown


# -- checking the stored bytes against the record ---------------------------------------------


@dataclass(frozen=True, slots=True)
class PhotoProblem:
    kind: str  # "missing" or "altered"
    notification_id: int
    incident_id: str
    photo_id: str
    sha256: str
    detail: str

    def describe(self) -> str:
        return (
            f"{self.kind}: photo {self.photo_id} of incident {self.incident_id} "
            f"(notification {self.notification_id}): {self.detail}"
        )


@dataclass(slots=True)
class PhotoCheck:
    checked: int = 0
    problems: list[PhotoProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "problems": [asdict(p) for p in self.problems],
        }


def verify_photos(recorder: Any, storage: PhotoStorage, page_size: int = 500) -> PhotoCheck:
    """Hashes the stored bytes of every photo the log records; names each photo whose
    bytes are gone or no longer hash to the SHA-256 in its (chained) event."""
    result = PhotoCheck()
    after = 0
    while True:
        page = recorder.select_notifications(
            start=after, limit=page_size, topics=(PHOTO_TOPIC,), inclusive_of_start=False
        )
        if not page:
            return result
        for notification in page:
            after = notification.id
            result.checked += 1
            state = state_document(notification.state, None)
            sha256 = str(state["sha256"])
            where = (notification.id, str(notification.originator_id), str(state["photo_id"]))
            try:
                data = storage.get(sha256)
            except MissingPhoto:
                result.problems.append(
                    PhotoProblem("missing", *where, sha256, "its bytes are not in photo storage")
                )
                continue
            if digest(data) != sha256:
                result.problems.append(
                    PhotoProblem(
                        "altered",
                        *where,
                        sha256,
                        f"its stored bytes hash to {digest(data)}, not the recorded {sha256}",
                    )
                )
