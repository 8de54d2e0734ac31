"""What a client sends to POST/GET /api_keys and POST /auth/tokens, read at
the edge into models (TrueNAS's api_key.create and auth.generate_token)."""

from __future__ import annotations

from chalice.app import Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib.caller import Role
from chalicelib.clock import MAX_EPOCH
from chalicelib.credentials.tokens import MAX_TTL_SECONDS
from chalicelib.errors import BadRequest
from chalicelib.faces.native.requests import json_body
from chalicelib.validation import parse

MAX_PAGE = 1000


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1, max_length=200, description="what the key is for")
    roles: list[Role] | None = Field(None, max_length=3, description=(
        "at most the caller's own; default: the caller's"))
    expires_at: AwareDatetime | None = Field(None, description=(
        "ISO 8601 with a zone; default: never"))

    def expiry(self) -> float | None:
        if self.expires_at is None:
            return None
        epoch = self.expires_at.timestamp()
        if epoch > MAX_EPOCH:
            raise BadRequest("expires_at is past the year 9999")
        return epoch


class KeyListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    tenant_id: str | None = Field(None, min_length=1, max_length=200)
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    next_token: str | None = Field(None, max_length=4096)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    ttl: int = Field(MAX_TTL_SECONDS, ge=1, le=MAX_TTL_SECONDS, description="seconds")
    single_use: bool = False


def new_api_key(request: Request) -> NewApiKey:
    return parse(NewApiKey, json_body(request), "request body")


def key_list_query(request: Request) -> KeyListQuery:
    return parse(KeyListQuery, dict(request.query_params or {}), "query parameters")


def new_token(request: Request) -> NewToken:
    raw = request.raw_body or b""
    return parse(NewToken, json_body(request) if raw.strip() else {}, "request body")


def key_id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 19 and text[0] != "0"):
        raise BadRequest("an API key id is a positive decimal number")
    return int(text)

