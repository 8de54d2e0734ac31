"""Sends a message to one WebSocket connection through API Gateway's
management API (`POST /@connections/{id}`). On AWS its endpoint is the
WebSocket API's stage URL; locally, `make run`'s own port serves the same
API (local/websocket.py). Either way it is JOBS_EVENTS_ENDPOINT."""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws_errors import Boundary, error_code, translated

EVENTS = Boundary("the events API is busy ({code}); retry shortly")
GONE = ("GoneException", "410")


class ConnectionSender:
    def __init__(self, session_client: Any) -> None:
        """`session_client(service, endpoint_url)` makes a boto3 client."""
        self._make = session_client
        self._client: Any = None

    def send(self, connection_id: str, text: str) -> bool:
        """True when sent; False when the connection is gone."""
        try:
            with translated(EVENTS):
                self._management().post_to_connection(ConnectionId=connection_id,
                                                      Data=text.encode())
        except ClientError as exc:
            if error_code(exc) in GONE:
                return False
            raise
        return True

    def close(self, connection_id: str) -> None:
        with translated(EVENTS, fine=GONE):
            self._management().delete_connection(ConnectionId=connection_id)

    def _management(self) -> Any:
        if self._client is None:
            endpoint = os.environ.get("JOBS_EVENTS_ENDPOINT", "")
            if not endpoint:
                raise RuntimeError("JOBS_EVENTS_ENDPOINT is not set: no WebSocket API to send to")
            self._client = self._make("apigatewaymanagementapi", endpoint)
        return self._client
