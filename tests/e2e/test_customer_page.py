"""The customer's tracking page on a phone (Chromium with a mobile viewport) against a real server:
no sign-in, Chinese by default, the van moving on the map with the ETA from its fixes, live
over server-sent events and still current when those are blocked (polling).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.e2e import pages_support
from tests.e2e.conftest import NETWORK
from tests.e2e.pages_support import PageErrors, open_page, screenshot, sign_in, wait_ready
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer

expect: Any = pytest.importorskip("playwright.sync_api").expect

HQ = NETWORK.stations[0]
TOW_VAN, REPAIR_VAN = NETWORK.vans[0].van_id, NETWORK.vans[1].van_id
WAIT_MS = 8_000
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
NAME, PHONE_NUMBER, PLATE = "周八", "13500135000", "豫C24680"

browser = pages_support.browser
page_errors = pages_support.page_errors


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    with pages_support.seeded_server(tmp_path_factory.mktemp("customer")) as served:
        yield served


def accepted_call(
    http: httpx.Client, tokens: dict[str, str], lat_offset: float, *, tow: bool = False
) -> str:
    """A call a little north of HQ, given to HQ's repair van (or its tow truck) and
    accepted; returns the customer's link."""
    body = report_body(NAME, PHONE_NUMBER)
    body["vehicle"]["plate"] = PLATE  # type: ignore[index]
    body["location"] = {"lat": HQ.lat + lat_offset, "lon": HQ.lon, "description": "路边"}
    if tow:
        body["fault"] = {"category": "engine_failure", "description": "熄火"}
    van_id = TOW_VAN if tow else REPAIR_VAN
    op, crew = bearer(tokens["op"]), bearer(tokens["crew-tow" if tow else "crew-repair"])
    incident_id = http.post("/api/incidents", json=body, headers=op).json()["incident_id"]
    choice = {"van_id": van_id, "reason": "the crew the customer asked for"}
    offered = http.post(f"/api/incidents/{incident_id}/dispatch", json=choice, headers=op).json()
    assert offered["van_id"] == van_id, offered
    accepted = http.post(f"/api/incidents/{incident_id}/accept", json={"eta_min": 30}, headers=crew)
    assert accepted.status_code == 200, accepted.text
    link = http.get(f"/api/incidents/{incident_id}/tracking", headers=op)
    assert link.status_code == 200, link.text
    url: str = link.json()["url"]
    return url


def fix(http: httpx.Client, tokens: dict[str, str], lat: float) -> None:
    report = {
        "lat": lat,
        "lon": HQ.lon,
        "recorded_at": datetime.now(UTC).isoformat(),
        "speed_kmh": 50.0,
        "heading": 0.0,
        "accuracy_m": 5.0,
    }
    answer = http.post(
        f"/api/vans/{REPAIR_VAN}/positions", json=report, headers=bearer(tokens["crew-repair"])
    )
    assert answer.status_code == 202, answer.text


def assert_nothing_personal(page: Any) -> None:
    text = page.content()
    for value in (NAME, PHONE_NUMBER, PLATE, report_body()["vehicle"]["vin"]):  # type: ignore[index]
        assert value not in text


