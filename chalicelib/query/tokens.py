"""Opaque, tamper-proof paging tokens.

A token is base64url(JSON payload) + "." + base64url(HMAC-SHA256). The payload
names the caller it was issued to (tenant, user and roles: one string, see
`caller_key`) and a hash of the query it belongs to, so a token can neither be
edited nor replayed against another query or by anyone but its caller (whose
scope may read another index, where its position means nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.errors import BadRequest

VERSION = 2  # 2: bound to the whole caller, not only its tenant
MAX_TOKEN_CHARS = 4096


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def issue(self, caller_key: str, query_hash: str, position: dict[str, Any]) -> str:
        payload = {"v": VERSION, "c": caller_key, "q": query_hash, "p": position}
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._sign(body)}"

    def read(self, token: str, caller_key: str, query_hash: str) -> dict[str, Any]:
        """The position a token carries; 400 if it was altered, or is not for
        this caller or this query."""
        payload = self._verified(token)
        if payload.get("v") != VERSION:
            raise BadRequest("next_token is from an older version of this API: repeat the "
                             "query without it")
        if payload.get("c") != caller_key:
            raise BadRequest("next_token was issued to another caller: only the caller who "
                             "received it may use it")
        if payload.get("q") != query_hash:
            raise BadRequest("next_token belongs to another query: repeat the query unchanged "
                             "with only next_token added")
        position = payload.get("p")
        if not isinstance(position, dict):
            raise BadRequest("next_token is invalid")
        return position

    def _verified(self, token: str) -> dict[str, Any]:
        body, _, signature = token.partition(".")
        if len(token) > MAX_TOKEN_CHARS or not body or not signature:
            raise BadRequest("next_token is invalid")
        # compare_digest: the time taken says nothing about how much matched.
        if not hmac.compare_digest(signature, self._sign(body)):
            raise BadRequest("next_token is invalid")
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            raise BadRequest("next_token is invalid") from None
        if not isinstance(payload, dict):
            raise BadRequest("next_token is invalid")
        return payload

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())


def caller_key(tenant_id: str, user_id: str | None, roles: frozenset[str]) -> str:
    """Who a token belongs to: a USER and an admin of one tenant read different
    indexes for the same query, so the roles are part of it."""
    return json.dumps([tenant_id, user_id or "", sorted(roles)], separators=(",", ":"))


def query_hash(parts: dict[str, Any]) -> str:
    canonical = json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
