"""Scorecards and trails in a real browser: the audit page's sortable scorecards with the
incidents behind a figure, an incident's trail on the audit map, and a van's trail on the
console's map, over a recorded hour of calls and GPS fixes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import eventsourcing.domain
import httpx
import pytest

from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.actors import Actor
from rescue.domain.ids import track_uuid
from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.builders import OPERATOR, crew, report, reported
from tests.e2e import pages_support
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.pages_support import PageErrors, open_page, screenshot, sign_in
from tests.live import LiveServer, bearer, seed
from tests.support import free_port, sqlite_url_for

expect: Any = pytest.importorskip("playwright.sync_api").expect

HQ = NETWORK.stations[0]
WAIT_MS = 10_000
DESK = Actor(role="operator", name="desk")

browser = pages_support.browser
page_errors = pages_support.page_errors


@dataclass
class Hour:
    """What the recorded hour holds: the two calls and the vans that worked them."""

    repaired: str
    declined: str
    repair_van: str
    declining_van: str
    towing_van: str


class Moment:
    """The time the events of the recorded hour are stamped with, moved by the seeding."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def record_hour(app: Rescue, clock: Moment) -> Hour:
    """An hour that ended twenty minutes ago, in the order it happened.

    A battery call at HQ is repaired by the van offered it, which drives 15 minutes,
    stands 10 minutes and drives on, reporting every 30 s; an accident call is
    declined by the first van offered it and towed by the next, late on its ETA,
    and its customer gives the follow-up call 2 of 5.
    """
    start = clock.now
    steps: list[tuple[float, Callable[[], None]]] = []
    hour: dict[str, str] = {}

    def at(minute: float) -> Callable[[Callable[[], None]], None]:
        def add(step: Callable[[], None]) -> None:
            steps.append((minute, step))

        return add

    @at(0)
    def repaired_reported() -> None:
        hour["repaired"] = reported(app, report(HQ.lat, HQ.lon, "battery", n=501))
        reply = app.dispatch.dispatch(hour["repaired"], OPERATOR.actor)
        hour["repair_van"] = reply.body["van_id"]

    @at(0.5)
    def repaired_accepted() -> None:
        van = crew(hour["repair_van"])
        app.steps.take(hour["repaired"], "accept", {"eta_min": 45}, van)
        app.steps.take(hour["repaired"], "depart", {}, van)

    for k in range(2, 80):
        minute = k / 2
        moving = minute < 15 or minute >= 25
        north = min(minute, 15) * 0.004 + max(0.0, minute - 25) * 0.004

        @at(minute)
        def fix(minute: float = minute, north: float = north, moving: bool = moving) -> None:
            track: Any = app.store.repository.get(track_uuid(hour["repair_van"]))
            recorded = start + timedelta(minutes=minute)
            track.report(HQ.lat + north, HQ.lon, recorded, speed_kmh=48.0 if moving else 0.0)
            app.store.append([track])

    @at(5)
    def declined_reported() -> None:
        hour["declined"] = reported(app, report(HQ.lat + 0.02, HQ.lon, "accident", n=502))
        reply = app.dispatch.dispatch(hour["declined"], OPERATOR.actor)
        hour["declining_van"] = reply.body["van_id"]

    @at(5.5)
    def declined() -> None:
        app.steps.take(
            hour["declined"], "decline", {"reason": "no tow hook"}, crew(hour["declining_van"])
        )
        hour["towing_van"] = app.queries.incident(hour["declined"]).van_id or ""

    @at(6)
    def towing_accepted() -> None:
        van = crew(hour["towing_van"])
        app.steps.take(hour["declined"], "accept", {"eta_min": 10}, van)
        app.steps.take(hour["declined"], "depart", {}, van)

    @at(30)
    def towing_done() -> None:
        van = crew(hour["towing_van"])
        app.steps.take(hour["declined"], "arrive", {}, van)
        app.steps.take(
            hour["declined"], "resolve", {"outcome": "towed", "tow_station_id": HQ.station_id}, van
        )
        app.steps.take(hour["declined"], "complete", {"customer_signed": True}, van)

    @at(39.75)
    def repaired_done() -> None:
        van = crew(hour["repair_van"])
        app.steps.take(hour["repaired"], "arrive", {}, van)
        app.steps.take(hour["repaired"], "resolve", {"outcome": "repaired_on_site"}, van)
        app.steps.take(
            hour["repaired"], "complete", {"customer_signed": True, "satisfaction": 5}, van
        )

    @at(40)
    def follow_ups() -> None:
        app.aftersales.record_call(hour["declined"], {"reached": True, "satisfaction": 2}, DESK)
        app.aftersales.record_call(hour["repaired"], {"reached": True, "satisfaction": 5}, DESK)

    for minute, step in sorted(steps, key=lambda s: s[0]):
        clock.now = start + timedelta(minutes=minute, seconds=1)
        step()
    return Hour(**hour)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, str], Hour]]:
    where: Path = tmp_path_factory.mktemp("scorecards")
    url, key = sqlite_url_for(where / "rescue.db"), new_key()
    settings = Settings(db=url, cipher_key=key)
    tokens = seed(settings, NETWORK, USERS)
    clock = Moment(datetime.now(UTC) - timedelta(hours=1))
    with pytest.MonkeyPatch.context() as patch:
        # Every event of the seeding is stamped with the recorded hour's time.
        patch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", clock)
        app = bootstrap(settings)
        try:
            hour = record_hour(app, clock)
        finally:
            app.close()
    live = LiveServer(db=url, key=key, port=free_port(), log_path=where / "server.log")
    live.start()
    try:
        yield live, tokens, hour
    finally:
        live.stop()


