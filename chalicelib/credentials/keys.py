"""API keys: minted by a caller for itself (at most its own roles), listed
without their secrets, revoked by their owner or an admin of their tenant.

The key is answered once, `<id>-<secret>`; the table keeps the keyed hash of
the secret only. A key acts as the user who made it, with the roles it was
given, until it expires or is revoked (the authorizer may remember a key for
up to 60 s: a revoked key stops within that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.caller import Caller, Role
from chalicelib.clock import Clock
from chalicelib.credentials import shapes
from chalicelib.credentials.hashing import SecretHasher
from chalicelib.credentials.table import CredentialTable, KeyIdTaken, KeyRecord
from chalicelib.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable
from chalicelib.query.tokens import TokenSigner, caller_key, query_hash

# How much each role may do: a key may carry a role only up to its maker's.
POWER = {Role.USER: 0, Role.TENANT_ADMIN: 1, Role.FULL_ADMIN: 2}
ID_ATTEMPTS = 3


def power(roles: frozenset[Role] | set[Role]) -> int:
    return max((POWER[role] for role in roles), default=0)


def refuse_if_token(caller: Caller) -> None:
    if caller.via == "token":
        raise Forbidden("a short-lived token cannot create credentials; use a bearer token "
                        "or an API key")


@dataclass(frozen=True)
class NewKey:
    record: KeyRecord
    key: str  # shown once

    def as_dict(self) -> dict[str, Any]:
        return {**self.record.public(), "key": self.key}


class ApiKeys:
    def __init__(self, table: CredentialTable, hasher: SecretHasher, signer: TokenSigner,
                 clock: Clock) -> None:
        self._table = table
        self._hasher = hasher
        self._signer = signer
        self._clock = clock

    def create(self, caller: Caller, name: str, roles: list[Role] | None,
               expires_at: float | None) -> NewKey:
        refuse_if_token(caller)
        granted = frozenset(caller.roles if roles is None else roles)
        if power(granted) > power(caller.roles):
            raise Forbidden(f"a key may carry at most its maker's roles; you may not grant "
                            f"{sorted(role.value for role in granted - caller.roles)}")
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise BadRequest("expires_at must be in the future")
        for _ in range(ID_ATTEMPTS):
            key_id, secret = shapes.new_key_id(), shapes.new_key_secret()
            record = KeyRecord(key_id=key_id, name=name, tenant_id=caller.tenant_id,
                               user_id=str(caller.user_id),
                               roles=tuple(sorted(role.value for role in granted)),
                               secret_hash=self._hasher.digest(secret), created_at=now,
                               expires_at=expires_at)
            try:
                self._table.put_key(record)
            except KeyIdTaken:
                continue
            return NewKey(record, f"{key_id}-{secret}")
        raise ServiceUnavailable("could not draw a free key id; retry")

    def list(self, caller: Caller, tenant_id: str | None, limit: int,
             next_token: str | None) -> dict[str, Any]:
        """The keys the caller may see: its own, or its tenant's for an admin
        (a FULL_ADMIN names any tenant); `next_token` continues a page."""
        tenant = self._tenant_for(caller, tenant_id)
        user = None if caller.sees_whole_tenant else str(caller.user_id)
        who = caller_key(caller.tenant_id, caller.user_id, frozenset(caller.roles))
        query = query_hash({"what": "api_keys", "tenant": tenant, "user": user})
        start = self._signer.read(next_token, who, query) if next_token else None
        records, last = self._table.keys_of(tenant, user, limit, start)
        page: dict[str, Any] = {"records": [record.public() for record in records]}
        if last:
            page["next_token"] = self._signer.issue(who, query, last)
        return page

    def revoke(self, caller: Caller, key_id: int) -> None:
        tenant = None if caller.is_full_admin else caller.tenant_id
        user = None if caller.sees_whole_tenant else str(caller.user_id)
        if not self._table.delete_key(key_id, tenant, user):
            raise NotFound(f"no API key {key_id}")

    @staticmethod
    def _tenant_for(caller: Caller, tenant_id: str | None) -> str:
        if tenant_id is None or tenant_id == caller.tenant_id:
            return caller.tenant_id
        if not caller.is_full_admin:
            raise NotFound(f"no tenant {tenant_id!r} among yours")
        return tenant_id
