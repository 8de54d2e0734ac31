"""Builds the boto3 clients, lazily and once per process.

Clients are never created at import: that would slow every cold start and
escape moto in tests. Retries use botocore's standard mode (exponential
backoff with jitter on throttling and transient errors).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
)
# Presigned URLs with SigV4: an expiry of seconds, and signed headers (the
# upload's size, checksum and If-None-Match); SigV2 has neither.
SERVICE_CONFIG = {"s3": RETRY_CONFIG.merge(Config(signature_version="s3v4"))}


class AwsClients:
    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                # One session for all: its loader caches what every client reads
                # (the list of services, endpoint rules), so later clients cost less.
                if self._session is None:
                    self._session = boto3.session.Session()
                self._clients[service] = self._session.client(
                    service, config=SERVICE_CONFIG.get(service, RETRY_CONFIG))
            return self._clients[service]

    def client_at(self, service: str, endpoint_url: str) -> Any:
        """A client of `service` at an endpoint of its own (API Gateway's
        management API lives at each WebSocket API's URL), made once."""
        name = f"{service}@{endpoint_url}"
        with self._lock:
            if name not in self._clients:
                if self._session is None:
                    self._session = boto3.session.Session()
                self._clients[name] = self._session.client(
                    service, endpoint_url=endpoint_url, config=RETRY_CONFIG)
            return self._clients[name]

    @property
    def created(self) -> list[str]:
        """The services whose client exists so far."""
        with self._lock:
            return sorted(self._clients)

    def deferred(self, service: str) -> DeferredClient:
        return DeferredClient(lambda: self.client(service))

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def stepfunctions(self) -> Any:
        return self.client("stepfunctions")

    @property
    def s3(self) -> Any:
        return self.client("s3")


class DeferredClient:
    """Stands for a client until it is first used. Making one costs tens of
    milliseconds (botocore loads its service's model), and a cold function
    should pay only for the clients its first request uses: a first
    GET /jobs/{id} needs DynamoDB, not S3 or Step Functions."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()  # the same client however many threads race here
        return getattr(self._client, name)
