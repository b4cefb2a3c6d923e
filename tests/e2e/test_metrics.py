"""Operations: `/metrics` in the Prometheus text format; per-account rate limits."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer, seed
from tests.support import free_port


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_and_report_state(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, tokens = server
    with httpx.Client(base_url=live.url, timeout=30) as http:
        # 1. Two calls taken, one refused.
        for _ in range(2):
            assert (
                http.post(
                    "/api/incidents", json=report_body(), headers=bearer(tokens["op"])
                ).status_code
                == 201
            )
        assert http.post("/api/incidents", json=report_body()).status_code == 401
        # 2. The scrape parses as Prometheus text and counts them by route template.
        scraped = http.get("/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        values = samples(scraped.text)
    created = (
        "rescue_http_requests_total",
        (("method", "POST"), ("route", "/api/incidents"), ("status", "201")),
    )
    refused = (
        "rescue_http_requests_total",
        (("method", "POST"), ("route", "/api/incidents"), ("status", "401")),
    )
    assert values[created] == 2
    assert values[refused] == 1
    # 3. State gauges: the log position moved past the network load; nothing is open.
    assert values[("rescue_log_position", ())] > 0
    assert values[("rescue_open_sockets", ())] == 0
    assert ("rescue_projection_lag_events", ()) in values


def test_an_account_over_its_rate_gets_429_and_others_carry_on(
    store_url: str, tmp_path: Path
) -> None:
    key = new_key()
    tokens = seed(Settings(db=store_url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(store_url, key, free_port(), tmp_path / "s.log")
    live.start(rate_limit_per_s="2", rate_limit_burst="5")
    try:
        with httpx.Client(base_url=live.url, timeout=30) as http:
            # 1. An auditor's script hammers the list: past its burst it is told to wait.
            answers = [http.get("/api/incidents", headers=bearer(tokens["aud"])) for _ in range(12)]
            codes = [a.status_code for a in answers]
            assert codes[:5] == [200] * 5
            assert 429 in codes[5:]
            limited = next(a for a in answers if a.status_code == 429)
            assert int(limited.headers["Retry-After"]) >= 1
            # 2. The operator's own budget is untouched.
            assert (
                http.post(
                    "/api/incidents", json=report_body(), headers=bearer(tokens["op"])
                ).status_code
                == 201
            )
    finally:
        live.stop()
