"""The credentials table (infra/template.yaml, CredentialsTable): API keys
and short-lived tokens, each one item keyed by what the authorizer knows
before any read.

    key#<id>          an API key: owner, roles, name, the keyed hash of its
                      secret, times; `owner_key` puts it in the sparse
                      by_owner index (tenant, user#created#id) that lists keys
    token#<hash>      a short-lived token, keyed by the keyed hash of the token
                      itself: owner, roles, single_use, expires_at

`expires_at` is the table's TTL attribute (DynamoDB removes expired items
within days); every read checks it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.aws_errors import Boundary, error_code, translated
from chalicelib.caller import Caller, Role
from chalicelib.clock import iso

CREDENTIALS = Boundary("the credential store is busy ({code}); retry shortly")
BY_OWNER = "by_owner"


class KeyIdTaken(Exception):
    """A new key drew an id that exists (about one in 10^15): draw again."""


@dataclass(frozen=True)
class KeyRecord:
    key_id: int
    name: str
    tenant_id: str
    user_id: str
    roles: tuple[str, ...]
    secret_hash: str
    created_at: float
    expires_at: float | None = None

    def caller(self) -> Caller:
        return _caller(self.tenant_id, self.user_id, self.roles, "api_key")

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def public(self) -> dict[str, Any]:
        """What GET /api_keys shows: everything but the secret's hash."""
        return {"id": self.key_id, "name": self.name, "tenant_id": self.tenant_id,
                "user_id": self.user_id, "roles": list(self.roles),
                "created_at": iso(self.created_at),
                "expires_at": iso(self.expires_at) if self.expires_at is not None else None}


@dataclass(frozen=True)
class TokenRecord:
    tenant_id: str
    user_id: str
    roles: tuple[str, ...]
    expires_at: float
    single_use: bool

    def caller(self) -> Caller:
        return _caller(self.tenant_id, self.user_id, self.roles, "token")

    def expired(self, now: float) -> bool:
        return self.expires_at <= now


def key_pk(key_id: int) -> str:
    return f"key#{key_id}"


def token_pk(token_hash: str) -> str:
    return f"token#{token_hash}"


