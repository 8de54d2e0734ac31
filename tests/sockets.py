"""A WebSocket connection driven through the app's own handlers (events_connect,
events_message, events_disconnect), as API Gateway's WebSocket API calls them;
what the app sends back is read from a recorder on its management API client
(a test's fixture sets `Watcher.recorder`)."""

from __future__ import annotations

import json
from typing import Any

import app as job_app
from chalicelib.wiring import services
from tests.helpers import CallRecorder

# Where the app sends to its WebSockets in the in-process tests: moto's
# management API answers there.
ENDPOINT = "https://events0001.execute-api.us-east-1.amazonaws.com/api"


def recording_sends() -> CallRecorder:
    """Records every call the app makes to the management API, for Watcher."""
    recorder = CallRecorder(services().clients.client_at("apigatewaymanagementapi", ENDPOINT))
    Watcher.recorder = recorder
    return recorder


class Watcher:
    """One WebSocket connection, driven through the app's handlers."""

    counter = 0
    recorder: CallRecorder

    def __init__(self, authorization: str | None = None, query: dict[str, str] | None = None
                 ) -> None:
        Watcher.counter += 1
        self.id = f"conn{Watcher.counter:04d}="
        self.read = 0
        headers = {"Authorization": authorization} if authorization else {}
        self.connected = job_app.events_connect(self._event("$connect", "CONNECT", headers=headers,
                                                            queryStringParameters=query), None)

    def _event(self, route: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"requestContext": {"routeKey": route, "eventType": kind,
                                   "connectionId": self.id, "domainName": "events0001",
                                   "stage": "api", "apiId": "events0001",
                                   "requestId": "r"}, "isBase64Encoded": False, **extra}

    def send(self, body: Any) -> list[dict[str, Any]]:
        text = body if isinstance(body, str) else json.dumps(body)
        job_app.events_message(self._event("$default", "MESSAGE", body=text), None)
        return self.received()

    def close(self) -> None:
        job_app.events_disconnect(self._event("$disconnect", "DISCONNECT"), None)

    def received(self) -> list[dict[str, Any]]:
        """What was sent to this connection since the last call."""
        mine = [params for name, params in self.recorder.calls
                if name == "PostToConnection" and params["ConnectionId"] == self.id]
        new, self.read = mine[self.read:], len(mine)
        return [json.loads(params["Data"]) for params in new]

    @property
    def closed(self) -> bool:
        return any(name == "DeleteConnection" and params["ConnectionId"] == self.id
                   for name, params in self.recorder.calls)
