"""API Gateway's own answers, locally as deployed.

API Gateway answers some requests itself, before our code runs: no
Authorization header (401), a token our authorizer refused (403), a path
with no route (403 "Missing Authentication Token"). The deployment gives
those answers our error envelope through the gateway responses in
infra/app-merge.json; Chalice's local gateway (the local server and the
Chalice test client) has fixed bodies of its own, and passes a request
with a method the path does not have on to the app (which answers 405;
API Gateway never forwards it). `install(app)` makes it answer as deployed,
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


def response_type(error: LocalGatewayException) -> str | None:
    """Which of API Gateway's response types Chalice's local error stands for
    (once a route is known to exist: see `install`)."""
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, ForbiddenError):
        return "ACCESS_DENIED"
    return None


def deployed_answer(kind: str, headers: dict[str, Any]) -> LocalGatewayException:
    configured = gateway_responses()[kind]
    headers = {**headers}
    for name, value in configured.get("responseParameters", {}).items():
        headers[name.removeprefix("gatewayresponse.header.")] = value.strip("'")
    answer = LocalGatewayException(headers, configured["responseTemplates"]
                                   ["application/json"].encode())
    answer.CODE = int(configured["statusCode"])
    return answer


def has_route(app: Chalice, matcher: RouteMatcher, method: str, path: str) -> bool:
    try:
        route = matcher.match_route(path).route
    except ValueError:
        return False
    return method == "OPTIONS" or method in app.routes[route]


def install(app: Chalice) -> None:
    """Make Chalice's local gateway give the deployed answers for `app`
    (idempotent)."""
    original = getattr(LocalGateway.handle_request, "original", LocalGateway.handle_request)
    matcher = RouteMatcher(list(app.routes))

    @wraps(original)
    def handle_request(self: LocalGateway, method: str, path: str, headers: dict[str, Any],
                       body: bytes | None) -> Any:
        if not has_route(app, matcher, method, path):
            raise deployed_answer("MISSING_AUTHENTICATION_TOKEN", {})
        try:
            return original(self, method, path, headers, body)
        except LocalGatewayException as error:
            kind = response_type(error)
            if kind is None:
                raise
            raise deployed_answer(kind, error.headers) from error

    handle_request.original = original  # type: ignore[attr-defined]
    LocalGateway.handle_request = handle_request  # type: ignore[method-assign]
