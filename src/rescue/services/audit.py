"""Proving the record was not altered: the chain check, and incident exports that check offline.

`verify` walks the stored events and the hash rows (rescue.store.chain) side by
side in notification order, recomputes every hash, and says what is wrong
with each event that does not fit, naming its notification id, originator
and version:

* ``changed``: the event's topic or state is not what was chained;
* ``removed``: the chain has a row for an event that is gone (or, when the
  hash rows went too, the chain skips from one id to a later one);
* ``inserted``: a stored event the chain never saw (no hash row);
* ``out_of_order``: an event sits at another place in the log than the one it
  was chained at (events moved or swapped);
* ``replaced``: another event than the one chained sits at this place;
* ``chain_altered``: the hash rows disagree with an anchor, or with the
  events they name.

`export_incident` writes one incident's record (the incident, its claim or
paid-service mark, follow-up and complaint) with, for every event, its
stored bytes, its notification id, the previous hash and its own hash, so
`verify_export` can check it without the database. The readable part of each
event (type, time, actor, data) is derived from the stored bytes and checked
against them too. Callers' name and phone are shown only to roles that may
see them (operator, auditor) and only when asked for; otherwise masked.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from rescue.domain.errors import Conflict
from rescue.services.aftersales import related_ids
from rescue.store.chain import GENESIS, GENESIS_HEX, ChainedEvent, HashRow, link
from rescue.store.codec import state_document, untag
from rescue.store.privacy import is_erased
from rescue.store.recorders import originator_key

if TYPE_CHECKING:
    from eventsourcing.persistence import Mapper, Notification

    from rescue.services.queries import IncidentQueries

EXPORT_FORMAT = "rescue-incident-export/1"
LINK_RULE = (
    "hash = sha256(bytes.fromhex(prev_hash) + f'{notification_id}\\n{originator_id}\\n"
    "{originator_version}\\n{topic}\\n'.encode() + base64decode(state_base64)); "
    "prev_hash of the first event of the log is 64 zeros"
)
# Roles that may read a caller's name and phone.
SEES_CALLER = frozenset({"operator", "auditor"})


class ChainReader(Protocol):
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]: ...

    def select_hashes(self, after: int, limit: int) -> list[HashRow]: ...

    def locate(self, originator_id: str, originator_version: int) -> int | None: ...

    def head(self) -> HashRow | None: ...

    def select_chained(self, originator_id: UUID) -> list[ChainedEvent]: ...


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    notification_id: int
    originator_id: str | None
    originator_version: int | None
    detail: str
    topic: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        who = (
            f"originator {self.originator_id} version {self.originator_version}"
            if self.originator_id
            else "originator unknown"
        )
        what = f" ({self.topic})" if self.topic else ""
        return f"notification {self.notification_id}, {who}{what}: {self.kind}: {self.detail}"


@dataclass
class Verification:
    checked: int = 0
    head: HashRow | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": (
                {"notification_id": self.head.notification_id, "hash": self.head.hash}
                if self.head
                else None
            ),
            "first_problem": self.problems[0].as_dict() if self.problems else None,
            "problems": [p.as_dict() for p in self.problems],
        }


def _pages(fetch: Callable[[int], Sequence[Any]], key: Callable[[Any], int]) -> Iterator[Any]:
    after = 0
    while True:
        page = fetch(after)
        yield from page
        if not page:
            return
        after = key(page[-1])


def verify(
    recorder: ChainReader,
    *,
    anchor: tuple[int, str] | None = None,
    page_size: int = 1000,
    max_problems: int = 100,
) -> Verification:
    """Recomputes the chain in notification order; lists what does not fit (first first)."""
    result = Verification()
    events = _pages(
        lambda after: recorder.select_notifications(
            start=after, limit=page_size, inclusive_of_start=False
        ),
        lambda n: int(n.id),
    )
    hashes = _pages(
        lambda after: recorder.select_hashes(after, page_size), lambda h: h.notification_id
    )
    previous, last_id = GENESIS, 0
    e, h = next(events, None), next(hashes, None)

    def report(problem: Problem) -> bool:
        result.problems.append(problem)
        return len(result.problems) >= max_problems

    while e is not None or h is not None:
        if h is None or (e is not None and e.id < h.notification_id):
            assert e is not None
            result.checked += 1
            stop = report(
                Problem(
                    "inserted",
                    e.id,
                    originator_key(e.originator_id),
                    e.originator_version,
                    "a stored event the chain never saw (no hash row): written outside the "
                    "application, or its hash row was deleted",
                    e.topic,
                )
            )
            e = next(events, None)
            if stop:
                break
            continue
        if e is None or h.notification_id < e.id:
            moved_to = recorder.locate(h.originator_id, h.originator_version)
            detail = (
                f"the event chained here is now stored at notification {moved_to}: "
                "events were moved or reordered"
                if moved_to is not None
                else "the event chained here is missing from the log: it was removed"
            )
            kind = "out_of_order" if moved_to is not None else "removed"
            stop = report(
                Problem(kind, h.notification_id, h.originator_id, h.originator_version, detail)
            )
            previous, last_id = bytes.fromhex(h.hash), h.notification_id
            result.head = h
            h = next(hashes, None)
            if stop:
                break
            continue
        # An event and its hash row.
        result.checked += 1
        originator = originator_key(e.originator_id)
        problem: Problem | None = None
        if h.prev_id != last_id:
            problem = Problem(
                "removed",
                h.prev_id if h.prev_id > last_id else e.id,
                None,
                None,
                f"the chain continues after notification {h.prev_id}, but the last chained "
                f"event before it is {last_id}: events were removed with their hash rows",
            )
        elif link(previous, e.id, originator, e.originator_version, e.topic, e.state).hex() != (
            h.hash
        ):
            problem = _mismatch(recorder, e, originator, h)
        elif (originator, e.originator_version) != (h.originator_id, h.originator_version):
            problem = Problem(
                "chain_altered",
                e.id,
                originator,
                e.originator_version,
                f"the hash row names originator {h.originator_id} version "
                f"{h.originator_version}, not this event",
                e.topic,
            )
        if anchor is not None and anchor[0] == h.notification_id and anchor[1] != h.hash:
            problem = problem or Problem(
                "chain_altered",
                e.id,
                originator,
                e.originator_version,
                f"the chain's hash here is {h.hash}, not the anchor {anchor[1]}: "
                "the chain was rewritten",
                e.topic,
            )
        previous, last_id = bytes.fromhex(h.hash), h.notification_id
        result.head = h
        e, h = next(events, None), next(hashes, None)
        if problem is not None and report(problem):
            break
    if anchor is not None and (result.head is None or result.head.notification_id < anchor[0]):
        report(
            Problem(
                "removed",
                anchor[0],
                None,
                None,
                "the anchor names a notification the chain no longer reaches: the log was cut",
            )
        )
    return result


def _mismatch(recorder: ChainReader, e: Any, originator: str, h: HashRow) -> Problem:
    if (originator, e.originator_version) == (h.originator_id, h.originator_version):
        return Problem(
            "changed",
            e.id,
            originator,
            e.originator_version,
            "its stored topic or state differs from what was chained",
            e.topic,
        )
    moved_to = recorder.locate(h.originator_id, h.originator_version)
    if moved_to is not None:
        return Problem(
            "out_of_order",
            e.id,
            originator,
            e.originator_version,
            f"this place in the log was chained for originator {h.originator_id} version "
            f"{h.originator_version}, which is now at notification {moved_to}: "
            "events were moved or swapped",
            e.topic,
        )
    return Problem(
        "replaced",
        e.id,
        originator,
        e.originator_version,
        f"this place in the log was chained for originator {h.originator_id} version "
        f"{h.originator_version}, which is gone",
        e.topic,
    )


# -- exports ----------------------------------------------------------------------------------


def mask_caller(caller: dict[str, Any]) -> dict[str, Any]:
    """A caller as a role that may not see them gets it: first character, last four digits."""
    if is_erased(caller):
        return caller
    name = str(caller.get("name", ""))
    phone = str(caller.get("phone", ""))
    return {
        "name": (name[:1] + "*" * max(len(name) - 1, 1)) if name else "",
        # Only a full-length number keeps its last four digits; a short one would leak whole.
        "phone": "*" * (len(phone) - 4) + phone[-4:] if len(phone) >= 8 else "*" * len(phone),
    }


def readable(topic: str, state: bytes, mapper: Mapper[Any] | None = None) -> dict[str, Any]:
    """The readable view of a stored event: type, time, actor, data (without sealed fields).

    `mapper` undoes a cipher or compressor over the states; without one the state
    must be plain JSON. Raises ValueError for a state that is not a JSON object.
    """
    data = untag(state_document(state, mapper))
    data.pop("originator_topic", None)
    data.pop("sealed_caller", None)
    at = data.pop("timestamp", None)
    actor = data.pop("actor", None)
    return {"type": topic.rpartition(":")[2], "at": at, "actor": actor, "data": data}


def export_incident(
    queries: IncidentQueries, incident_id: str, role: str, name: str, *, masked: bool
) -> dict[str, Any]:
    """One incident's record with the hashes that prove it, for review without the database."""
    incident = queries.incident(incident_id)
    recorder: ChainReader = queries.store.recorder  # type: ignore[assignment]
    show_caller = role in SEES_CALLER and not masked
    aggregates = {"incident": incident.id, **related_ids(incident_id)}
    chained: list[ChainedEvent] = []
    present: dict[str, str] = {}
    for kind, aggregate_id in aggregates.items():
        rows = recorder.select_chained(aggregate_id)
        if rows:
            present[kind] = str(aggregate_id)
            chained += rows
    chained.sort(key=lambda c: c.notification_id)
    unchained = [c.notification_id for c in chained if c.hash is None]
    if unchained:
        raise Conflict(f"events {unchained} are not in the hash chain: run `rescue audit verify`")
    events = []
    for c in chained:
        view = readable(c.topic, c.state, queries.store.mapper)
        if c.topic.endswith(":Incident.Reported"):
            caller = queries.privacy.open(
                state_document(c.state, queries.store.mapper)["sealed_caller"]
            )
            view["data"]["caller"] = caller if show_caller else mask_caller(caller)
        events.append(
            {
                "notification_id": c.notification_id,
                "originator_id": c.originator_id,
                "originator_version": c.originator_version,
                "topic": c.topic,
                "state_base64": base64.b64encode(c.state).decode("ascii"),
                "prev_id": c.prev_id,
                "prev_hash": c.prev_hash,
                "hash": c.hash,
                **view,
            }
        )
    head = recorder.head()
    return {
        "format": EXPORT_FORMAT,
        "incident_id": incident_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": {"role": role, "name": name},
        "personal_data": "clear" if show_caller else "masked",
        "chain": {"algorithm": "sha256", "link": LINK_RULE, "genesis": GENESIS_HEX},
        "head": {"notification_id": head.notification_id, "hash": head.hash} if head else None,
        "aggregates": present,
        "events": events,
    }