def test_the_customer_follows_the_van_live_on_a_phone(
    server: tuple[LiveServer, dict[str, str]], browser: Any, page_errors: PageErrors
) -> None:
    live, tokens = server
    context = browser.new_context(**PHONE)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as http:
            url = accepted_call(http, tokens, 0.2)
            fix(http, tokens, HQ.lat + 0.02)
            # 1. The page opens without sign-in, in Chinese, live over server-sent events.
            page = open_page(context, url, page_errors, "customer")
            wait_ready(page)
            expect(page.locator("#feed")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
            expect(page.locator("#status-words")).to_have_text("救援车正在赶来")
            call_sign = http.get(f"/api/vans/{REPAIR_VAN}", headers=bearer(tokens["op"])).json()[
                "call_sign"
            ]
            expect(page.locator("#van-line")).to_contain_text(call_sign)
            expect(page.locator("#eta")).to_contain_text("分钟")
            expect(page.locator("#advice li").first).to_be_visible()
            van = page.locator('#map circle.van[data-van-id="van"]')
            expect(van).to_have_attribute("data-lat", str(HQ.lat + 0.02), timeout=WAIT_MS)
            first_eta = page.locator("#eta").inner_text()
            assert_nothing_personal(page)
            # 2. The van reports a fix closer to the customer: it moves and the ETA drops.
            fix(http, tokens, HQ.lat + 0.15)
            expect(van).to_have_attribute("data-lat", str(HQ.lat + 0.15), timeout=WAIT_MS)
            expect(page.locator("#eta")).not_to_have_text(first_eta, timeout=WAIT_MS)
            screenshot(page, "customer-on-the-way")
            # 3. The page fits the phone: nothing wider than the screen.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["viewport"]["width"]  # type: ignore[index]
            # 4. In English at a tap.
            page.locator("#lang").tap()
            expect(page.locator("#status-words")).to_have_text("Help is on the way")
    finally:
        context.close()


def test_the_page_polls_when_events_are_blocked(
    server: tuple[LiveServer, dict[str, str]], browser: Any
) -> None:
    live, tokens = server
    context = browser.new_context(**PHONE)
    try:
        # A proxy that drops event streams: the page must still follow the van.
        context.route("**/events", lambda route: route.abort())
        with httpx.Client(base_url=live.url, timeout=30) as http:
            url = accepted_call(http, tokens, 0.3, tow=True)
            # The blocked stream is logged by the browser itself; the page's own code must not fail.
            uncaught: list[str] = []
            page = context.new_page()
            page.on("pageerror", lambda error: uncaught.append(str(error)))
            page.goto(url)
            wait_ready(page)
            expect(page.locator("#feed")).to_have_attribute(
                "data-state", "polling", timeout=WAIT_MS * 2
            )
            expect(page.locator("#status-words")).to_have_text("救援车正在赶来", timeout=WAIT_MS)
            assert uncaught == []
    finally:
        context.close()


def test_an_unknown_code_gets_the_gone_page(
    server: tuple[LiveServer, dict[str, str]], browser: Any, page_errors: PageErrors
) -> None:
    live, _ = server
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        answer = page.goto(f"{live.url}/t/{'Z' * 32}")
        assert answer is not None and answer.status == 404
        expect(page.locator("h1")).to_have_text("此链接已失效")
    finally:
        context.close()


def test_the_operator_sees_and_resends_the_link_on_the_console(
    server: tuple[LiveServer, dict[str, str]], browser: Any, page_errors: PageErrors
) -> None:
    live, tokens = server
    context = browser.new_context(viewport={"width": 1600, "height": 950})
    try:
        with httpx.Client(base_url=live.url, timeout=30) as http:
            op = bearer(tokens["op"])
            made = http.post("/api/incidents", json=report_body(), headers=op).json()
            incident_id = made["incident_id"]
            http.post(f"/api/incidents/{incident_id}/dispatch", json={}, headers=op)
            url = http.get(f"/api/incidents/{incident_id}/tracking", headers=op).json()["url"]
            console = open_page(context, f"{live.url}/console", page_errors, "console")
            sign_in(console, tokens["op"])
            console.locator(f'#incidents tr[data-incident-id="{incident_id}"]').click()
            panel = console.locator(f'#detail .tracking-link[data-incident-id="{incident_id}"]')
            expect(panel.locator(".tracking-url")).to_have_text(url, timeout=WAIT_MS)
            panel.locator(".tracking-resend").click()
            expect(panel.locator(".tracking-sent")).to_contain_text("1", timeout=WAIT_MS)
            history = http.get(f"/api/incidents/{incident_id}/tracking", headers=op).json()
            assert history["resends"] == 1
    finally:
        context.close()


def test_the_callers_earlier_incidents_appear_as_the_operator_types(
    server: tuple[LiveServer, dict[str, str]], browser: Any, page_errors: PageErrors
) -> None:
    live, tokens = server
    phone = "13312345678"
    context = browser.new_context(viewport={"width": 1600, "height": 950})
    try:
        with httpx.Client(base_url=live.url, timeout=30) as http:
            earlier = http.post(
                "/api/incidents", json=report_body("吴九", phone), headers=bearer(tokens["op"])
            )
            assert earlier.status_code == 201, earlier.text
        console = open_page(context, f"{live.url}/console", page_errors, "console-record")
        sign_in(console, tokens["op"])
        console.fill('[name="caller.phone"]', phone)
        record = console.locator("#customer-record")
        expect(record).to_be_visible(timeout=WAIT_MS)
        expect(record.locator("li")).to_have_count(1)
        expect(record.locator(".warranty")).to_contain_text("D22")
        # A new call: the record goes with the form.
        console.locator("#intake-reset").click()
        expect(record).to_be_hidden()
        # The number went in request bodies only: no line of the server's log has it.
        assert phone not in live.log_path.read_text()
    finally:
        context.close()
