"""A presented credential -> the Caller it proves, or InvalidToken.

A JWT is verified by signature (chalicelib.authn): no read. An API key or a
multi-use token costs at most one consistent read, and what was read (a
record, or that there is none) is remembered in the function's container for
up to `cache_seconds` (60 at most): a revoked key stops within that. A
single-use token is one conditional delete, never remembered, so it works
exactly once however many requests race.

"No such key" and "wrong secret" do the same work: one lookup (the cache or
one read), one keyed hash, one constant-time comparison (against a stand-in
hash when there is no record), and the same refusal.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.authn import InvalidToken, TokenVerifier
from chalicelib.caller import Caller
from chalicelib.clock import Clock
from chalicelib.credentials.hashing import NO_RECORD_HASH, SecretHasher
from chalicelib.credentials.shapes import Kind, Presented, loggable_user

if TYPE_CHECKING:
    from chalicelib.credentials.table import CredentialTable, KeyRecord, TokenRecord

log = logging.getLogger("jobapi.auth")
MAX_CACHE_SECONDS = 60.0
CACHE_ENTRIES = 4096
R = TypeVar("R")


@dataclass(frozen=True)
class CredentialSettings:
    table_name: str = ""
    secret: bytes = b""
    cache_seconds: float = MAX_CACHE_SECONDS

    @classmethod
    def from_env(cls) -> CredentialSettings:
        cache = float(os.environ.get("JOBS_CREDENTIAL_CACHE_SECONDS", MAX_CACHE_SECONDS))
        return cls(table_name=os.environ.get("JOBS_CREDENTIALS_TABLE", ""),
                   secret=os.environ.get("JOBS_CREDENTIAL_SECRET", "").encode(),
                   cache_seconds=min(max(cache, 0.0), MAX_CACHE_SECONDS))

    @property
    def configured(self) -> bool:
        return bool(self.table_name and self.secret)


class RecentReads:
    """What the table answered for a key, for `seconds`; least recently used
    entries go first past CACHE_ENTRIES."""

    def __init__(self, seconds: float, clock: Clock) -> None:
        self._seconds = seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def recall(self, key: str, read: Callable[[], R]) -> R:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self._seconds:
                self._entries.move_to_end(key)
                value: R = entry[1]
                return value
        value = read()
        if self._seconds > 0:
            with self._lock:
                self._entries[key] = (now, value)
                self._entries.move_to_end(key)
                while len(self._entries) > CACHE_ENTRIES:
                    self._entries.popitem(last=False)
        return value


class Authenticator:
    def __init__(self, jwt: TokenVerifier, settings: CredentialSettings,
                 table: Callable[[], CredentialTable], clock: Clock) -> None:
        self._jwt = jwt
        self._settings = settings
        self._table = table  # built on the first key or token: a JWT needs no boto3
        self._clock = clock
        self._hasher = SecretHasher(settings.secret) if settings.configured else None
        self._recent = RecentReads(settings.cache_seconds, clock)

    def caller(self, presented: Presented) -> Caller:
        if presented.kind is Kind.JWT:
            return self._jwt.caller(presented.value)
        if self._hasher is None:
            raise InvalidToken("API keys and tokens are not configured for this stage")
        if presented.basic_user is not None:
            log.info("Basic credentials for user %s", loggable_user(presented.basic_user))
        if presented.kind is Kind.API_KEY:
            return self._key_caller(presented, self._hasher)
        return self._token_caller(presented, self._hasher)

    def _key_caller(self, presented: Presented, hasher: SecretHasher) -> Caller:
        key_id = presented.key_id
        record: KeyRecord | None = self._recent.recall(
            f"key#{key_id}", lambda: self._table().read_key(key_id))
        matched = hasher.matches(presented.key_secret,
                                 record.secret_hash if record else NO_RECORD_HASH)
        if record is None or not matched:
            raise InvalidToken(f"API key {key_id}: no such key, or a wrong secret")
        if record.expired(self._clock()):
            raise InvalidToken(f"API key {key_id} has expired")
        return record.caller()

    def _token_caller(self, presented: Presented, hasher: SecretHasher) -> Caller:
        token_hash = hasher.digest(presented.value)
        record: TokenRecord | None
        if presented.single_use:
            record = self._table().consume_token(token_hash, self._clock())
        else:
            record = self._recent.recall(f"token#{token_hash}",
                                         lambda: self._table().read_token(token_hash))
        if record is None or record.single_use != presented.single_use:
            raise InvalidToken("token: unknown, used, or expired")
        if record.expired(self._clock()):
            raise InvalidToken("token has expired")
        return record.caller()
