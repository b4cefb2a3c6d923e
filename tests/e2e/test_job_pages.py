"""On the job, in a real browser against a real server: messages between the console and a
van's tablet (live both ways, read receipts, queued offline and sent once in order), photos
taken on the tablet offline and uploaded when back, and the audit page's timeline of both."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from rescue.services.imagery import sample_photo
from tests.e2e import pages_support, test_pages
from tests.e2e.conftest import NETWORK
from tests.e2e.pages_support import PageErrors, open_page, screenshot, sign_in
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer

expect: Any = pytest.importorskip("playwright.sync_api").expect

REPAIR_VAN = NETWORK.vans[1].van_id
Server = tuple[LiveServer, dict[str, str]]
WAIT_MS = 5_000

browser = pages_support.browser
page_errors = pages_support.page_errors
server = test_pages.server  # a server of this module's own, on SQLite with the demo network


def offered_to_repair_van(live: LiveServer, tokens: dict[str, str]) -> str:
    op = bearer(tokens["op"])
    reported = httpx.post(f"{live.url}/api/incidents", json=report_body(), headers=op)
    assert reported.status_code == 201, reported.text
    incident_id: str = reported.json()["incident_id"]
    dispatched = httpx.post(
        f"{live.url}/api/incidents/{incident_id}/dispatch",
        json={"van_id": REPAIR_VAN, "reason": "battery job for the repair van"},
        headers=op,
    )
    assert dispatched.status_code == 200, dispatched.text
    return incident_id


def messages(live: LiveServer, token: str, path: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{live.url}{path}", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    listed: list[dict[str, Any]] = answer.json()
    return listed


def test_messages_between_console_and_tablet_offline_and_back_and_on_the_audit_page(
    server: Server, browser: Any, page_errors: PageErrors
) -> None:
    live, tokens = server
    incident_id = offered_to_repair_van(live, tokens)
    path = f"/api/incidents/{incident_id}/messages"
    console_context = browser.new_context(viewport={"width": 1600, "height": 1100})
    tablet_context = browser.new_context(viewport={"width": 1000, "height": 1400})
    try:
        # 1. The tablet has the offer; the console opens the incident's conversation.
        tablet = open_page(tablet_context, f"{live.url}/tablet", page_errors, "tablet")
        sign_in(tablet, tokens["crew-repair"])
        expect(tablet.locator("#job-card")).to_have_attribute(
            "data-status", "offered", timeout=WAIT_MS
        )
        console = open_page(console_context, f"{live.url}/console", page_errors, "console")
        sign_in(console, tokens["op"])
        console.locator(f'#incidents tr[data-incident-id="{incident_id}"]').click()
        console_chat = console.locator(f'#detail .chat[data-path="{path}"]')
        expect(console_chat).to_be_visible(timeout=WAIT_MS)

        # 2. The operator writes; the tablet shows it at once and reads it: a receipt.
        console_chat.locator(".chat-input").fill("客户已移至12号出口")
        console_chat.locator(".chat-send").click()
        tablet_chat = tablet.locator(f'#job-chat .chat[data-path="{path}"]')
        from_desk = tablet_chat.locator('li.chat-message[data-from="operator"]')
        expect(from_desk).to_contain_text("客户已移至12号出口", timeout=WAIT_MS)
        sent = console_chat.locator('li.chat-message[data-from="operator"]')
        expect(sent).to_have_attribute("data-read", "true", timeout=WAIT_MS)
        expect(sent.locator(".chat-receipt")).to_contain_text("已读")

        # 3. Offline, the crew taps a quick reply and writes one: both wait in the outbox.
        tablet_context.set_offline(True)
        expect(tablet.locator("#net-state")).to_have_attribute("data-state", "offline")
        tablet_chat.locator('[data-quick="chat.quick.late"]').click()
        tablet_chat.locator(".chat-input").fill("电瓶型号确认中")
        tablet_chat.locator(".chat-input").press("Enter")
        pending = tablet.locator('#pending li[data-type="message"]')
        expect(pending).to_have_count(2)
        expect(tablet_chat.locator("li.chat-pending")).to_have_count(2)
        screenshot(tablet, "tablet-messages-offline")
        assert [m["from"] for m in messages(live, tokens["op"], path)] == ["operator"]

        # 4. Back online: sent once each, in order; the console hears them live.
        tablet_context.set_offline(False)
        expect(tablet.locator("#pending-count")).to_have_text("0", timeout=15_000)
        from_crew = console_chat.locator('li.chat-message[data-from="crew"]')
        expect(from_crew).to_have_count(2, timeout=WAIT_MS)
        expect(from_crew.nth(0)).to_contain_text("路况拥堵，晚到约10分钟")
        expect(from_crew.nth(1)).to_contain_text("电瓶型号确认中")
        alert = console.locator('#alerts li[data-kind="Message"]').first
        expect(alert).to_contain_text("电瓶型号确认中", timeout=WAIT_MS)
        listed = messages(live, tokens["op"], path)
        assert [(m["from"], m["text"]) for m in listed] == [
            ("operator", "客户已移至12号出口"),
            ("crew", "路况拥堵，晚到约10分钟"),
            ("crew", "电瓶型号确认中"),
        ]
        # The console has them on screen: read, and the tablet sees its receipts.
        expect(
            tablet_chat.locator('li.chat-message[data-from="crew"][data-read="true"]')
        ).to_have_count(2, timeout=WAIT_MS)
        screenshot(console, "console-messages")

        # 5. A message to the van itself, outside the job.
        console.locator(f'#van-list tr[data-van-id="{REPAIR_VAN}"]').click()
        van_chat = console.locator("#van-chat .chat")
        expect(van_chat).to_be_visible(timeout=WAIT_MS)
        van_chat.locator(".chat-input").fill("收工后回站加油")
        van_chat.locator(".chat-send").click()
        expect(tablet.locator('#van-chat li.chat-message[data-from="operator"]')).to_contain_text(
            "收工后回站加油", timeout=WAIT_MS
        )
        screenshot(tablet, "tablet-messages")
        for page in (console, tablet):
            assert page.evaluate("[...window.rescueMissingWords]") == []
    finally:
        tablet_context.close()
        console_context.close()

    # 6. The audit page's timeline shows the messages and the receipts among the steps.
    audit_context = browser.new_context(viewport={"width": 1500, "height": 1300})
    try:
        audit = open_page(
            audit_context, f"{live.url}/audit?incident={incident_id}", page_errors, "audit"
        )
        sign_in(audit, tokens["aud"])
        sent_items = audit.locator('#timeline li[data-type="MessageSent"]')
        expect(sent_items).to_have_count(3, timeout=WAIT_MS)
        expect(sent_items.nth(1)).to_contain_text("路况拥堵，晚到约10分钟")
        expect(audit.locator('#timeline li[data-type="MessageRead"]')).to_have_count(3)
        screenshot(audit, "audit-messages")
        assert audit.evaluate("[...window.rescueMissingWords]") == []
    finally:
        audit_context.close()
    # The repair van is free again for the module's other test.
    cancelled = httpx.post(
        f"{live.url}/api/incidents/{incident_id}/cancel",
        json={"reason": "customer fixed it"},
        headers=bearer(tokens["op"]),
    )
    assert cancelled.status_code == 200, cancelled.text


def test_photos_taken_offline_on_the_tablet_reach_the_record_and_the_audit_page(
    server: Server, browser: Any, page_errors: PageErrors
) -> None:
    live, tokens = server
    incident_id = offered_to_repair_van(live, tokens)
    crew = bearer(tokens["crew-repair"])
    part = {"part_no": "BAT-55", "name": "battery", "system": "other", "qty": 1, "original": True}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("accept", {"eta_min": 10}),
        ("depart", {}),
        ("arrive", {}),
        ("diagnose", {"cause": "dead cell", "parts": [part]}),
    ]
    for action, body in steps:
        answer = httpx.post(
            f"{live.url}/api/incidents/{incident_id}/{action}", json=body, headers=crew
        )
        assert answer.status_code == 200, answer.text
    before, of_part = sample_photo((200, 40, 40), lat=34.75, lon=113.65), sample_photo((9, 9, 9))
    context = browser.new_context(viewport={"width": 1000, "height": 1500})
    try:
        # 1. On scene the tablet asks for a photo of the replaced battery.
        tablet = open_page(context, f"{live.url}/tablet", page_errors, "tablet")
        sign_in(tablet, tokens["crew-repair"])
        expect(tablet.locator("#job-card")).to_have_attribute(
            "data-status", "on_scene", timeout=WAIT_MS
        )
        expect(tablet.locator("#photo-requests")).to_contain_text("BAT-55", timeout=WAIT_MS)
        assert tablet.locator("#photo-file").get_attribute("capture") == "environment"

        # 2. Offline, the crew takes two photos: both wait on the tablet.
        context.set_offline(True)
        expect(tablet.locator("#net-state")).to_have_attribute("data-state", "offline")
        tablet.select_option("#photo-kind", "before")
        tablet.set_input_files(
            "#photo-file", {"name": "a.jpg", "mimeType": "image/jpeg", "buffer": before}
        )
        tablet.select_option("#photo-kind", "part")
        tablet.fill("#photo-part", "BAT-55")
        tablet.set_input_files(
            "#photo-file", {"name": "b.jpg", "mimeType": "image/jpeg", "buffer": of_part}
        )
        expect(tablet.locator('#pending li[data-type="photo"]')).to_have_count(2)
        expect(tablet.locator("#photo-list li.photo-pending")).to_have_count(2)
        expect(tablet.locator("#photo-requests")).to_be_hidden()
        screenshot(tablet, "tablet-photos-offline")
        listed = httpx.get(f"{live.url}/api/incidents/{incident_id}/photos", headers=crew)
        assert listed.json() == []

        # 3. Back online: uploaded once each, in order, and shown with their hashes.
        context.set_offline(False)
        expect(tablet.locator("#pending-count")).to_have_text("0", timeout=15_000)
        shown = tablet.locator("#photo-list li.photo[data-photo-id]")
        expect(shown).to_have_count(2, timeout=WAIT_MS)
        thumb = shown.nth(0).locator("img.photo-thumb")
        # Decoded: the photo itself, fetched with the token and shown from its object URL.
        expect(thumb).to_have_js_property("naturalWidth", 96, timeout=WAIT_MS)
        screenshot(tablet, "tablet-photos")
    finally:
        context.close()
    listed = httpx.get(f"{live.url}/api/incidents/{incident_id}/photos", headers=crew).json()
    assert [(p["kind"], p["part_no"], p["sha256"]) for p in listed] == [
        ("before", None, hashlib.sha256(before).hexdigest()),
        ("part", "BAT-55", hashlib.sha256(of_part).hexdigest()),
    ]

    # 4. The audit page: each photo in the timeline with its hash, and on the claim.
    for action, body in (
        ("resolve", {"outcome": "repaired_on_site"}),
        ("complete", {"customer_signed": True, "satisfaction": 5}),
    ):
        answer = httpx.post(
            f"{live.url}/api/incidents/{incident_id}/{action}", json=body, headers=crew
        )
        assert answer.status_code == 200, answer.text
    audit_context = browser.new_context(viewport={"width": 1500, "height": 1600})
    try:
        audit = open_page(
            audit_context, f"{live.url}/audit?incident={incident_id}", page_errors, "audit"
        )
        sign_in(audit, tokens["aud"])
        items = audit.locator('#timeline li[data-type="PhotoAttached"]')
        expect(items).to_have_count(2, timeout=WAIT_MS)
        expect(items.nth(1)).to_contain_text(hashlib.sha256(of_part).hexdigest())
        thumb = items.nth(0).locator("img.photo-thumb")
        expect(thumb).to_have_js_property("naturalWidth", 96, timeout=WAIT_MS)
        evidence = audit.locator("#claim .evidence")
        expect(evidence).to_have_attribute("data-missing", "0", timeout=WAIT_MS)
        expect(evidence.locator("li.photo")).to_have_count(2)
        screenshot(audit, "audit-photos")
        assert audit.evaluate("[...window.rescueMissingWords]") == []
    finally:
        audit_context.close()
