"""Builds the boto3 clients, lazily and once per process.

Clients are never created at import: that would slow every cold start and
escape moto in tests. Retries use botocore's standard mode (exponential
backoff with jitter on throttling and transient errors).
"""

from __future__ import annotations

import threading
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
                session = self._session or boto3.session.Session()
                self._clients[service] = session.client(
                    service, config=SERVICE_CONFIG.get(service, RETRY_CONFIG))
            return self._clients[service]

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def stepfunctions(self) -> Any:
        return self.client("stepfunctions")

    @property
    def s3(self) -> Any:
        return self.client("s3")
