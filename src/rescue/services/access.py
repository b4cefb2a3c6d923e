"""Access: accounts, their bearer tokens, and who is behind a token."""

from __future__ import annotations

from datetime import timedelta

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError

from rescue.domain.access import AccessToken, Account, Principal, hash_token, new_token
from rescue.domain.actors import Actor
from rescue.domain.errors import Conflict, Invalid, NotFound, Unauthenticated, Unavailable
from rescue.domain.idempotency import Result
from rescue.domain.ids import account_uuid, token_uuid, van_uuid
from rescue.domain.vocabulary import Role
from rescue.services.clock import Clock
from rescue.services.runner import CommandRunner, Decision
from rescue.services.tokens import TokenBook, TokenStanding

REFUSED = "token not recognised or revoked"


class AccessService:
    def __init__(self, runner: CommandRunner, clock: Clock, book: TokenBook | None = None) -> None:
        self.runner = runner
        self.store = runner.store
        self.clock = clock
        # Fed by the log follower; without one (tools that do not follow the
        # log) every token is read from the store.
        self.book = book

    def add_user(
        self,
        name: str,
        role: str,
        van_id: str | None,
        actor: Actor,
        *,
        expires_in: timedelta | None = None,
    ) -> str:
        """Issues a new bearer token for NAME; only its hash is stored.

        With `expires_in` the token stops working that long from now (the
        service's clock); without it, it works until revoked.
        """
        if role == Role.CREW and not van_id:
            raise Invalid("van", "a crew token acts for one van: give --van VAN_ID")
        if role != Role.CREW and van_id:
            raise Invalid("van", "only crew tokens are bound to a van")
        if van_id and not self.runner.exists(van_uuid(van_id)):
            raise Invalid("van", f"no van {van_id}")
        if expires_in is not None and expires_in <= timedelta(0):
            raise Invalid("expires_in", "a token lifetime must be positive")
        expires_at = None if expires_in is None else self.clock() + expires_in
        token = new_token()
        token_hash = hash_token(token)

        def decide() -> Decision:
            account: Account
            if self.runner.exists(account_uuid(name)):
                account = self.store.repository.get(account_uuid(name))
                if account.role != role or account.van_id != van_id:
                    raise Conflict(
                        f"{name} is already a {account.role}"
                        + (f" of van {account.van_id}" if account.van_id else ""),
                        {"name": name, "role": account.role, "van_id": account.van_id},
                    )
            else:
                account = Account(name=name, role=role, van_id=van_id, actor=actor.as_dict())
            account.issue(token_hash, actor.as_dict(), expires_at)
            issued = AccessToken(
                token_hash=token_hash, name=name, role=role, van_id=van_id, expires_at=expires_at
            )
            return [account, issued], Result({}, created=True)

        self.runner.run(None, decide)
        return token

    def revoke_user(self, name: str, actor: Actor) -> int:
        """Stops every token of NAME from working; returns how many were revoked."""
        if not self.runner.exists(account_uuid(name)):
            raise NotFound(f"no user {name}")

        def decide() -> Decision:
            account: Account = self.store.repository.get(account_uuid(name))
            changed: list[Aggregate] = [account]
            account.revoke(actor.as_dict())
            for token_hash in account.token_hashes:
                token: AccessToken = self.store.repository.get(token_uuid(token_hash))
                if not token.revoked:
                    token.revoke()
                    changed.append(token)
            return changed, Result({"revoked": len(changed) - 1})

        return int(self.runner.run(None, decide).body["revoked"])

    def known_principal(self, token: str) -> Principal | None:
        """The caller behind a token the in-memory book knows, without touching the store.

        None when the book cannot tell (not following the log, or a token it
        has not seen yet): then `principal_for` asks the store. Never blocks.
        """
        book = self.book
        if book is None or not book.current:
            return None
        standing = book.standing(token_uuid(hash_token(token)))
        if standing is None:
            return None
        return self._admit(standing)

    def principal_for(self, token: str) -> Principal:
        """The caller behind a bearer token; Unauthenticated says why there is none."""
        known = self.known_principal(token)
        if known is not None:
            return known
        try:
            issued: AccessToken = self.store.repository.get(token_uuid(hash_token(token)))
        except AggregateNotFoundError:
            raise Unauthenticated(REFUSED) from None
        except OperationalError as error:
            raise Unavailable(f"the store is unavailable: {error}") from error
        return self._admit(
            TokenStanding(
                issued.name, issued.role, issued.van_id, issued.expires_at, issued.revoked
            )
        )

    def _admit(self, standing: TokenStanding) -> Principal:
        if standing.revoked:
            raise Unauthenticated(REFUSED)
        if standing.expired(self.clock()):
            assert standing.expires_at is not None
            raise Unauthenticated(
                f"token expired at {standing.expires_at.isoformat(timespec='seconds')}; "
                "ask an admin for a new one"
            )
        return Principal(standing.name, standing.role, standing.van_id)

    def authenticate(self, token: str) -> Principal | None:
        """The caller behind a bearer token, or None if it is unknown, revoked or expired."""
        try:
            return self.principal_for(token)
        except Unauthenticated:
            return None