class CredentialTable:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put_key(self, record: KeyRecord) -> None:
        item = {"id": {"S": key_pk(record.key_id)}, "kind": {"S": "api_key"},
                "key_id": {"N": str(record.key_id)}, "name": {"S": record.name},
                "tenant_id": {"S": record.tenant_id}, "user_id": {"S": record.user_id},
                "roles": {"L": [{"S": role} for role in record.roles]},
                "secret_hash": {"S": record.secret_hash},
                "created_at": {"N": _number(record.created_at)},
                "owner_key": {"S": owner_key(record.user_id, record.created_at, record.key_id)}}
        if record.expires_at is not None:
            item["expires_at"] = {"N": str(int(record.expires_at))}
        with translated(CREDENTIALS, meaning=_taken):
            self._client.put_item(TableName=self._table, Item=item,
                                  ConditionExpression="attribute_not_exists(id)")

    def read_key(self, key_id: int) -> KeyRecord | None:
        item = self._read(key_pk(key_id))
        return _key(item) if item and item.get("kind", {}).get("S") == "api_key" else None

    def keys_of(self, tenant_id: str, user_id: str | None, limit: int,
                start: dict[str, Any] | None) -> tuple[list[KeyRecord], dict[str, Any] | None]:
        """One page of a tenant's keys (or one user's), oldest first, and where
        the next page starts."""
        values: dict[str, Any] = {":tenant": {"S": tenant_id}}
        condition = "tenant_id = :tenant"
        if user_id is not None:
            condition += " AND begins_with(owner_key, :owner)"
            values[":owner"] = {"S": f"{user_id}#"}
        request: dict[str, Any] = {"TableName": self._table, "IndexName": BY_OWNER,
                                   "KeyConditionExpression": condition,
                                   "ExpressionAttributeValues": values, "Limit": limit}
        if start:
            request["ExclusiveStartKey"] = start
        with translated(CREDENTIALS):
            answer = self._client.query(**request)
        return [_key(item) for item in answer.get("Items", [])], answer.get("LastEvaluatedKey")

    def delete_key(self, key_id: int, tenant_id: str | None, user_id: str | None) -> bool:
        """Removes the key if it belongs to `tenant_id` (any tenant: None) and
        `user_id` (anyone of it: None); False when no such key was found."""
        conditions, values = ["kind = :kind"], {":kind": {"S": "api_key"}}
        if tenant_id is not None:
            conditions.append("tenant_id = :tenant")
            values[":tenant"] = {"S": tenant_id}
        if user_id is not None:
            conditions.append("user_id = :user")
            values[":user"] = {"S": user_id}
        with translated(CREDENTIALS, fine=("ConditionalCheckFailedException",)):
            self._client.delete_item(TableName=self._table, Key={"id": {"S": key_pk(key_id)}},
                                     ConditionExpression=" AND ".join(conditions),
                                     ExpressionAttributeValues=values)
            return True
        return False

    def put_token(self, token_hash: str, record: TokenRecord) -> None:
        item = {"id": {"S": token_pk(token_hash)}, "kind": {"S": "token"},
                "tenant_id": {"S": record.tenant_id}, "user_id": {"S": record.user_id},
                "roles": {"L": [{"S": role} for role in record.roles]},
                "expires_at": {"N": _number(record.expires_at)},
                "single_use": {"BOOL": record.single_use}}
        with translated(CREDENTIALS):
            self._client.put_item(TableName=self._table, Item=item)

    def read_token(self, token_hash: str) -> TokenRecord | None:
        item = self._read(token_pk(token_hash))
        return _token(item) if item and item.get("kind", {}).get("S") == "token" else None

    def consume_token(self, token_hash: str, now: float) -> TokenRecord | None:
        """Deletes a single-use token that has not expired and answers it; of
        any number of simultaneous calls, one gets it and the others None."""
        with translated(CREDENTIALS, fine=("ConditionalCheckFailedException",)):
            answer = self._client.delete_item(
                TableName=self._table, Key={"id": {"S": token_pk(token_hash)}},
                ConditionExpression="kind = :kind AND single_use = :yes AND expires_at > :now",
                ExpressionAttributeValues={":kind": {"S": "token"}, ":yes": {"BOOL": True},
                                           ":now": {"N": _number(now)}},
                ReturnValues="ALL_OLD")
            return _token(answer["Attributes"])
        return None

    def _read(self, pk: str) -> dict[str, Any] | None:
        # Consistent: a key works the moment it is answered, and a revoked one
        # stops at once (but for the authorizer's own cache).
        with translated(CREDENTIALS):
            answer = self._client.get_item(TableName=self._table, Key={"id": {"S": pk}},
                                           ConsistentRead=True)
        item: dict[str, Any] | None = answer.get("Item")
        return item


def owner_key(user_id: str, created_at: float, key_id: int) -> str:
    return f"{user_id}#{iso(created_at)}#{key_id}"


def _caller(tenant_id: str, user_id: str, roles: tuple[str, ...], via: str) -> Caller:
    return Caller(tenant_id=tenant_id, user_id=user_id,
                  roles=frozenset(Role(role) for role in roles if role in Role.__members__),
                  via=via)


def _key(item: dict[str, Any]) -> KeyRecord:
    expires = item.get("expires_at")
    return KeyRecord(key_id=int(item["key_id"]["N"]), name=item["name"]["S"],
                     tenant_id=item["tenant_id"]["S"], user_id=item["user_id"]["S"],
                     roles=tuple(role["S"] for role in item.get("roles", {}).get("L", [])),
                     # The listing index leaves the hash out: a listing never needs it.
                     secret_hash=item.get("secret_hash", {}).get("S", ""),
                     created_at=float(item["created_at"]["N"]),
                     expires_at=float(expires["N"]) if expires else None)


def _token(item: dict[str, Any]) -> TokenRecord:
    return TokenRecord(tenant_id=item["tenant_id"]["S"], user_id=item["user_id"]["S"],
                       roles=tuple(role["S"] for role in item.get("roles", {}).get("L", [])),
                       expires_at=float(item["expires_at"]["N"]),
                       single_use=bool(item.get("single_use", {}).get("BOOL")))


def _number(value: float) -> str:
    return repr(round(value, 3))


def _taken(exc: Any) -> Exception | None:
    return KeyIdTaken() if error_code(exc) == "ConditionalCheckFailedException" else None