def scorecards_ready(live: LiveServer, token: str, hour: Hour) -> None:
    """Waits until the server's read models hold the recorded hour (they follow the log)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = httpx.get(
            f"{live.url}/api/scorecards", params={"by": "van"}, headers=bearer(token)
        )
        if answer.status_code == 200:
            rows = {r["key"]: r for r in answer.json()["rows"]}
            if rows.get(hour.repair_van, {}).get("satisfaction", {}).get("n") == 1:
                return
        time.sleep(0.2)
    raise AssertionError("the read models did not catch up with the recorded hour")


def test_scorecards_on_the_audit_page_lead_to_the_incidents_and_their_trail(
    server: tuple[LiveServer, dict[str, str], Hour], browser: Any, page_errors: PageErrors
) -> None:
    live, tokens, hour = server
    scorecards_ready(live, tokens["aud"], hour)
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    try:
        # 1. The auditor signs in: the scorecards per station are there.
        page = open_page(context, f"{live.url}/audit", page_errors, "audit")
        sign_in(page, tokens["aud"])
        panel = page.locator("#scorecards")
        expect(panel).to_have_attribute("data-state", "shown", timeout=WAIT_MS)
        expect(panel.locator(f'tbody tr[data-key="{HQ.station_id}"]')).to_be_visible()
        # Stations without a call are listed only when asked for.
        active = panel.locator("tbody tr").count()
        assert 1 <= active <= 3, active
        panel.locator("input[name=all]").check()
        expect(panel.locator("tbody tr")).to_have_count(len(NETWORK.stations))
        panel.locator("input[name=all]").uncheck()
        expect(panel.locator("tbody tr")).to_have_count(active)
        # 2. Per van, sorted by offers declined, most first: the declining van leads.
        panel.locator("select[name=by]").select_option("van")
        expect(panel).to_have_attribute("data-by", "van", timeout=WAIT_MS)
        header = panel.locator('th[data-col="offers_declined"] button')
        header.click()  # a figure sorts most first on its first click
        expect(panel.locator('th[data-col="offers_declined"]')).to_have_attribute(
            "data-sort", "desc"
        )
        first = panel.locator("tbody tr").first
        expect(first).to_have_attribute("data-key", hour.declining_van)
        expect(first.locator('td[data-figure="offers_declined"] button')).to_have_text("1")
        towing = panel.locator(f'tbody tr[data-key="{hour.towing_van}"]')
        expect(towing.locator('td[data-figure="arrival_within_eta"] button')).to_have_text(
            "0% (0/1)"
        )
        expect(towing.locator('td[data-figure="satisfaction"] button')).to_contain_text("2.0")
        expect(towing.locator('td[data-figure="complaints"] button')).to_have_text("1")
        expect(towing.locator('td[data-figure="dispatch_to_arrival_s"] svg.spark')).to_have_count(1)
        screenshot(page, "audit-scorecards-by-van")
        # 3. A click on the declined figure lists the call behind it, with the reason.
        first.locator('td[data-figure="offers_declined"] button').click()
        behind = panel.locator(".scorecard-behind")
        expect(behind).to_have_attribute("data-state", "shown", timeout=WAIT_MS)
        expect(behind.locator("tbody tr")).to_have_count(1)
        expect(behind.locator(f'tr[data-incident-id="{hour.declined}"]')).to_contain_text(
            "no tow hook"
        )
        # 4. The repair van's accepted offer leads to its call; opening it draws the van's
        #    trail from acceptance to completion, with the stop it made.
        repair = panel.locator(f'tbody tr[data-key="{hour.repair_van}"]')
        repair.locator('td[data-figure="offers_accepted"] button').click()
        expect(behind).to_have_attribute("data-figure", "offers_accepted")
        expect(behind.locator(f'tr[data-incident-id="{hour.repaired}"]')).to_be_visible()
        behind.locator(f'tr[data-incident-id="{hour.repaired}"] button').click()
        expect(page.locator("#incident")).to_have_attribute("data-incident-id", hour.repaired)
        summary = page.locator("#trail-summary")
        expect(summary).to_have_attribute("data-van-id", hour.repair_van, timeout=WAIT_MS)
        fixes = int(summary.get_attribute("data-fixes") or 0)
        assert 70 <= fixes <= 78, fixes
        expect(page.locator("#audit-map path.trail-line")).to_have_count(1)
        expect(page.locator("#audit-map circle.trail-stop")).to_have_count(1)
        expect(page.locator("#audit-map circle.trail-fix.speed-stand")).not_to_have_count(0)
        page.locator("#incident").scroll_into_view_if_needed()
        screenshot(page, "audit-incident-trail")
        # 5. In English the scorecards keep their figures.
        page.locator("[data-lang-switch]").click()
        expect(panel.locator("h2")).to_have_text("Scorecards")
        assert page.evaluate("[...window.rescueMissingWords]") == []
    finally:
        context.close()


def test_a_vans_trail_on_the_console_map(
    server: tuple[LiveServer, dict[str, str], Hour], browser: Any, page_errors: PageErrors
) -> None:
    live, tokens, hour = server
    context = browser.new_context(viewport={"width": 1600, "height": 950})
    try:
        # 1. The operator picks the repair van from the list: its last hour is drawn.
        page = open_page(context, f"{live.url}/console", page_errors, "console")
        sign_in(page, tokens["op"])
        expect(page.locator("#feed-state")).to_have_attribute("data-state", "live")
        page.fill("#van-filter", hour.repair_van)
        page.locator(f'#van-list tr[data-van-id="{hour.repair_van}"]').click()
        panel = page.locator("#van-trail")
        expect(panel).to_have_attribute("data-state", "drawn", timeout=WAIT_MS)
        expect(panel).to_have_attribute("data-van-id", hour.repair_van)
        assert 70 <= int(panel.get_attribute("data-fixes") or 0) <= 78
        expect(page.locator("#map path.trail-line")).to_have_count(1)
        expect(page.locator("#map circle.trail-stop")).to_have_count(1)
        expect(page.locator("#map circle.trail-fix.speed-road")).not_to_have_count(0)
        expect(panel.locator(".trail-summary")).to_contain_text("1")
        screenshot(page, "console-van-trail")
        # 2. Cleared, the map has no trail; the other van has none in the last hour.
        panel.locator(".trail-clear").click()
        expect(page.locator("#map path.trail-line")).to_have_count(0)
        page.fill("#van-filter", hour.towing_van)
        page.locator(f'#van-list tr[data-van-id="{hour.towing_van}"]').click()
        expect(panel).to_have_attribute("data-van-id", hour.towing_van)
        expect(panel).to_have_attribute("data-fixes", "0", timeout=WAIT_MS)
    finally:
        context.close()
