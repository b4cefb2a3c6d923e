"""`Account` and `AccessToken` on their own, and the token helpers beside them.

How lifetimes are read (`parse_lifetime`) is checked in tests/integration/test_token_expiry.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rescue.domain.access import AccessToken, Account, hash_token, new_token
from rescue.domain.actors import Actor
from rescue.domain.ids import account_uuid, token_uuid
from tests.unit.domain.checks import fields, last_event, rebuilt, recorded

ADMIN = Actor(role="admin", name="admin-1").as_dict()
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_an_account_is_issued_tokens_revoked_and_issued_again() -> None:
    # 1. A crew account for van V-1, found by its name.
    account = Account(name="crew-V-1", role="crew", van_id="V-1", actor=ADMIN)
    assert account.id == account_uuid("crew-V-1")
    assert fields(last_event(account)) == {
        "name": "crew-V-1",
        "role": "crew",
        "van_id": "V-1",
        "actor": ADMIN,
    }
    assert (account.token_hashes, account.revoked) == ([], False)

    # 2. Issued a token for eight hours: only its hash is kept.
    first = hash_token("first-token")
    account.issue(first, ADMIN, expires_at=NOW + timedelta(hours=8))
    assert fields(last_event(account)) == {
        "token_hash": first,
        "actor": ADMIN,
        "expires_at": NOW + timedelta(hours=8),
    }

    # 3. Revoked.
    account.revoke(ADMIN)
    assert fields(last_event(account)) == {"actor": ADMIN}
    assert account.revoked

    # 4. Issued a new token (without a lifetime): the account works again.
    second = hash_token("second-token")
    account.issue(second, ADMIN)
    assert last_event(account).expires_at is None
    assert (account.token_hashes, account.revoked) == ([first, second], False)

    assert recorded(account) == ["Registered", "TokenIssued", "Revoked", "TokenIssued"]
    rebuilt(account)


def test_a_token_works_until_it_expires_or_is_revoked() -> None:
    # 1. Issued for the hash of the presented token, with a lifetime.
    token_hash = hash_token("presented")
    token = AccessToken(
        token_hash=token_hash,
        name="op-1",
        role="operator",
        van_id=None,
        expires_at=NOW + timedelta(hours=1),
    )
    assert token.id == token_uuid(token_hash)
    assert fields(last_event(token)) == {
        "token_hash": token_hash,
        "name": "op-1",
        "role": "operator",
        "van_id": None,
        "expires_at": NOW + timedelta(hours=1),
    }

    # 2. It works up to, but not at, its expiry.
    assert not token.expired(NOW + timedelta(minutes=59, seconds=59))
    assert token.expired(NOW + timedelta(hours=1))

    # 3. Revoked.
    token.revoke()
    assert token.revoked
    assert recorded(token) == ["Issued", "Revoked"]
    assert rebuilt(token).expires_at == NOW + timedelta(hours=1)


def test_a_token_without_a_lifetime_never_expires() -> None:
    token = AccessToken(token_hash=hash_token("old"), name="a", role="auditor", van_id=None)
    assert not token.expired(datetime.max.replace(tzinfo=UTC))
    rebuilt(token)


def test_tokens_are_random_and_only_their_hash_names_them() -> None:
    first, second = new_token(), new_token()
    assert first != second
    assert hash_token(first) == hash_token(first) != hash_token(second)
    assert first not in hash_token(first)
