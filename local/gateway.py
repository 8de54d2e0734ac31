"""API Gateway's own answers, locally as deployed.

API Gateway answers some requests itself, before our code runs: no
Authorization header (401), a token our authorizer refused (403), a path
with no route (403 "Missing Authentication Token"). The deployment gives
those answers our error envelope through the gateway responses in
infra/app-merge.json; Chalice's local gateway (the local server and the
Chalice test client) has fixed bodies of its own, and passes a request
with a method the path does not have on to the app (which answers 405;
API Gateway never forwards it). `install()` makes it answer as deployed,
with the responses read from that file, so what clients see locally is what
they will see on AWS.
"""

from __future__ import annotations

import json
from functools import cache, wraps
from pathlib import Path
from typing import Any

from chalice import Chalice
from chalice.local import (
    ForbiddenError,
    LocalGateway,
    LocalGatewayException,
    NotAuthorizedError,
    RouteMatcher,
)

MERGE_TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "app-merge.json"
GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"


@cache
def gateway_responses() -> dict[str, Any]:
    document = json.loads(MERGE_TEMPLATE.read_text())
    definition = document["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses: dict[str, Any] = definition[GATEWAY_RESPONSES]
    return responses


def response_type(error: LocalGatewayException) -> str:
    """Which of API Gateway's response types Chalice's local error stands for
    (once a route is known to exist: see `install`)."""
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, ForbiddenError):
        return "ACCESS_DENIED"
    # A broken authorizer (Chalice's InvalidAuthorizerError) is a 5xx of API Gateway's.
    return "AUTHORIZER_CONFIGURATION_ERROR" if error.CODE >= 500 else "DEFAULT_4XX"


def deployed_answer(kind: str, headers: dict[str, Any],
                    default_status: int) -> LocalGatewayException:
    """API Gateway's answer of this type: its own response, or the default
    4xx or 5xx one, with the $context variable our templates use filled in."""
    responses = gateway_responses()
    configured = responses.get(kind) or responses[
        "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX"]
    headers = {**headers}
    for name, value in configured.get("responseParameters", {}).items():
        headers[name.removeprefix("gatewayresponse.header.")] = value.strip("'")
    body = configured["responseTemplates"]["application/json"].replace(
        "$context.error.responseType", kind)
    answer = LocalGatewayException(headers, body.encode())
    answer.CODE = int(configured.get("statusCode", default_status))
    return answer


@cache
def route_matcher(app: Chalice) -> RouteMatcher:
    return RouteMatcher(list(app.routes))


def has_route(app: Chalice, method: str, path: str) -> bool:
    """Whether API Gateway would pass this request on: a route has the path and
    the method. OPTIONS only where a view declares CORS (API Gateway then
    answers the preflight itself); we declare none."""
    try:
        route = route_matcher(app).match_route(path).route
    except ValueError:
        return False
    views = app.routes[route]
    if method == "OPTIONS":
        return "OPTIONS" in views or any(view.cors for view in views.values())
    return method in views


def install() -> None:
    """Make Chalice's local gateway answer as the deployed API Gateway does
    (idempotent)."""
    original = getattr(LocalGateway.handle_request, "original", LocalGateway.handle_request)

    @wraps(original)
    def handle_request(self: LocalGateway, method: str, path: str, headers: dict[str, Any],
                       body: bytes | None) -> Any:
        if not has_route(self._app_object, method, path):
            raise deployed_answer("MISSING_AUTHENTICATION_TOKEN", {}, 403)
        try:
            return original(self, method, path, headers, body)
        except LocalGatewayException as error:
            raise deployed_answer(response_type(error), error.headers, error.CODE) from error

    handle_request.original = original  # type: ignore[attr-defined]
    LocalGateway.handle_request = handle_request  # type: ignore[method-assign]
