"""Every face's authorizer: every route but /health and the one-time download
link needs `Authorization: Bearer <jwt>` (chalicelib.authn verifies it).

It lives with the faces, not in the core, because it speaks API Gateway's
authorizer protocol through Chalice (the core never imports Chalice) and
reads a credential off the wire; what a credential proves is the core's
(chalicelib.authn, chalicelib.caller). Every face's routes share it, so it
is in no face's package.

API Gateway runs it before the route (a Lambda authorizer; `chalice local`
and the Chalice test client run it too). A token that cannot be trusted is
denied with 403 and API Gateway's fixed message, whatever the reason (the
reason goes to our log only); a request without the header never reaches
it: API Gateway answers 401. The verified principal reaches the route in
the request context, which the route turns back into a Caller.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice.app import AuthRequest, AuthResponse

from chalicelib.authn import InvalidToken, TokenVerifier
from chalicelib.caller import Caller, Role

log = logging.getLogger("jobapi.auth")
ANONYMOUS = "anonymous"


def authorize(request: AuthRequest, verifier: TokenVerifier) -> AuthResponse:
    try:
        caller = verifier.principal(request.token)
    except InvalidToken as exc:
        log.warning("token refused: %s", exc)  # the reason, never the token
        return AuthResponse(routes=[], principal_id=ANONYMOUS)
    return AuthResponse(routes=["*"], principal_id=caller.user_id or ANONYMOUS, context={
        "tenant_id": caller.tenant_id, "user_id": caller.user_id or "",
        "roles": ",".join(sorted(caller.roles))})


# Whether a caller may read a result unredacted (`raw_result=true`) is decided
# where every job is rendered: chalicelib.views.Viewer.


def principal_of(context: Any) -> Caller:
    """The Caller the authorizer put in the request context."""
    if not isinstance(context, dict) or not context.get("tenant_id"):
        # Only a route declared without the authorizer gets here: a wiring bug.
        raise RuntimeError("this route has no authorizer")
    roles = frozenset(Role(role) for role in str(context.get("roles", "")).split(",") if role)
    return Caller(tenant_id=str(context["tenant_id"]), user_id=context.get("user_id") or None,
                  roles=roles)
