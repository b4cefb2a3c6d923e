"""The event log fixture: one stored event of every event class, as the code of its day wrote it.

`python -m tests.event_fixture` adds a row for each event class the fixture
lacks, encoded by today's mapper, and keeps every row already there: those
are the record of older code, which today's code must go on reading (with
upcasters for changed fields, topic aliases for moved or renamed classes;
see docs/schema-evolution.md). `--all` writes every row again from today's
classes (only when no stored log can hold the old shapes).

The field values are placeholders chosen by each field's type; what matters
is the shape of the stored document, which is today's encoding of the class.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate, CanSnapshotAggregate, DomainEvent
from eventsourcing.utils import get_topic

import rescue.domain

FIXTURE = Path(__file__).parent / "fixtures" / "event_log.jsonl"
COMMAND = "python -m tests.event_fixture"
# Fields every stored event has; they are the envelope, not the event's own.
ENVELOPE = ("self", "originator_id", "originator_version", "timestamp")


def event_classes() -> dict[str, type[DomainEvent]]:
    """Every event class the domain records, by topic (the implicit bases left out)."""
    found: dict[str, type[DomainEvent]] = {}
    for info in pkgutil.iter_modules(rescue.domain.__path__):
        module = importlib.import_module(f"rescue.domain.{info.name}")
        for aggregate in vars(module).values():
            if not (
                inspect.isclass(aggregate)
                and issubclass(aggregate, Aggregate)
                and aggregate.__module__ == module.__name__
            ):
                continue
            nested = [
                e
                for name, e in vars(aggregate).items()
                if inspect.isclass(e)
                and issubclass(e, DomainEvent)
                and name != "Event"
                and not issubclass(e, CanSnapshotAggregate)
            ]
            named_created = [e for e in nested if e.__name__ != "Created"]
            for cls in nested:
                # The library makes a `Created` for every aggregate; it is recorded only when
                # the aggregate names no creation event of its own.
                if cls.__name__ == "Created" and any(
                    issubclass(e, Aggregate.Created) for e in named_created
                ):
                    continue
                found[get_topic(cls)] = cls
    return found


def own_fields(cls: type[DomainEvent]) -> list[str]:
    """The names today's class is constructed with, besides the envelope."""
    return [p for p in inspect.signature(cls.__init__).parameters if p not in ENVELOPE]


def _sample(cls: type[DomainEvent], name: str, annotation: str) -> Any:
    kind = annotation.replace(" ", "").split("|")[0]
    if name == "originator_topic":
        return get_topic(_aggregate_of(cls))
    for prefix, value in (
        ("dict", {"sample": "value"}),
        ("list", []),
        ("tuple", []),
        ("Sequence", []),
        ("Mapping", {}),
        ("datetime", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("date", date(2026, 1, 2)),
        ("UUID", uuid.UUID(int=1)),
        ("Decimal", Decimal("12.50")),
        ("bool", True),
        ("int", 1),
        ("float", 1.5),
        ("str", "sample"),
        ("Any", "sample"),
    ):
        if kind.startswith(prefix):
            return value
    raise TypeError(
        f"{get_topic(cls)}.{name}: no placeholder for {annotation!r}; "
        f"teach tests/event_fixture.py's _sample this type"
    )


def _aggregate_of(cls: type[DomainEvent]) -> type[Aggregate]:
    module = sys.modules[cls.__module__]
    owner: type[Aggregate] = getattr(module, cls.__qualname__.split(".")[0])
    return owner


def stored_row(mapper: Any, cls: type[DomainEvent]) -> dict[str, Any]:
    params = inspect.signature(cls.__init__).parameters
    kwargs = {name: _sample(cls, name, str(params[name].annotation)) for name in own_fields(cls)}
    event = cls(  # type: ignore[call-arg]
        originator_id=uuid.UUID(int=7),
        originator_version=1,
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        **kwargs,
    )
    stored = mapper.to_stored_event(event)
    return {
        "topic": stored.topic,
        "originator_id": str(stored.originator_id),
        "originator_version": stored.originator_version,
        # Stored states are JSON: kept as text, so a change shows in a review.
        "state": stored.state.decode("utf-8"),
    }


def read_rows(path: Path = FIXTURE) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def store_mapper() -> Any:
    """The mapper a store uses today (on a scratch SQLite file: the encoding is the same)."""
    from rescue.services.store import RescueStore

    folder = tempfile.mkdtemp(prefix="event-fixture-")
    return RescueStore(f"sqlite:///{folder}/fixture.db").mapper


def main(argv: list[str]) -> None:
    rewrite = "--all" in argv
    rows = [] if rewrite else read_rows()
    have = {r["topic"] for r in rows}
    mapper = store_mapper()
    added = [
        stored_row(mapper, cls)
        for topic, cls in sorted(event_classes().items())
        if topic not in have
    ]
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    with FIXTURE.open("w", encoding="utf-8") as file:
        for row in [*rows, *added]:
            file.write(json.dumps(row, sort_keys=True) + "\n")
    sys.stdout.write(f"{FIXTURE}: {len(rows)} rows kept, {len(added)} added\n")


if __name__ == "__main__":
    main(sys.argv[1:])
