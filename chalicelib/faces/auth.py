"""Every face's authorizer. Every route but /health, the one-time download
link and the routes that take a query token needs an Authorization header:

    Bearer <jwt>                   an identity provider's token (chalicelib.authn)
    Bearer <api key>               <id>-<64 letters and digits> (chalicelib.credentials)
    Basic base64(<user>:<api key>) the user part is logged, never trusted
    Token <token>                  a short-lived token from POST /auth/tokens

It lives with the faces, not in the core, because it speaks API Gateway's
authorizer protocol through Chalice (the core never imports Chalice) and
reads a credential off the wire; what a credential proves is the core's
(chalicelib.credentials). Every face's routes share it, so it is in no
face's package.

API Gateway runs it before the route (a Lambda authorizer; `chalice local`
and the Chalice test client run it too). A credential that cannot be trusted,
of any kind, is denied with 403 and one fixed message, whatever the reason
(the reason goes to our log only); a request without the header never
reaches it: API Gateway answers 401. A route that also takes
`?auth_token=<token>` (TrueNAS's /_upload) is declared without the
authorizer and calls `request_caller`, which answers the same 401 and 403.
The verified principal reaches the route in the request context, which the
route turns back into a Caller.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice.app import AuthRequest, AuthResponse

from chalicelib.authn import InvalidToken
from chalicelib.caller import Caller, Role
from chalicelib.credentials.authenticator import Authenticator
from chalicelib.credentials.shapes import Malformed, Presented, from_header, from_query

log = logging.getLogger("jobapi.auth")
ANONYMOUS = "anonymous"
# What API Gateway answers (infra/app-merge.json's gateway responses); a
# route that checks its own credential answers the same, word for word.
UNAUTHORIZED = {"code": "unauthorized", "message": (
    "send an Authorization header: Bearer <JWT or API key>, Basic <user:API key> "
    "or Token <token>")}
REFUSED = {"code": "forbidden", "message": "the credential was refused"}


class Refused(Exception):
    """No credential (status 401), or one that was refused (403)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
        self.body = {"error": UNAUTHORIZED if status == 401 else REFUSED}


def authorize(request: AuthRequest, authenticator: Authenticator) -> AuthResponse:
    try:
        caller = authenticator.caller(from_header(request.token))
    except (Malformed, InvalidToken) as exc:
        log.warning("credential refused: %s", exc)  # the reason, never the credential
        return AuthResponse(routes=[], principal_id=ANONYMOUS)
    return AuthResponse(routes=["*"], principal_id=caller.user_id or ANONYMOUS,
                        context=context_of(caller))


def request_caller(headers: Any, query: Any, authenticator: Authenticator) -> Caller:
    """The caller of a route that takes its credential in the Authorization
    header or, failing that, as `?auth_token=`; Refused otherwise."""
    authorization = (headers or {}).get("authorization")
    auth_token = (query or {}).get("auth_token")
    if not authorization and not auth_token:
        raise Refused(401)
    try:
        presented: Presented = (from_header(authorization) if authorization
                                else from_query(str(auth_token)))
        return authenticator.caller(presented)
    except (Malformed, InvalidToken) as exc:
        log.warning("credential refused: %s", exc)
        raise Refused(403) from None


def checked_caller(request: Any, authenticator: Authenticator) -> Caller:
    """The caller of a route declared without the authorizer because its face
    refuses a credential in its own shape (ArangoDB, NetApp, CloudSigma):
    the request's context when it has one (API Gateway never sets it on such
    a route, so only our own replay of an x-arango-async request can), else
    the Authorization header, checked here and put in the context as the
    authorizer would have. Refused (401 or 403) otherwise."""
    given = request.context.get("authorizer")
    if isinstance(given, dict) and given.get("tenant_id"):
        return principal_of(given)
    caller = request_caller(request.headers, None, authenticator)
    request.context["authorizer"] = context_of(caller)
    return caller


def context_of(caller: Caller) -> dict[str, str]:
    return {"tenant_id": caller.tenant_id, "user_id": caller.user_id or "",
            "roles": ",".join(sorted(caller.roles)), "via": caller.via}


# Whether a caller may read a result unredacted (`raw_result=true`) is decided
# where every job is rendered: chalicelib.views.Viewer.


def principal_of(context: Any) -> Caller:
    """The Caller the authorizer put in the request context."""
    if not isinstance(context, dict) or not context.get("tenant_id"):
        # Only a route declared without the authorizer gets here: a wiring bug.
        raise RuntimeError("this route has no authorizer")
    roles = frozenset(Role(role) for role in str(context.get("roles", "")).split(",") if role)
    return Caller(tenant_id=str(context["tenant_id"]), user_id=context.get("user_id") or None,
                  roles=roles, via=str(context.get("via") or "jwt"))
