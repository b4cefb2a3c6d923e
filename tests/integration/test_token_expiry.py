"""Tokens with a lifetime: they work until it runs out, then get 401 saying they expired.
Tokens without one (and those issued before lifetimes existed) work until revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from rescue.cli.main import app as cli
from rescue.domain.access import AccessToken, hash_token, parse_lifetime
from rescue.domain.errors import Invalid, NotFound, Unauthenticated
from tests.builders import ADMIN, FakeClock, bearer, line_network, load, open_app, served


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("90m", timedelta(minutes=90)),
        ("8h", timedelta(hours=8)),
        ("30d", timedelta(days=30)),
        ("1.5h", timedelta(minutes=90)),
        ("3600", timedelta(hours=1)),
        (" 45S ", timedelta(seconds=45)),
    ],
)
def test_lifetimes_read_as_written(text: str, lifetime: timedelta) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", ["", "0", "0h", "-1h", "8x", "h", "8 hours", "1e3"])
def test_a_lifetime_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_lifetime(text)


def test_a_token_works_until_its_lifetime_runs_out(sqlite_url: str) -> None:
    clock = FakeClock()
    with open_app(sqlite_url, clock=clock) as app:
        load(app, *line_network(1))
        lapsing = app.access.add_user(
            "temp", "operator", None, ADMIN, expires_in=timedelta(hours=1)
        )
        lasting = app.access.add_user("desk", "operator", None, ADMIN)
        issued_at = clock.now
        # 1. Within its hour the token is the operator's.
        clock.advance(3599)
        principal = app.access.principal_for(lapsing)
        assert (principal.name, principal.role) == ("temp", "operator")
        # 2. From the hour on it is refused, saying it expired and when.
        clock.advance(1)
        with pytest.raises(Unauthenticated, match="expired") as refused:
            app.access.principal_for(lapsing)
        assert (issued_at + timedelta(hours=1)).isoformat(timespec="seconds") in str(refused.value)
        assert app.access.authenticate(lapsing) is None
        # 3. A token without a lifetime still works years later.
        clock.advance(10 * 365 * 86400)
        assert app.access.principal_for(lasting).name == "desk"
        # 4. A lifetime must be positive.
        for lifetime in (timedelta(0), timedelta(seconds=-5)):
            with pytest.raises(Invalid):
                app.access.add_user("temp", "operator", None, ADMIN, expires_in=lifetime)


def test_a_token_issued_before_lifetimes_existed_works_until_revoked(sqlite_url: str) -> None:
    with open_app(sqlite_url) as app:
        # An Issued event as stored before it had `expires_at`.
        token = AccessToken(token_hash=hash_token("old"), name="old", role="auditor", van_id=None)
        events = token.collect_events()
        object.__delattr__(events[0], "expires_at")
        app.store.events.put(events)
        assert app.access.principal_for("old").role == "auditor"


def test_an_expired_token_gets_401_saying_so(sqlite_url: str) -> None:
    with served(sqlite_url) as world:
        # Issued two hours ago for one hour, by another process on the same store.
        with open_app(sqlite_url, clock=FakeClock(datetime.now(UTC) - timedelta(hours=2))) as desk:
            token = desk.access.add_user(
                "lapsed", "operator", None, ADMIN, expires_in=timedelta(hours=1)
            )
        answer = world.client.get("/api/pages/whoami", headers=bearer(token))
        assert answer.status_code == 401
        assert "expired" in answer.json()["detail"]
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        # As a tracker's device id too.
        tracked = world.app.access.add_user(
            "tracker", "crew", "V1", ADMIN, expires_in=timedelta(hours=1)
        )
        with open_app(sqlite_url, clock=FakeClock(datetime.now(UTC) - timedelta(hours=2))) as desk:
            tracker = desk.access.add_user(
                "tracker", "crew", "V1", ADMIN, expires_in=timedelta(hours=1)
            )
        position = {"lat": "34.8", "lon": "113.6"}
        assert world.client.get("/osmand", params={"id": tracked, **position}).status_code == 200
        lapsed = world.client.get("/osmand", params={"id": tracker, **position})
        assert lapsed.status_code == 401
        assert "expired" in lapsed.json()["detail"]
        # The same account's fresh token works.
        fresh = world.app.access.add_user("lapsed", "operator", None, ADMIN)
        assert world.client.get("/api/pages/whoami", headers=bearer(fresh)).status_code == 200


def test_users_add_issues_a_token_with_a_lifetime(sqlite_url: str) -> None:
    runner = CliRunner()
    before = datetime.now(UTC)
    added = runner.invoke(
        cli,
        ["users", "add", "night", "--role", "operator", "--expires-in", "8h", "--db", sqlite_url],
    )
    assert added.exit_code == 0, added.output
    token = added.output.strip()
    # 1. Works for eight hours from when it was issued, not after.
    with open_app(sqlite_url, clock=FakeClock(before + timedelta(hours=7, minutes=59))) as app:
        assert app.access.principal_for(token).name == "night"
    later = FakeClock(before + timedelta(hours=8, minutes=1))
    with open_app(sqlite_url, clock=later) as app, pytest.raises(Unauthenticated, match="expired"):
        app.access.principal_for(token)
    # 2. A lifetime that is not one is refused, and nothing is issued.
    refused = runner.invoke(
        cli,
        ["users", "add", "day", "--role", "operator", "--expires-in", "soon", "--db", sqlite_url],
    )
    assert refused.exit_code == 2
    assert "--expires-in" in refused.output
    with open_app(sqlite_url) as app, pytest.raises(NotFound, match="no user day"):
        app.access.revoke_user("day", ADMIN)
