"""Messages between the operator and a van's crew: on the record, live on both feeds, read
receipts, idempotent retries, and bad input answered 4xx, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders import OPERATOR, HttpWorld, report, reported, served


@pytest.fixture
def world(store_url: str) -> Iterator[HttpWorld]:
    with served(store_url) as world:
        yield world


def offered(world: HttpWorld) -> str:
    incident_id = reported(world.app, report())
    assert world.app.dispatch.dispatch(incident_id, OPERATOR.actor).body["van_id"] == "V1"
    return incident_id


def token(world: HttpWorld, who: str) -> str:
    return world.headers[who]["Authorization"].removeprefix("Bearer ")


def changes(feed: Any) -> Iterator[dict[str, Any]]:
    while True:
        message = feed.receive_json()
        if message["type"] == "batch":
            yield from message["changes"]
        elif message["type"] == "change":
            yield message


def test_a_conversation_about_an_incident_is_live_read_and_on_the_record(
    world: HttpWorld,
) -> None:
    incident_id = offered(world)
    path = f"/api/incidents/{incident_id}/messages"
    with (
        world.client.websocket_connect(f"/ws/board?token={token(world, 'operator')}") as board,
        world.client.websocket_connect(f"/ws/crew?token={token(world, 'crew1')}") as tablet,
    ):
        assert board.receive_json()["type"] == "snapshot"
        assert tablet.receive_json()["type"] == "snapshot"
        # 1. The operator writes; both feeds carry it as a change of the incident.
        sent = world.post(path, "operator", json={"text": "  customer moved to exit 12 "})
        assert sent.status_code == 201, sent.text
        message = sent.json()
        assert message["text"] == "customer moved to exit 12"
        assert (message["from"], message["sender"], message["read_at"]) == (
            "operator",
            "user-operator",
            None,
        )
        for feed in (board, tablet):
            change = next(c for c in changes(feed) if c["event"] == "MessageSent")
            assert (change["kind"], change["id"]) == ("incident", incident_id)
            assert change["changes"]["message"]["message_id"] == message["message_id"]
            assert change["changes"]["message"]["text"] == "customer moved to exit 12"
        # 2. The crew reads it: a receipt, live on the board; reading again is no news.
        read_path = f"{path}/{message['message_id']}/read"
        read = world.post(read_path, "crew1")
        assert read.status_code == 200, read.text
        assert read.json()["read_by"] == "user-crew1" and read.json()["read_at"]
        receipt = next(c for c in changes(board) if c["event"] == "MessageRead")
        assert receipt["changes"]["message_read"]["message_id"] == message["message_id"]
        assert world.post(read_path, "crew1").json()["read_at"] == read.json()["read_at"]
        # 3. The crew answers with a quick reply; the board hears it.
        reply = world.post(path, "crew1", json={"text": "traffic, 10 min late"})
        assert reply.status_code == 201, reply.text
        assert reply.json()["from"] == "crew" and reply.json()["van_id"] == "V1"
        heard = next(c for c in changes(board) if c["event"] == "MessageSent")
        assert heard["changes"]["message"]["text"] == "traffic, 10 min late"
    # 4. Everyone allowed sees the conversation in order, with the receipt.
    for who in ("operator", "auditor", "crew1"):
        listed = world.get(path, who)
        assert listed.status_code == 200, (who, listed.text)
        assert [m["text"] for m in listed.json()] == [
            "customer moved to exit 12",
            "traffic, 10 min late",
        ]
        assert listed.json()[0]["read_by"] == "user-crew1"
        assert listed.json()[1]["read_at"] is None
    # 5. The history and the export carry the messages and the receipt (with their hashes).
    history = world.get(f"/api/incidents/{incident_id}/history", "auditor").json()["events"]
    kinds = [e["type"] for e in history]
    assert kinds.count("MessageSent") == 2 and kinds.count("MessageRead") == 1
    first = next(e for e in history if e["type"] == "MessageSent")
    assert first["data"]["text"] == "customer moved to exit 12"
    assert first["actor"]["name"] == "user-operator"
    export = world.get(f"/api/incidents/{incident_id}/export", "auditor").json()
    exported = [
        e for e in export["events"] if e["type"] in ("Incident.MessageSent", "Incident.MessageRead")
    ]
    assert len(exported) == 3 and all(len(e["hash"]) == 64 for e in exported)


def test_who_may_write_and_read_which_conversation(world: HttpWorld) -> None:
    incident_id = offered(world)
    path = f"/api/incidents/{incident_id}/messages"
    body = {"text": "on my way"}
    assert world.post(path, "crew2", json=body).status_code == 403  # not their van's job
    assert world.post(path, "auditor", json=body).status_code == 403  # reads, never writes
    assert world.post(path, "admin", json=body).status_code == 403
    assert world.get(path, "crew2").status_code == 403
    own = world.post(path, "operator", json=body).json()
    # The sender's own message is not theirs to mark read: the other side reads it.
    answer = world.post(f"{path}/{own['message_id']}/read", "operator")
    assert answer.status_code == 409, answer.text
    assert world.post(f"{path}/{own['message_id']}/read", "crew2").status_code == 403
    assert world.post(f"{path}/{'0' * 32}/read", "crew1").status_code == 404
    # A cancelled incident takes no more messages.
    world.app.steps.take(incident_id, "cancel", {"reason": "caller fixed it"}, OPERATOR)
    assert world.post(path, "operator", json=body).status_code == 409


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 501}, "text"),
        ({"text": "bell\x07"}, "text"),
        ({"text": 42}, "text"),
        ({}, "text"),
        ({"text": "hi", "to": "everyone"}, "to"),
    ],
)
def test_bad_messages_are_refused_with_422_naming_the_field(
    world: HttpWorld, body: dict[str, Any], where: str
) -> None:
    incident_id = offered(world)
    for path in (f"/api/incidents/{incident_id}/messages", "/api/vans/V1/messages"):
        answer = world.post(path, "operator", json=body)
        assert answer.status_code == 422, answer.text
        assert any(where in e["loc"] for e in answer.json()["detail"]), answer.text
    assert world.get(f"/api/incidents/{incident_id}/messages", "operator").json() == []


def test_unknown_incident_or_van_is_404(world: HttpWorld) -> None:
    body = {"text": "hello"}
    assert world.post("/api/incidents/nope/messages", "operator", json=body).status_code == 404
    assert world.get("/api/incidents/nope/messages", "operator").status_code == 404
    assert world.post("/api/vans/V9/messages", "operator", json=body).status_code == 404


def test_a_retried_message_with_its_key_is_recorded_once(world: HttpWorld) -> None:
    incident_id = offered(world)
    path = f"/api/incidents/{incident_id}/messages"
    key = {"Idempotency-Key": "tablet-msg-1"}
    first = world.post(path, "crew1", json={"text": "need a tow"}, headers=key)
    again = world.post(path, "crew1", json={"text": "need a tow"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert len(world.get(path, "operator").json()) == 1
    # The same key for other words is a different request: refused, nothing recorded.
    other = world.post(path, "crew1", json={"text": "never mind"}, headers=key)
    assert other.status_code == 422
    assert len(world.get(path, "operator").json()) == 1


def test_a_van_conversation_reaches_its_tablet_only_and_keeps_receipts(world: HttpWorld) -> None:
    with (
        world.client.websocket_connect(f"/ws/crew?token={token(world, 'crew1')}") as tablet,
        world.client.websocket_connect(f"/ws/crew?token={token(world, 'crew2')}") as other,
    ):
        assert tablet.receive_json()["type"] == "snapshot"
        assert other.receive_json()["type"] == "snapshot"
        sent = world.post("/api/vans/V1/messages", "operator", json={"text": "refuel at base"})
        assert sent.status_code == 201, sent.text
        change = next(c for c in changes(tablet) if c["event"] == "MessageSent")
        assert (change["kind"], change["id"]) == ("van", "V1")
        assert change["changes"]["message"]["text"] == "refuel at base"
        # The other van's tablet gets nothing of it: its next frame is its own van's news.
        world.post("/api/vans/V2/messages", "operator", json={"text": "for V2"})
        theirs = next(c for c in changes(other) if c["event"] == "MessageSent")
        assert theirs["changes"]["message"]["text"] == "for V2"
    message_id = sent.json()["message_id"]
    assert world.post("/api/vans/V1/messages", "crew2", json={"text": "x"}).status_code == 403
    assert world.get("/api/vans/V1/messages", "crew2").status_code == 403
    assert world.post(f"/api/vans/V1/messages/{message_id}/read", "crew2").status_code == 403
    read = world.post(f"/api/vans/V1/messages/{message_id}/read", "crew1")
    assert read.status_code == 200 and read.json()["read_by"] == "user-crew1"
    reply = world.post("/api/vans/V1/messages", "crew1", json={"text": "done"})
    assert reply.status_code == 201
    listed = world.get("/api/vans/V1/messages", "auditor").json()
    assert [(m["from"], m["text"]) for m in listed] == [
        ("operator", "refuel at base"),
        ("crew", "done"),
    ]
    events = world.get("/api/vans/V1/history", "operator").json()
    kinds = [e["type"] for e in (events["events"] if isinstance(events, dict) else events)]
    assert kinds.count("MessageSent") == 2 and "MessageRead" in kinds
