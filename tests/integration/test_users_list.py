"""`rescue users list`: every account with role, van, created, expiry and revocation, and
never a token."""

from __future__ import annotations

from datetime import timedelta

from typer.testing import CliRunner

from rescue.cli.main import app as cli
from tests.builders import ADMIN, line_network, load, open_app


def test_users_list_shows_each_account_and_no_token(store_url: str) -> None:
    # 1. A crew account with a day's token, an operator without expiry, a revoked auditor.
    with open_app(store_url) as app:
        stations, vans = line_network(1)
        load(app, stations, vans)
        tokens = [
            app.access.add_user("crew-v1", "crew", "V1", ADMIN, expires_in=timedelta(days=1)),
            app.access.add_user("desk", "operator", None, ADMIN),
            app.access.add_user("checker", "auditor", None, ADMIN),
        ]
        app.access.revoke_user("checker", ADMIN)
    # 2. The list names each of them in one row.
    result = CliRunner().invoke(cli, ["users", "list", "--db", store_url])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "role", "van", "created", "expires", "revoked"]
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert set(rows) == {"checker", "crew-v1", "desk"}
    assert rows["crew-v1"][1:3] == ["crew", "V1"] and rows["crew-v1"][-1] == "no"
    assert rows["desk"][1:3] == ["operator", "-"] and rows["desk"][4] == "never"
    assert rows["checker"][-1] == "yes"
    assert lines[-1] == "3 user(s)"
    # 3. A day's token shows its expiry, not "never".
    assert rows["crew-v1"][4] not in ("never", "-")
    # 4. No token is ever printed.
    assert not any(token in result.output for token in tokens)
