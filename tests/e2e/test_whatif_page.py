"""A what-if result on the audit page: `rescue whatif` replays a small recorded history against
a network with one station closed, and the auditor opens the whatif.json it wrote in the page,
which draws the stations coloured by their change in reach and the tables of the result."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rescue.bootstrap import Rescue
from rescue.cli.main import app as cli
from rescue.places.geojson import network_geojson
from rescue.services.whatif_record import read_period
from tests.builders import FakeClock
from tests.e2e import pages_support
from tests.e2e.pages_support import PageErrors, open_page, screenshot, seeded_server, sign_in
from tests.integration import test_whatif
from tests.integration.test_whatif import make_history, period, without_station

expect: Any = pytest.importorskip("playwright.sync_api").expect

browser = pages_support.browser
page_errors = pages_support.page_errors
# The recorded history of the what-if integration tests: four stations north of Zhengzhou.
clock = test_whatif.clock
app = test_whatif.app


def whatif_without_s1(app: Rescue, clock: FakeClock, store_url: str, out: Path) -> dict[str, Any]:
    """Runs the command as a planner would, with S1 and its van taken out of the network."""
    make_history(app, clock)
    start, end = period(clock)
    recorded = read_period(app.store, start, end).network
    network_file = out / "network.geojson"
    network_file.write_text(json.dumps(network_geojson(without_station(recorded, "S1"))))
    args = ["whatif", "--from", start.isoformat(), "--to", end.isoformat()]
    args += ["--network", str(network_file), "--out", str(out), "--db", store_url]
    result = CliRunner().invoke(
        cli, args, env={"RESCUE_CIPHER_KEY": app.settings.resolved_key() or ""}
    )
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads((out / "whatif.json").read_text())
    return document


def fill_of(page: Any, station_id: str) -> str:
    fill: str = page.locator(f'#whatif-map rect.station[data-id="{station_id}"]').evaluate(
        "node => getComputedStyle(node).fill"
    )
    return fill


def test_the_audit_page_shows_a_whatif_result_as_a_map_and_tables(
    app: Rescue,
    clock: FakeClock,
    store_url: str,
    tmp_path: Path,
    browser: Any,
    page_errors: PageErrors,
) -> None:
    # 1. The command writes whatif.json for the recorded calls with S1 closed.
    document = whatif_without_s1(app, clock, store_url, tmp_path)
    lost = {s["station_id"] for s in document["stations_lost_most"]}
    gained = {s["station_id"] for s in document["stations_gained_most"]}
    assert "S1" in lost and gained, document["stations"]
    with seeded_server(tmp_path / "server") as (live, tokens):
        context = browser.new_context(viewport={"width": 1100, "height": 1400})
        try:
            audit = open_page(context, f"{live.url}/audit", page_errors, "audit")
            sign_in(audit, tokens["aud"])
            # 2. The auditor picks the file; the page reads it without the server.
            audit.set_input_files("#whatif-file", str(tmp_path / "whatif.json"))
            panel = audit.locator("#whatif")
            expect(panel).to_have_attribute("data-loaded", "true")
            # 3. One row per province with the recorded and replayed figures, and the total.
            for name, compared in document["provinces"].items():
                row = panel.locator(f'table.whatif-provinces tr[data-province="{name}"]')
                recorded, replayed = compared["recorded"], compared["replayed"]
                expect(row.locator("td").first).to_have_text(str(recorded["calls"]))
                expect(row.locator("td.queued")).to_have_text(
                    f"{recorded['queued']} → {replayed['queued']}"
                )
                expect(row.locator("td.median")).to_have_text(
                    f"{recorded['answer_to_arrival_median_min']:.1f} → "
                    f"{replayed['answer_to_arrival_median_min']:.1f}"
                )
            # 4. The stations that lost and gained most, each with its change in reach.
            moved = document["stations_lost_most"] + document["stations_gained_most"]
            expect(panel.locator("table.whatif-stations tbody tr")).to_have_count(len(moved))
            for station in moved:
                station_id = station["station_id"]
                row = panel.locator(f'table.whatif-stations tr[data-station-id="{station_id}"]')
                change = station["reach_change"]
                expect(row.locator("td.reach-change")).to_have_text(
                    f"+{change}" if change > 0 else str(change)
                )
            # 5. On the map every station of either network, coloured by its change in reach.
            expect(panel.locator("#whatif-map rect.station")).to_have_count(
                len(document["stations"])
            )
            expect(panel.locator('#whatif-map rect.station[data-id="S1"]')).to_have_class(
                re.compile(r"\breach-loss\b.*\bchange-closed\b")
            )
            for station_id in gained:
                expect(
                    panel.locator(f'#whatif-map rect.station[data-id="{station_id}"]')
                ).to_have_class(re.compile(r"\breach-gain\b"))
            a_gain = sorted(gained)[0]
            assert fill_of(audit, "S1") != fill_of(audit, a_gain)
            # 6. In English the result is redrawn from the same file, with every word known.
            audit.locator("[data-lang-switch]").first.click()
            expect(panel.locator("table.whatif-provinces tfoot th")).to_have_text("All")
            expect(panel.locator("#whatif-map rect.station.reach-loss")).to_have_count(len(lost))
            assert audit.evaluate("[...window.rescueMissingWords]") == []
            # 7. A file that is not a what-if result is refused with a reason, not drawn.
            bad = tmp_path / "not-whatif.json"
            bad.write_text(json.dumps({"type": "FeatureCollection"}))
            screenshot(audit, "audit-whatif")
            audit.set_input_files("#whatif-file", str(bad))
            expect(panel.locator("#whatif-error")).to_contain_text("overall")
            expect(panel).not_to_have_attribute("data-loaded", "true")
        finally:
            context.close()
