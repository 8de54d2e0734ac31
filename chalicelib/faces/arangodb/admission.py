"""Who may use the ArangoDB face, and in which database.

Its routes (/_api/... and every route of the API again under
/_db/<database>/) are declared without API Gateway's authorizer: API
Gateway's refusal has the native body, and python-arango reads ArangoDB's.
The face checks the Authorization header itself, with every face's check
(chalicelib.faces.auth.request_caller: the same credentials, the same
cache), and refuses a missing or untrusted one with ArangoDB's 401, as arangod
does for both. The caller it finds goes into the request's context, where
API Gateway's authorizer would have put it, for the route behind.

A request that already carries a caller in its context is not checked again
(chalicelib.faces.auth.checked_caller says why that is safe).
"""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.caller import Caller
from chalicelib.faces.arangodb.envelope import ArangoError, error_response
from chalicelib.faces.arangodb.job_params import (
    SYSTEM_DATABASE,
    check_database,
    unknown_database,
)
from chalicelib.faces.auth import Refused, checked_caller
from chalicelib.wiring import authenticator

NOT_AUTHORIZED = "not authorized to execute this request"  # arangod's words


def admitted(request: Request | None, database: str | None) -> Caller:
    """The caller, checked here unless the context has it already, and the
    database of `/_db/<name>/` checked against its scope."""
    caller = _caller(request)
    check_database(database, caller)
    return caller


def refusal(request: Request | None, database: str, route_checks_its_own: bool
            ) -> Response | None:
    """For a route of the API served under `/_db/<database>/`: None to go on,
    else ArangoDB's answer. A route that checks its own credential (the
    download link, /_upload, /health) is served under `_system` alone: its
    caller, and so its tenant's name, is unknown until the route has run."""
    try:
        if route_checks_its_own:
            if database != SYSTEM_DATABASE:
                raise unknown_database()
        else:
            admitted(request, database)
    except ArangoError as error:
        return error_response(error)
    return None


def _caller(request: Request | None) -> Caller:
    if request is None:
        raise ArangoError(401, 401, NOT_AUTHORIZED)
    try:
        return checked_caller(request, authenticator())
    except Refused:
        raise ArangoError(401, 401, NOT_AUTHORIZED) from None
