"""Reading GPS reports: the same checked reports whether or not the request's JSON is kept for
an idempotency fingerprint, which is built only when asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rescue.api.position_input import read_positions

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_the_fingerprint_json_is_built_only_when_asked_for() -> None:
    raw = [
        {"lat": 31.23, "lon": 121.47, "recorded_at": (NOW - timedelta(seconds=5)).isoformat()},
        {"lat": 31.24, "lon": 121.48, "recorded_at": (NOW - timedelta(seconds=4)).isoformat()},
    ]
    options = {"now": NOW, "tolerance_s": 30.0, "limit": 10}
    kept, as_json = read_positions(raw, **options)
    plain, nothing = read_positions(raw, **options, fingerprinted=False)
    assert plain == kept
    assert [(r.lat, r.lon) for r in plain] == [(31.23, 121.47), (31.24, 121.48)]
    assert nothing == []
    assert [item["lat"] for item in as_json] == [31.23, 31.24]
    assert as_json[0]["recorded_at"].startswith("2026-12-04T11:59:55")
