"""What a client presented, told apart by its shape alone (no read).

    Bearer <jwt>                      three dot-separated base64url parts
    Bearer <api key>                  <decimal id>-<64 letters and digits> (TrueNAS's form)
    Basic base64(<user>:<api key>)    the user part is logged, never trusted
    Token <token>, ?auth_token=<t>    a short-lived token (also accepted as Bearer)

A token names whether it is single-use (`jts_`) or not (`jtm_`) so that the
authorizer knows which one call checks it (a conditional delete or a read);
changing the prefix changes the token, whose hash is its key.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
from dataclasses import dataclass
from enum import StrEnum

KEY_SECRET_CHARS = 64
KEY_ID_LOW, KEY_ID_HIGH = 10**15, 9 * 10**15  # 16 digits, below 2**53 (exact in JSON numbers)
TOKEN_RANDOM_CHARS = 48
SINGLE_USE, MULTI_USE = "jts_", "jtm_"
ALPHANUMERIC = string.ascii_letters + string.digits
MAX_HEADER_CHARS = 8192
MAX_BASIC_USER_CHARS = 64

API_KEY = re.compile(r"(?P<id>[1-9][0-9]{0,18})-(?P<secret>[A-Za-z0-9]{64})")
TOKEN = re.compile(r"(?:jts_|jtm_)[A-Za-z0-9]{48}")
JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class Kind(StrEnum):
    JWT = "jwt"
    API_KEY = "api_key"
    TOKEN = "token"


class Malformed(Exception):
    """Nothing we issue has this shape; the message says why (our log only)."""


@dataclass(frozen=True)
class Presented:
    kind: Kind
    value: str  # the JWT, the whole key, or the token
    basic_user: str | None = None  # Basic's user part: for the log, never trusted

    @property
    def key_id(self) -> int:
        match = API_KEY.fullmatch(self.value)
        assert match is not None and self.kind is Kind.API_KEY
        return int(match["id"])

    @property
    def key_secret(self) -> str:
        return self.value.rpartition("-")[2]

    @property
    def single_use(self) -> bool:
        return self.value.startswith(SINGLE_USE)


def from_header(authorization: str | None) -> Presented:
    """The credential in an Authorization header, or Malformed."""
    header = (authorization or "").strip()
    if not header:
        raise Malformed("no Authorization header")
    if len(header) > MAX_HEADER_CHARS:
        raise Malformed("the Authorization header is too long")
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer":
        return _bearer(value)
    if scheme == "basic":
        return _basic(value)
    if scheme == "token":
        return _token(value)
    raise Malformed("the Authorization scheme is not Bearer, Basic or Token")


def from_query(auth_token: str) -> Presented:
    """A `?auth_token=` value: only a short-lived token may travel in a URL."""
    return _token(auth_token.strip())


def _bearer(value: str) -> Presented:
    if API_KEY.fullmatch(value):
        return Presented(Kind.API_KEY, value)
    if TOKEN.fullmatch(value):
        return Presented(Kind.TOKEN, value)
    if JWT.fullmatch(value):
        return Presented(Kind.JWT, value)
    raise Malformed("the bearer value is neither a JWT, an API key nor a token")


def _basic(value: str) -> Presented:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise Malformed("the Basic credentials are not base64 of UTF-8 text") from None
    user, colon, password = decoded.partition(":")
    if not colon:
        raise Malformed("the Basic credentials have no ':'")
    if API_KEY.fullmatch(password):
        return Presented(Kind.API_KEY, password, basic_user=user)
    if TOKEN.fullmatch(password):
        return Presented(Kind.TOKEN, password, basic_user=user)
    raise Malformed("the Basic password is not an API key or a token")


def _token(value: str) -> Presented:
    if not TOKEN.fullmatch(value):
        raise Malformed("the token is not of the shape this service issues")
    return Presented(Kind.TOKEN, value)


def loggable_user(user: str | None) -> str:
    """Basic's user part as the log may show it: a client that swapped the
    fields would put its key there, so anything that could be one is hidden."""
    if user is None:
        return "-"
    if len(user) > MAX_BASIC_USER_CHARS or API_KEY.search(user) or TOKEN.search(user):
        return "[hidden]"
    return repr(user)


def new_key_id() -> int:
    return KEY_ID_LOW + secrets.randbelow(KEY_ID_HIGH - KEY_ID_LOW)


def new_key_secret() -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(KEY_SECRET_CHARS))


def new_token(single_use: bool) -> str:
    random_part = "".join(secrets.choice(ALPHANUMERIC) for _ in range(TOKEN_RANDOM_CHARS))
    return (SINGLE_USE if single_use else MULTI_USE) + random_part
