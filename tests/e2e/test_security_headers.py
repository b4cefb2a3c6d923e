"""Every page under its security headers in a real browser: the console, the tablet, the audit
page and the customer's tracking page load and work under the Content-Security-Policy
without a single violation, and the policy does block what it should (an inline script).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e import pages_support
from tests.e2e.pages_support import PageErrors, open_page, sign_in, wait_ready
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer

expect: Any = pytest.importorskip("playwright.sync_api").expect

Server = tuple[LiveServer, dict[str, str]]
# Collects the browser's own reports of the policy being broken, before any page script runs.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""

browser = pages_support.browser
page_errors = pages_support.page_errors


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with pages_support.seeded_server(tmp_path_factory.mktemp("headers")) as served:
        yield served


def customer_link(live: LiveServer, tokens: dict[str, str]) -> str:
    op = bearer(tokens["op"])
    with httpx.Client(base_url=live.url, timeout=30) as http:
        made = http.post("/api/incidents", json=report_body(), headers=op).json()
        incident_id = made["incident_id"]
        http.post(f"/api/incidents/{incident_id}/dispatch", json={}, headers=op)
        link = http.get(f"/api/incidents/{incident_id}/tracking", headers=op)
        assert link.status_code == 200, link.text
        url: str = link.json()["url"]
        return url


def test_every_answer_carries_the_headers(server: Server) -> None:
    live, tokens = server
    link = customer_link(live, tokens)
    with httpx.Client(base_url=live.url, timeout=30) as http:
        for path in (
            "/console",
            "/tablet",
            "/audit",
            link.removeprefix(live.url),
            "/t/" + "Q" * 32,
            "/static/js/console.js",
            "/api/pages/config",
            "/api/stations",  # a 401
            "/no/such/page",
        ):
            headers = http.get(path).headers
            policy = headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
            assert "frame-ancestors 'none'" in policy, path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
        # The API's documentation page loads its own scripts, but may not be framed either.
        docs = http.get("/docs").headers
        assert docs["content-security-policy"] == "frame-ancestors 'none'"
        assert docs["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("page_name", "token"),
    [("console", "op"), ("tablet", "crew-repair"), ("audit", "aud"), ("customer", None)],
)
def test_each_page_works_under_the_policy_without_a_violation(
    server: Server, browser: Any, page_errors: PageErrors, page_name: str, token: str | None
) -> None:
    live, tokens = server
    url = customer_link(live, tokens) if token is None else f"{live.url}/{page_name}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    try:
        page = open_page(context, url, page_errors, page_name)
        if token is None:
            wait_ready(page)
            expect(page.locator("#status-words")).not_to_have_attribute("data-status", "")
        else:
            sign_in(page, tokens[token])
        page.wait_for_load_state("load")
        assert page.evaluate("window.cspViolations") == []
        # The policy is really on: a script injected into the page is refused and reported
        # (the browser logs the refusal as a console error, which is this test's, not the page's).
        logged_before = len(page_errors.items)
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.body.append(script);
            }"""
        )
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        page.wait_for_function("window.cspViolations.length > 0")
        assert page.evaluate("window.injected") is None
        assert page.evaluate("window.cspViolations")[0].startswith("script-src")
        refusals = page_errors.items[logged_before:]
        assert all("Content Security Policy" in line for line in refusals), refusals
        del page_errors.items[logged_before:]
    finally:
        context.close()
