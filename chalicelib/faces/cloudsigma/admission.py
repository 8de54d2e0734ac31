"""Who may use the CloudSigma face.

Its routes (/api/2.0/...) are declared without API Gateway's authorizer:
API Gateway's refusal has the native body, and CloudSigma's clients read
CloudSigma's error list. The face checks the Authorization header itself,
with every face's check (chalicelib.faces.auth.checked_caller: the same
credentials, the same cache): HTTP Basic with an API key as the password
(what CloudSigma's library sends; the user name is logged, never trusted),
or Bearer with a JWT or an API key. A missing credential and one that is
refused are both CloudSigma's 401 (`permission`), as CloudSigma answers a
bad password.
"""

from __future__ import annotations

from chalice.app import Request

from chalicelib.caller import Caller
from chalicelib.faces.auth import Refused, checked_caller
from chalicelib.faces.cloudsigma.envelope import CloudSigmaError
from chalicelib.wiring import authenticator

NOT_AUTHENTICATED = ("authentication failed: send Basic <user:API key> or Bearer "
                     "<JWT or API key>")


def admitted(request: Request | None) -> Caller:
    if request is None:
        raise CloudSigmaError(401, "permission", NOT_AUTHENTICATED)
    try:
        return checked_caller(request, authenticator())
    except Refused:
        raise CloudSigmaError(401, "permission", NOT_AUTHENTICATED) from None
