"""Fault injection on the app's own boto3 clients, with botocore event hooks:
a call can fail as AWS answers once botocore's retries have run out (a
ClientError raised before the call is sent), or be throttled for its first
attempts and then go through (a throttling answer in place of the HTTP
exchange, which botocore's retry mode then retries)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError


def _event(client: Any, stage: str, operation: str) -> str:
    return f"{stage}.{client.meta.service_model.service_id.hyphenize()}.{operation}"


class Failing:
    def __init__(self, operation: str, times: int | None, code: str, after: int) -> None:
        self.operation, self.times, self.code = operation, times, code
        self.after = after
        self.calls = 0
        self.failed = 0
        self._lock = threading.Lock()

    def before_call(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1
            if self.calls <= self.after:
                return
            if self.times is not None and self.failed >= self.times:
                return
            self.failed += 1
        raise ClientError({"Error": {"Code": self.code, "Message": "injected fault"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, self.operation)


@contextmanager
def failing(client: Any, operation: str, times: int | None = None,
            code: str = "ThrottlingException", after: int = 0) -> Iterator[Failing]:
    """`operation` fails with `code`: `times` calls (None: every call) once
    the first `after` calls have gone through."""
    fault = Failing(operation, times, code, after)
    event = _event(client, "before-call", operation)
    client.meta.events.register(event, fault.before_call)
    try:
        yield fault
    finally:
        client.meta.events.unregister(event, fault.before_call)


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Throttled:
    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        self.sent = 0
        self._lock = threading.Lock()

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        with self._lock:
            if self.sent >= self.attempts:
                return None
            self.sent += 1
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                           "message": "Rate exceeded (injected)"}).encode()
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"},
                           _Body(body))


@contextmanager
def throttled(client: Any, operation: str, attempts: int) -> Iterator[Throttled]:
    """The first `attempts` HTTP attempts of a DynamoDB `operation` are throttled."""
    throttle = Throttled(attempts)
    event = _event(client, "before-send", operation)
    client.meta.events.register(event, throttle.before_send)
    try:
        yield throttle
    finally:
        client.meta.events.unregister(event, throttle.before_send)
