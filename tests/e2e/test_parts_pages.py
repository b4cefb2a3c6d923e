"""A van's spare parts in the browser: the crew picks a fitted part from the van's stock on the
tablet, the stock drops, and the console shows what each van carries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.e2e import pages_support
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.pages_support import PageErrors, open_page, screenshot, sign_in
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer, seed
from tests.support import free_port, sqlite_url_for

expect: Any = pytest.importorskip("playwright.sync_api").expect

REPAIR_VAN = NETWORK.vans[1].van_id
WAIT_MS = 5_000

browser = pages_support.browser
page_errors = pages_support.page_errors


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    url, key = sqlite_url_for(tmp_path / "rescue.db"), new_key()
    tokens = seed(Settings(db=url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(db=url, key=key, port=free_port(), log_path=tmp_path / "server.log")
    live.start()
    try:
        yield live, tokens
    finally:
        live.stop()


def test_the_crew_fits_a_part_from_the_van_and_the_console_sees_the_stock_drop(
    server: tuple[LiveServer, dict[str, str]], browser: Any, page_errors: PageErrors
) -> None:
    live, tokens = server
    op, crew = bearer(tokens["op"]), bearer(tokens["crew-repair"])
    with httpx.Client(base_url=live.url, timeout=30) as http:
        # 1. The station loads two batteries onto the repair van.
        loaded = http.post(
            f"/api/vans/{REPAIR_VAN}/stock",
            json={"part_no": "BAT-55", "name": "蓄电池 55Ah", "delta": 2, "reason": "出车前装车"},
            headers=bearer(tokens["adm"]),
        )
        assert loaded.status_code == 200, loaded.text
        # 2. A flat battery at HQ goes to the repair van, which drives out and arrives.
        incident_id = http.post("/api/incidents", json=report_body(), headers=op).json()[
            "incident_id"
        ]
        assert (
            http.post(f"/api/incidents/{incident_id}/dispatch", json={}, headers=op).json()[
                "van_id"
            ]
            == REPAIR_VAN
        )
        for step, body in (("accept", {"eta_min": 8}), ("depart", {}), ("arrive", {})):
            answer = http.post(f"/api/incidents/{incident_id}/{step}", json=body, headers=crew)
            assert answer.status_code == 200, answer.text
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        try:
            # 3. On the tablet the van's stock is listed; the crew picks a battery from it.
            tablet = open_page(context, f"{live.url}/tablet", page_errors, "tablet")
            sign_in(tablet, tokens["crew-repair"])
            expect(tablet.locator("#job-card")).to_have_attribute(
                "data-status", "on_scene", timeout=WAIT_MS
            )
            line = tablet.locator('#van-stock tr[data-part-no="BAT-55"]')
            expect(line).to_contain_text("2", timeout=WAIT_MS)
            line.locator("button.pick-part").click()
            row = tablet.locator("#parts tr").first
            expect(row.locator("[name=part_no]")).to_have_value("BAT-55")
            expect(row.locator("[name=from_van]")).to_be_checked()
            tablet.fill("#diagnose-form [name=cause]", "电瓶单格损坏")
            tablet.click("#do-diagnose")
            expect(tablet.locator("#diagnosed-note")).to_be_visible(timeout=WAIT_MS)
            # 4. The stock drops by one, on the tablet and on the record.
            expect(line.locator("td").nth(2)).to_have_text("1", timeout=WAIT_MS)
            screenshot(tablet, "tablet-van-stock")
            stock = http.get(f"/api/vans/{REPAIR_VAN}/stock", headers=crew).json()
            assert stock == [{"part_no": "BAT-55", "name": "蓄电池 55Ah", "qty": 1}]
            fitted = http.get(f"/api/incidents/{incident_id}", headers=op).json()
            assert fitted["diagnosis"]["parts"][0]["from_van"] is True
            offered = [
                e for e in http.get(f"/api/incidents/{incident_id}/history", headers=op).json()[
                    "events"] if e["type"] == "Offered"
            ]  # fmt: skip
            assert offered[0]["data"]["decision"]["parts"]["carrying_van_ids"] == [REPAIR_VAN]
            # 5. The operator picks the van in the console's list and sees what it carries.
            console = open_page(context, f"{live.url}/console", page_errors, "console")
            sign_in(console, tokens["op"])
            console.fill("#van-filter", REPAIR_VAN)
            console.locator(f'#van-list tr[data-van-id="{REPAIR_VAN}"]').click()
            shown = console.locator('#van-stock tr[data-part-no="BAT-55"]')
            expect(shown).to_contain_text("蓄电池 55Ah", timeout=WAIT_MS)
            expect(shown.locator("td").nth(2)).to_have_text("1")
            expect(console.locator("#vans-due")).to_have_attribute("data-loaded", "true")
            screenshot(console, "console-van-stock")
            # 6. The auditor's page shows the battery in the ABC table, the plan for HQ's
            #    station and the fault chart.
            audit = open_page(context, f"{live.url}/audit", page_errors, "audit")
            sign_in(audit, tokens["aud"])
            expect(audit.locator("#parts-plan")).to_have_attribute("data-loaded", "true")
            expect(audit.locator('#parts-abc tr[data-part-no="BAT-55"]')).to_contain_text("A")
            station = NETWORK.vans[1].station_id
            planned = audit.locator(
                f'#parts-replenishment tr[data-station-id="{station}"][data-part-no="BAT-55"]'
            )
            expect(planned).to_be_visible()
            expect(audit.locator("#fault-stats svg.fault-chart text.label")).to_have_text(["D22"])
            screenshot(audit, "audit-parts-plan")
        finally:
            context.close()
