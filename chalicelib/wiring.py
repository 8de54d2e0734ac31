"""Builds the service objects from the environment, lazily and once per process.

Routes and Lambda entry points call `services()`; tests call `reset()` when
they switch to a fresh moto account.

Each service's module is imported when the service is first built, not
here: the five Lambda functions share this file, and each loads only what it
uses (the authorizer needs neither boto3 nor pydantic).
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.clock import system_clock
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.authn import TokenVerifier
    from chalicelib.aws import AwsClients
    from chalicelib.blobs import Blobs
    from chalicelib.downloads import Downloads
    from chalicelib.fanout import FanOut
    from chalicelib.listing import JobLister
    from chalicelib.registry import MethodRegistry
    from chalicelib.removal import Removal
    from chalicelib.service import JobService
    from chalicelib.store import JobStore
    from chalicelib.sweeper import Sweeper
    from chalicelib.uploads import Uploads
    from chalicelib.worker import Worker
    from chalicelib.workflow import Workflow


class Services:
    def __init__(self, settings: Settings, clients: AwsClients | None = None) -> None:
        self.settings = settings
        if clients is not None:
            self.clients = clients

    @cached_property
    def clients(self) -> AwsClients:
        from chalicelib.aws import AwsClients

        return AwsClients()

    @cached_property
    def registry(self) -> MethodRegistry:
        from chalicelib import methods  # noqa: F401  (registers the job methods)
        from chalicelib.registry import registry

        return registry

    @cached_property
    def verifier(self) -> TokenVerifier:
        from chalicelib.authn import TokenSettings, TokenVerifier

        settings = self.settings
        return TokenVerifier(TokenSettings(settings.jwt_secret, settings.jwks_url,
                                           settings.jwt_issuer, settings.jwt_audience))

    @cached_property
    def store(self) -> JobStore:
        from chalicelib.store import JobStore

        return JobStore(self.clients.deferred("dynamodb"), self.settings.table_name)

    @cached_property
    def workflow(self) -> Workflow:
        from chalicelib.workflow import Workflow

        return Workflow(self.clients.deferred("stepfunctions"), self.settings.state_machine_arn,
                        self.settings.express_state_machine_arn)

    @cached_property
    def blobs(self) -> Blobs:
        from chalicelib.blobs import Blobs

        return Blobs(self.clients.deferred("s3"), self.settings.bucket_name)

    @cached_property
    def fanout(self) -> FanOut:
        from chalicelib.fanout import FanOut

        return FanOut(self.store, self.workflow, self.blobs, self.registry, self.settings,
                      system_clock)

    @cached_property
    def downloads(self) -> Downloads:
        from chalicelib.downloads import Downloads

        return Downloads(self.store, self.workflow, self.blobs, self.settings, system_clock)

    @cached_property
    def uploads(self) -> Uploads:
        from chalicelib.uploads import Uploads

        return Uploads(self.store, self.workflow, self.blobs, self.settings)

    @cached_property
    def jobs(self) -> JobService:
        from chalicelib.service import JobService

        return JobService(self.store, self.workflow, self.blobs, self.registry, self.settings,
                          system_clock, self.fanout, self.downloads, self.uploads)

    @cached_property
    def removal(self) -> Removal:
        from chalicelib.removal import Removal

        return Removal(self.store, self.blobs, self.jobs, system_clock)

    @cached_property
    def lister(self) -> JobLister:
        from chalicelib.listing import JobLister
        from chalicelib.query.tokens import TokenSigner

        return JobLister(self.store, TokenSigner(self.settings.token_secret), system_clock)

    @cached_property
    def worker(self) -> Worker:
        from chalicelib.worker import Worker

        return Worker(self.store, self.blobs, self.registry, self.settings, system_clock,
                      self.fanout, self.downloads, self.uploads)

    @cached_property
    def sweeper(self) -> Sweeper:
        from chalicelib.sweeper import Sweeper

        return Sweeper(self.store, self.workflow, self.fanout, self.settings, system_clock,
                       self.worker)


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    global _services
    with _lock:
        if _services is None:
            _services = Services(Settings.from_env())
        return _services


def reset() -> None:
    global _services
    with _lock:
        _services = None
