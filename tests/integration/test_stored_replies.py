"""Idempotency records written before results were domain results still answer retries.

The first version of `StoredReply.Recorded` stored the HTTP status of the
first answer; the current one stores whether the command made a new record.
Logs hold both, and a retry answered from an old record must be answered as
the first try was.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from rescue.api.schemas import ReportIncident
from rescue.bootstrap import Rescue
from rescue.domain.idempotency import IdempotencyKey, Result, StoredReply
from rescue.services.runner import stored_reply
from tests.builders import open_app, report, served


def record_as_version_1(app: Rescue, idempotency: IdempotencyKey, status_code: int) -> None:
    """Stores the idempotency record as the first version of the event wrote it."""
    current = stored_reply(idempotency, Result({"incident_id": "x"}, created=True))
    (event,) = current.collect_events()
    state: dict[str, Any] = json.loads(app.store.mapper.to_stored_event(event).state)
    assert state.pop("class_version") == 2
    del state["created"]
    state["status_code"] = status_code
    old = StoredEvent(
        originator_id=idempotency.uuid,
        originator_version=1,
        topic=get_topic(StoredReply.Recorded),
        state=json.dumps(state).encode(),
    )
    app.store.recorder.insert_events([old])


@pytest.mark.parametrize(("status_code", "created"), [(201, True), (200, False), (202, False)])
def test_a_version_1_record_reads_as_a_result(
    store_url: str, status_code: int, created: bool
) -> None:
    with open_app(store_url) as app:
        key = IdempotencyKey.for_request("op", "k-1", "POST", "/api/incidents", {"n": 1})
        record_as_version_1(app, key, status_code)
        assert app.runner.stored_result(key) == Result({"incident_id": "x"}, created)


def test_a_retry_answered_from_a_version_1_record_keeps_its_status(store_url: str) -> None:
    with served(store_url) as world:
        body = report()
        principal = world.app.access.principal_for(
            world.headers["operator"]["Authorization"].removeprefix("Bearer ")
        )
        # The fingerprint is taken over the body as the route reads it (defaults filled in).
        read = ReportIncident.model_validate(body).model_dump(mode="json")
        key = IdempotencyKey.for_request(principal.name, "old-key", "POST", "/api/incidents", read)
        record_as_version_1(world.app, key, 201)
        again = world.post(
            "/api/incidents", "operator", json=body, headers={"Idempotency-Key": "old-key"}
        )
        assert again.status_code == 201
        assert again.json() == {"incident_id": "x"}
