"""Today's code reads the committed event log fixture: one stored event of every event class,
each as the code of its day wrote it. A new event class must be added to the fixture (the
message names the command); a changed class must still read its old rows (a class_version and
an upcaster, or a topic alias: docs/schema-evolution.md)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from rescue.domain.idempotency import StoredReply
from tests.event_fixture import COMMAND, FIXTURE, event_classes, own_fields, read_rows, store_mapper

ROWS = read_rows()
HOW = "see docs/schema-evolution.md (class_version and an upcaster, or a topic alias)"


@pytest.fixture(scope="module")
def mapper() -> Any:
    return store_mapper()


def stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=uuid.UUID(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=row["state"].encode("utf-8"),
    )


def test_the_fixture_holds_every_event_class() -> None:
    covered = {get_topic(resolve_topic(r["topic"])) for r in ROWS}
    missing = sorted(set(event_classes()) - covered)
    assert missing == [], f"{FIXTURE.name} lacks {missing}: run `{COMMAND}` and commit it"


@pytest.mark.parametrize("row", ROWS, ids=[r["topic"].rpartition(":")[2] for r in ROWS])
def test_every_stored_event_reads_with_the_fields_of_todays_class(
    row: dict[str, Any], mapper: Any
) -> None:
    try:
        cls = resolve_topic(row["topic"])
    except Exception as error:
        pytest.fail(f"topic {row['topic']} no longer resolves ({error}); {HOW}")
    event = mapper.to_domain_event(stored(row))
    assert type(event) is cls
    absent = [name for name in own_fields(cls) if name not in event.__dict__]
    assert absent == [], f"{row['topic']} as stored lacks {absent}; {HOW}"


def test_an_older_version_is_upcast_when_read(mapper: Any) -> None:
    # StoredReply.Recorded version 1 kept the HTTP status; version 2 whether a record was made.
    today = next(r for r in ROWS if r["topic"] == get_topic(StoredReply.Recorded))
    state = json.loads(today["state"])
    state.pop("class_version", None)
    del state["created"]
    state["status_code"] = 201
    older = {**today, "state": json.dumps(state)}
    event = mapper.to_domain_event(stored(older))
    assert event.created is True and "status_code" not in event.__dict__
