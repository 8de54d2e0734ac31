"""Bearer tokens: signed JWTs, verified by the API's authorizer.

Two ways to sign, chosen per stage:
- HS256 with a shared secret (JOBS_JWT_SECRET): the local server and the
  tests, and deployments that mint their own tokens;
- RS256 with the keys of an identity provider (JOBS_JWKS_URL, fetched and
  cached), optionally pinned to an issuer and an audience.

A token carries `sub` (the user), `tenant_id` and `roles` (a list; none
means a plain user), and must carry `exp`; `nbf` is honoured. Anything
wrong is one error, whose reason goes to our log, never to the client.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.caller import Caller, Role

if TYPE_CHECKING:
    import jwt

LEEWAY_SECONDS = 30
MAX_ID_CHARS = 200


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (for our log only)."""


@dataclass(frozen=True)
class TokenSettings:
    secret: str = ""
    jwks_url: str = ""
    issuer: str = ""
    audience: str = ""

    @classmethod
    def from_env(cls) -> TokenSettings:
        """Only the token variables: the authorizer reads no table, bucket or
        state machine, so it does not depend on their settings."""
        return cls(secret=os.environ.get("JOBS_JWT_SECRET", ""),
                   jwks_url=os.environ.get("JOBS_JWKS_URL", ""),
                   issuer=os.environ.get("JOBS_JWT_ISSUER", ""),
                   audience=os.environ.get("JOBS_JWT_AUDIENCE", ""))

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.jwks_url)


class TokenVerifier:
    def __init__(self, settings: TokenSettings) -> None:
        self._settings = settings
        self._jwks: jwt.PyJWKClient | None = None

    def principal(self, authorization: str | None) -> Caller:
        """The caller a `Bearer <jwt>` header names, or InvalidToken."""
        return self.caller(_bearer(authorization))

    def caller(self, token: str) -> Caller:
        """The caller a JWT names, or InvalidToken."""
        return _caller(self._verified_claims(token))

    def _verified_claims(self, token: str) -> dict[str, Any]:
        import jwt  # here, not at import: the API's own Lambda never verifies a token

        settings = self._settings
        if not settings.configured:
            raise InvalidToken("no token key is configured for this stage")
        options: Any = {"require": ["exp", "sub"], "verify_aud": bool(settings.audience)}
        try:
            key: Any
            if settings.jwks_url:
                key, algorithms = self._jwks_client().get_signing_key_from_jwt(token).key, \
                    ["RS256"]
            else:
                key, algorithms = settings.secret, ["HS256"]
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=algorithms, options=options, leeway=LEEWAY_SECONDS,
                audience=settings.audience or None, issuer=settings.issuer or None)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from None
        return claims

    def _jwks_client(self) -> jwt.PyJWKClient:
        import jwt

        if self._jwks is None:  # created lazily: a cold start fetches nothing
            self._jwks = jwt.PyJWKClient(self._settings.jwks_url, cache_keys=True,
                                         lifespan=3600)
        return self._jwks


def mint(secret: str, tenant_id: str, user_id: str, roles: list[str],
         seconds: int = 3600, not_before: float | None = None) -> str:
    """An HS256 token (the local server, the tests, `make token`)."""
    import jwt

    now = time.time()
    claims: dict[str, Any] = {"sub": user_id, "tenant_id": tenant_id, "roles": roles,
                              "iat": int(now), "exp": int(now + seconds)}
    if not_before is not None:
        claims["nbf"] = int(not_before)
    return jwt.encode(claims, secret, algorithm="HS256")


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header is not 'Bearer <token>'")
    return token.strip()


def _caller(claims: dict[str, Any]) -> Caller:
    tenant, user, roles = claims.get("tenant_id"), claims.get("sub"), claims.get("roles", [])
    for name, value in (("tenant_id", tenant), ("sub", user)):
        if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_CHARS or "#" in value:
            raise InvalidToken(f"the {name} claim is missing or malformed")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidToken("the roles claim is not a list of names")
    unknown = set(roles) - {role.value for role in Role}
    if unknown:
        raise InvalidToken(f"unknown roles {sorted(unknown)}")
    return Caller(tenant_id=tenant, user_id=user,  # type: ignore[arg-type]
                  roles=frozenset(Role(role) for role in roles))
