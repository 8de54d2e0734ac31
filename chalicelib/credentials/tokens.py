"""Short-lived tokens (TrueNAS's `auth.generate_token`): a caller mints one
for itself, at most 600 s long, optionally good for one request only; it is
sent as `Authorization: Token <t>` (or `?auth_token=` where a route takes
one). The table keeps the keyed hash of the token, which is also its key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.caller import Caller
from chalicelib.clock import Clock, iso
from chalicelib.credentials import shapes
from chalicelib.credentials.hashing import SecretHasher
from chalicelib.credentials.keys import refuse_if_token
from chalicelib.credentials.table import CredentialTable, TokenRecord

MAX_TTL_SECONDS = 600


@dataclass(frozen=True)
class NewToken:
    token: str
    record: TokenRecord
    ttl: int

    def as_dict(self) -> dict[str, Any]:
        return {"token": self.token, "ttl": self.ttl, "single_use": self.record.single_use,
                "expires_at": iso(self.record.expires_at)}


class AuthTokens:
    def __init__(self, table: CredentialTable, hasher: SecretHasher, clock: Clock) -> None:
        self._table = table
        self._hasher = hasher
        self._clock = clock

    def issue(self, caller: Caller, ttl: int, single_use: bool) -> NewToken:
        refuse_if_token(caller)
        token = shapes.new_token(single_use)
        record = TokenRecord(tenant_id=caller.tenant_id, user_id=str(caller.user_id),
                             roles=tuple(sorted(role.value for role in caller.roles)),
                             expires_at=self._clock() + ttl, single_use=single_use)
        self._table.put_token(self._hasher.digest(token), record)
        return NewToken(token, record, ttl)
