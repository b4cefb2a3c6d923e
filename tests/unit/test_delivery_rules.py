"""The rules of outgoing deliveries: patterns, URLs a webhook may name, backoff, templates."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from rescue.domain.errors import Invalid
from rescue.services.delivery import Backoff, event_type
from rescue.services.sms import DEFAULT_TEMPLATES, Templates
from rescue.services.webhook_urls import check_webhook_url
from rescue.services.webhooks import check_patterns, matches, sign

SERVER = ("127.0.0.1", 8000)


@pytest.mark.parametrize(
    ("patterns", "kind", "wanted"),
    [
        (["*"], "VanTrack.PositionReported", True),
        (["Incident.*"], "Incident.Completed", True),
        (["Incident.*"], "IncidentX.Completed", False),
        (["Incident.Completed"], "Incident.Completed", True),
        (["Incident.Completed"], "Incident.Cancelled", False),
        (["Van.*", "Incident.Completed"], "Van.Registered", True),
    ],
)
def test_event_patterns(patterns: list[str], kind: str, wanted: bool) -> None:
    assert matches(patterns, kind) is wanted


def test_a_type_is_named_by_its_class_whatever_its_module() -> None:
    assert event_type("rescue.domain.incidents:Incident.Completed") == "Incident.Completed"
    assert event_type("rescue.incidents:Incident.Completed") == "Incident.Completed"


@pytest.mark.parametrize("bad", [[], ["Incident.<x>"], ["a b"], ["Incident.**"], ["*" * 2]])
def test_patterns_that_name_nothing_are_refused(bad: list[str]) -> None:
    with pytest.raises(Invalid):
        check_patterns(bad)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:9000/hook",  # on-premise systems
        "https://192.168.1.20/hook",
        "http://127.0.0.1:9000/hook",  # this machine, another port
        "http://[::1]:9000/hook",
        "https://203.0.113.7/hook",
    ],
)
def test_allowed_webhook_urls(url: str) -> None:
    assert check_webhook_url(url, *SERVER) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://127.0.0.1:8000/api",
        "http://localhost:8000/",
        "http://[::1]:8000/",
        "http://0.0.0.0:9000/",
        "http://224.0.0.1/",
        "ftp://10.0.0.1/",
        "gopher://10.0.0.1/",
        "http:///nohost",
        "http://u:p@10.0.0.1/",
        "http://10.0.0.1:99999/",
    ],
)
def test_refused_webhook_urls(url: str) -> None:
    with pytest.raises(Invalid):
        check_webhook_url(url, *SERVER)


def test_a_server_on_every_address_refuses_its_port_on_loopback() -> None:
    with pytest.raises(Invalid):
        check_webhook_url("http://127.0.0.1:8000/", "0.0.0.0", 8000)
    assert check_webhook_url("http://10.9.9.9:8000/", "0.0.0.0", 8000)


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"id":"42"}'
    digest = hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert sign("k" * 16, body) == f"sha256={digest}"
    assert sign("k" * 16, body + b" ") != sign("k" * 16, body)


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    backoff = Backoff(base_s=1.0, max_s=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)]:
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


def test_templates_are_chinese_by_default_and_replaceable() -> None:
    texts = Templates.with_overrides({})
    text = texts.render(
        "help_on_the_way", {"call_sign": "豫救001", "eta_min": 12.4, "link": "https://x/t/abc"}
    )
    assert "豫救001" in text and "12 分钟" in text and "https://x/t/abc" in text
    assert set(DEFAULT_TEMPLATES) == {
        "help_on_the_way",
        "van_arrived",
        "job_completed",
        "followup_reminder",
        "tracking_link",
    }
    english = Templates.with_overrides({"van_arrived": "Van {call_sign} is there."})
    assert english.render("van_arrived", {"call_sign": "HQ-1"}) == "Van HQ-1 is there."
    # A parameter the message lacks is left blank rather than failing the message.
    assert english.render("van_arrived", {}) == "Van  is there."