def verify_export(document: dict[str, Any]) -> list[Problem]:
    """Checks an exported incident on its own: each hash, the links, versions and readable data."""
    problems: list[Problem] = []
    if document.get("format") != EXPORT_FORMAT:
        return [Problem("unreadable", 0, None, None, f"not a {EXPORT_FORMAT} document")]
    by_id: dict[int, dict[str, Any]] = {}
    versions: dict[str, list[int]] = {}
    last = 0
    for item in document.get("events", []):
        try:
            nid = int(item["notification_id"])
            originator = str(item["originator_id"])
            version = int(item["originator_version"])
            topic = str(item["topic"])
            state = base64.b64decode(item["state_base64"], validate=True)
            prev_hash, digest = str(item["prev_hash"]), str(item["hash"])
            computed = link(bytes.fromhex(prev_hash), nid, originator, version, topic, state)
        except (KeyError, TypeError, ValueError) as error:
            problems.append(Problem("unreadable", 0, None, None, f"an event is malformed: {error}"))
            continue

        def fail(kind: str, detail: str) -> None:
            problems.append(Problem(kind, nid, originator, version, detail, topic))  # noqa: B023

        if nid <= last:
            fail("out_of_order", f"listed after notification {last}")
        last = max(last, nid)
        if computed.hex() != digest:
            fail("changed", "its stored bytes or identity do not match its hash")
        prev_id = item.get("prev_id")
        if prev_id == 0 and prev_hash != GENESIS_HEX:
            fail("chain_altered", "the first event of the log must follow the zero hash")
        if isinstance(prev_id, int) and prev_id in by_id and by_id[prev_id]["hash"] != prev_hash:
            fail("chain_altered", f"its previous hash is not the hash of notification {prev_id}")
        if not isinstance(prev_id, int) or prev_id >= nid:
            fail("chain_altered", f"its previous event {prev_id} does not come before it")
        shown = {k: item.get(k) for k in ("type", "at", "actor", "data")}
        try:
            derived = readable(topic, state)
        except ValueError:
            derived = None
        if shown["data"] is not None:
            shown["data"] = {k: v for k, v in shown["data"].items() if k != "caller"}
        if derived != shown:
            fail("changed", "its readable type, time, actor or data differ from its stored bytes")
        by_id[nid] = item
        versions.setdefault(originator, []).append(version)
    for originator, seen in versions.items():
        expected = list(range(1, len(seen) + 1))
        if sorted(seen) != expected:
            missing = sorted(set(range(1, max(seen) + 1)) - set(seen))
            problems.append(
                Problem(
                    "removed",
                    0,
                    originator,
                    missing[0] if missing else None,
                    f"versions {missing or sorted(seen)} of this aggregate are missing or repeated",
                )
            )
    if document.get("incident_id") and not any(
        item.get("originator_id") == UUID(str(document["incident_id"])).hex
        and item.get("originator_version") == 1
        for item in document.get("events", [])
    ):
        problems.append(Problem("removed", 0, None, 1, "the incident's first event is missing"))
    return problems
