"""Customer texts through a real server and the stand-in SMS gateway on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rescue.settings import Settings
from rescue.simulator.sms_gateway import StandInGateway
from rescue.store.privacy import new_key
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.delivery_support import QUICK, wait_until
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer, seed
from tests.support import free_port

REPAIR_VAN = NETWORK.vans[1]
LINK = re.compile(r"https?://[^\s，。]+/t/[A-Za-z0-9_-]+")
PHONE = "13912345678"
DIAGNOSIS = {
    "cause": "battery cell failure",
    "parts": [
        {"part_no": "BAT-55", "name": "battery", "system": "other", "qty": 1, "original": True}
    ],
    "findings": [],
}


@pytest.fixture
def texting_server(
    store_url: str, tmp_path: Path
) -> Iterator[tuple[LiveServer, dict[str, str], StandInGateway]]:
    key = new_key()
    tokens = seed(Settings(db=store_url, cipher_key=key), NETWORK, USERS)
    gateway = StandInGateway().start()
    live = LiveServer(db=store_url, key=key, port=free_port(), log_path=tmp_path / "server.log")
    live.start(**QUICK, sms_url=gateway.send_url)
    try:
        yield live, tokens, gateway
    finally:
        live.stop()
        gateway.stop()


def control(gateway: StandInGateway, what: str, body: dict[str, Any] | None = None) -> None:
    assert httpx.post(f"{gateway.url}/control/{what}", json=body or {}).status_code == 200


def templates_sent(gateway: StandInGateway) -> list[str]:
    """Each message's template, from its key (`<event's aggregate>:<version>:<template>`)."""
    return [m["key"].rsplit(":", 1)[1] for m in gateway.messages()]


def test_texts_follow_the_job_and_survive_a_gateway_outage(
    texting_server: tuple[LiveServer, dict[str, str], StandInGateway],
) -> None:
    live, tokens, gateway = texting_server
    op, aud, crew = bearer(tokens["op"]), bearer(tokens["aud"]), bearer(tokens["crew-repair"])
    with httpx.Client(base_url=live.url, timeout=30) as http:
        reported = http.post("/api/incidents", json=report_body(phone=PHONE), headers=op)
        assert reported.status_code == 201, reported.text
        url = f"/api/incidents/{reported.json()['incident_id']}"
        notifications = f"{url}/notifications"

        def step(action: str, data: dict[str, Any] | None, who: dict[str, str]) -> None:
            answer = http.post(f"{url}/{action}", json=data, headers=who)
            assert answer.status_code == 200, (action, answer.text)

        # 1. The van accepts: help is on the way, to the caller's phone, naming the van.
        step("dispatch", {}, op)
        assert gateway.messages() == []  # an offer is not yet help on the way
        step("accept", {"eta_min": 9}, crew)
        wait_until("help is on the way", lambda: templates_sent(gateway) == ["help_on_the_way"])
        first = gateway.messages()[0]
        assert first["to"] == PHONE
        assert REPAIR_VAN.call_sign in first["text"] and "9 分钟" in first["text"]
        # The text carries the customer's live tracking link, which opens their page.
        link = LINK.search(first["text"])
        assert link is not None, first["text"]
        assert link.group(0) == http.get(f"{url}/tracking", headers=op).json()["url"]
        assert httpx.get(link.group(0), timeout=30).status_code == 200
        assert httpx.get(f"{link.group(0)}/status", timeout=30).status_code == 200

        # 2. The gateway goes down: the arrival text waits, its failed attempts recorded.
        control(gateway, "fail", {"status": 503})
        step("depart", None, crew)
        step("arrive", None, crew)

        def arrival_failed() -> bool:
            found = http.get(notifications, headers=op).json()
            return any(
                n["template"] == "van_arrived" and n["status"] == "pending" and n["attempts"] >= 2
                for n in found
            )

        wait_until("the arrival text fails while the gateway is down", arrival_failed)
        for action, data in (
            ("diagnose", DIAGNOSIS),
            ("resolve", {"outcome": "repaired_on_site"}),
            ("complete", {"customer_signed": True, "satisfaction": 5}),
        ):
            step(action, data, crew)
        assert templates_sent(gateway) == ["help_on_the_way"]

        # 3. It comes back: what waited goes out once each, in order.
        control(gateway, "recover")
        wait_until(
            "the waiting texts go out",
            lambda: templates_sent(gateway) == ["help_on_the_way", "van_arrived", "job_completed"],
        )
        assert "24 小时" in gateway.messages()[2]["text"]  # the follow-up promise

        # 4. A follow-up call that does not reach the customer: a reminder of the next one.
        called = http.post(
            f"{url}/followup/calls", json={"reached": False, "comments": "no answer"}, headers=op
        )
        assert called.status_code == 200, called.text
        wait_until("the follow-up reminder", lambda: len(gateway.messages()) == 4)
        assert templates_sent(gateway)[3] == "followup_reminder"

        # 5. The operator has the link sent again: one more text, with the same link.
        resent = http.post(f"{url}/tracking/resend", headers=op)
        assert resent.status_code in (200, 201, 202), resent.text
        wait_until("the link is sent again", lambda: len(gateway.messages()) == 5)
        assert templates_sent(gateway)[4] == "tracking_link"
        assert link.group(0) in gateway.messages()[4]["text"]

        # 6. The record: every message sent, with its attempts; auditors read it, crews do not.
        listed = http.get(notifications, headers=aud)
        assert listed.status_code == 200
        shown = {n["template"]: n for n in listed.json()}
        assert set(shown) == {
            "help_on_the_way",
            "van_arrived",
            "job_completed",
            "followup_reminder",
            "tracking_link",
        }
        assert all(n["status"] == "sent" and n["channel"] == "sms" for n in shown.values())
        assert shown["help_on_the_way"]["attempts"] == 1
        assert shown["van_arrived"]["attempts"] >= 3  # failed twice or more, then sent
        assert PHONE not in listed.text
        assert http.get(notifications, headers=crew).status_code == 403
        assert http.get("/api/incidents/nope/notifications", headers=op).status_code == 404
    keys = [m["key"] for m in gateway.messages()]
    assert len(keys) == len(set(keys))  # once each
    assert PHONE not in live.log_path.read_text()


def test_a_text_sent_but_not_recorded_before_kill_9_is_sent_again(
    texting_server: tuple[LiveServer, dict[str, str], StandInGateway],
) -> None:
    live, tokens, gateway = texting_server
    op, crew = bearer(tokens["op"]), bearer(tokens["crew-repair"])
    with httpx.Client(base_url=live.url, timeout=30) as http:
        reported = http.post("/api/incidents", json=report_body(phone=PHONE), headers=op)
        url = f"/api/incidents/{reported.json()['incident_id']}"
        assert http.post(f"{url}/dispatch", json={}, headers=op).status_code == 200
        # The gateway takes the text but holds its answer: the server has sent it and not
        # yet recorded that it did when it is killed.
        control(gateway, "hold")
        assert http.post(f"{url}/accept", json={"eta_min": 5}, headers=crew).status_code == 200
        wait_until("the gateway has the text", lambda: len(gateway.messages()) == 1)
    live.kill()
    control(gateway, "release")
    live.start(**QUICK, sms_url=gateway.send_url)
    with httpx.Client(base_url=live.url, timeout=30) as http:

        def sent() -> list[dict[str, Any]]:
            found = http.get(f"{url}/notifications", headers=op).json()
            return [n for n in found if n["status"] == "sent"]

        recorded = wait_until("the text is recorded as sent after the restart", sent)
        assert http.post(f"{url}/depart", headers=crew).status_code == 200
        assert http.post(f"{url}/arrive", headers=crew).status_code == 200
        wait_until("the arrival text", lambda: len(gateway.messages()) == 3)
    # At least once: the unrecorded text went again, with the same key; nothing else twice.
    keys = [m["key"] for m in gateway.messages()]
    assert keys[0] == keys[1] and keys[0].endswith(":help_on_the_way")
    assert keys[2].endswith(":van_arrived")
    assert [n["template"] for n in recorded] == ["help_on_the_way"]
