"""Builds the service objects from the environment, lazily and once per process.

Routes and Lambda entry points call `services()`; tests call `reset()` when
they switch to a fresh moto account.

Each service's module is imported when the service is first built, not
here: the five Lambda functions share this file, and each loads only what it
uses (the authorizer needs neither boto3 nor pydantic).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from chalicelib.clock import system_clock
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.authn import TokenVerifier
    from chalicelib.aws import AwsClients
    from chalicelib.basics import Basics
    from chalicelib.blobs import Blobs
    from chalicelib.creation import JobFactory
    from chalicelib.credentials.authenticator import Authenticator
    from chalicelib.credentials.keys import ApiKeys
    from chalicelib.credentials.table import CredentialTable
    from chalicelib.credentials.tokens import AuthTokens
    from chalicelib.downloads import Downloads
    from chalicelib.events.delivery import EventDelivery
    from chalicelib.events.sender import ConnectionSender
    from chalicelib.events.subscribing import Subscribing
    from chalicelib.events.watchers import WatcherTable
    from chalicelib.fanout import FanOut
    from chalicelib.listing import JobLister
    from chalicelib.numbering import JobNumbers
    from chalicelib.registry import MethodRegistry
    from chalicelib.removal import Removal
    from chalicelib.results import Results
    from chalicelib.service import JobService
    from chalicelib.store import JobStore
    from chalicelib.sweeper import Sweeper
    from chalicelib.transfers import Transfers
    from chalicelib.uploads import Uploads
    from chalicelib.worker import Worker
    from chalicelib.workflow import Workflow


T = TypeVar("T")
# Reentrant: building one service builds those it needs (jobs -> fanout -> store).
_build_lock = threading.RLock()


class built_once(Generic[T]):  # lower case: used like functools.cached_property
    """functools.cached_property with a lock on every Python (3.12 dropped
    its lock): threads that first ask for a service together get one
    instance, so event hooks on `services().clients` see every call."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self._name = build.__name__
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, instance: None, owner: type) -> built_once[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> built_once[T] | T:
        if instance is None:
            return self
        built = instance.__dict__
        if self._name not in built:  # afterwards the instance's own attribute answers
            with _build_lock:
                if self._name not in built:
                    built[self._name] = self._build(instance)
        value: T = built[self._name]
        return value


class Services:
    def __init__(self, settings: Settings, clients: AwsClients | None = None) -> None:
        self.settings = settings
        if clients is not None:
            self.clients = clients

    @built_once
    def clients(self) -> AwsClients:
        from chalicelib.aws import AwsClients

        return AwsClients()

    @built_once
    def registry(self) -> MethodRegistry:
        from chalicelib import methods  # noqa: F401  (registers the job methods)
        from chalicelib.registry import registry

        return registry

    @built_once
    def store(self) -> JobStore:
        from chalicelib.store import JobStore

        return JobStore(self.clients.deferred("dynamodb"), self.settings.table_name)

    @built_once
    def workflow(self) -> Workflow:
        from chalicelib.workflow import Workflow

        return Workflow(self.clients.deferred("stepfunctions"), self.settings.state_machine_arn,
                        self.settings.express_state_machine_arn)

    @built_once
    def blobs(self) -> Blobs:
        from chalicelib.blobs import Blobs

        return Blobs(self.clients.deferred("s3"), self.settings.bucket_name)

    @built_once
    def basics(self) -> Basics:
        from chalicelib.basics import Basics

        return Basics(self.registry, self.settings, system_clock)

    @built_once
    def results(self) -> Results:
        from chalicelib.results import Results

        return Results(self.blobs, self.settings)

    @built_once
    def factory(self) -> JobFactory:
        from chalicelib.creation import JobFactory

        return JobFactory(self.workflow, self.basics, self.numbers)

    @built_once
    def numbers(self) -> JobNumbers:
        from chalicelib.numbering import JobNumbers

        return JobNumbers(self.store)

    @built_once
    def fanout(self) -> FanOut:
        from chalicelib.fanout import FanOut

        return FanOut(self.store, self.factory, self.workflow, self.results, self.basics)

    @built_once
    def downloads(self) -> Downloads:
        from chalicelib.downloads import Downloads

        return Downloads(self.store, self.workflow, self.blobs, self.settings, system_clock)

    @built_once
    def uploads(self) -> Uploads:
        from chalicelib.uploads import Uploads

        return Uploads(self.store, self.workflow, self.blobs, self.settings)

    @built_once
    def transfers(self) -> Transfers:
        from chalicelib.transfers import Transfers

        return Transfers(self.downloads, self.uploads)

    @built_once
    def jobs(self) -> JobService:
        from chalicelib.service import JobService

        return JobService(self.store, self.factory, self.results, self.fanout, self.transfers,
                          self.blobs, self.basics)

    @built_once
    def removal(self) -> Removal:
        from chalicelib.removal import Removal

        return Removal(self.store, self.blobs, self.jobs, system_clock)

    @built_once
    def lister(self) -> JobLister:
        from chalicelib.listing import JobLister
        from chalicelib.query.tokens import TokenSigner

        return JobLister(self.store, TokenSigner(self.settings.token_secret), system_clock)

    @built_once
    def credential_table(self) -> CredentialTable:
        from chalicelib.credentials.authenticator import CredentialSettings
        from chalicelib.credentials.table import CredentialTable

        return CredentialTable(self.clients.deferred("dynamodb"),
                               CredentialSettings.from_env().table_name)

    @built_once
    def api_keys(self) -> ApiKeys:
        from chalicelib.credentials.keys import ApiKeys
        from chalicelib.query.tokens import TokenSigner

        return ApiKeys(self.credential_table, _hasher(), TokenSigner(self.settings.token_secret),
                       system_clock)

    @built_once
    def auth_tokens(self) -> AuthTokens:
        from chalicelib.credentials.tokens import AuthTokens

        return AuthTokens(self.credential_table, _hasher(), system_clock)

    @built_once
    def watcher_table(self) -> WatcherTable:
        import os

        from chalicelib.events.watchers import WatcherTable

        return WatcherTable(self.clients.deferred("dynamodb"),
                            os.environ.get("JOBS_WATCHERS_TABLE", ""))

    @built_once
    def sender(self) -> ConnectionSender:
        from chalicelib.events.sender import ConnectionSender

        return ConnectionSender(self.clients.client_at)

    @built_once
    def subscribing(self) -> Subscribing:
        from chalicelib.events.subscribing import Subscribing

        return Subscribing(self.watcher_table, self.lister, system_clock)

    @built_once
    def events(self) -> EventDelivery:
        from chalicelib.events.delivery import EventDelivery

        return EventDelivery(self.watcher_table, self.sender)

    @built_once
    def worker(self) -> Worker:
        from chalicelib.worker import Worker

        return Worker(self.store, self.results, self.fanout, self.transfers, self.blobs,
                      self.basics)

    @built_once
    def sweeper(self) -> Sweeper:
        from chalicelib.sweeper import Sweeper

        return Sweeper(self.store, self.workflow, self.factory, self.fanout, self.settings,
                       system_clock, self.worker)


_lock = threading.Lock()
_services: Services | None = None
_verifier: TokenVerifier | None = None
_authenticator: Authenticator | None = None


def verifier() -> TokenVerifier:
    """The authorizer's token verifier: built from the token settings alone,
    so the authorizer function needs no other configuration."""
    from chalicelib.authn import TokenSettings, TokenVerifier

    global _verifier
    with _lock:
        if _verifier is None:
            _verifier = TokenVerifier(TokenSettings.from_env())
        return _verifier


def authenticator() -> Authenticator:
    """Every face's credential check (JWT, API key, token). A JWT needs
    nothing but the token settings; the first key or token builds the
    credentials table on services()' clients."""
    from chalicelib.credentials.authenticator import Authenticator, CredentialSettings

    global _authenticator
    jwt = verifier()
    with _lock:
        if _authenticator is None:
            _authenticator = Authenticator(jwt, CredentialSettings.from_env(),
                                           lambda: services().credential_table, system_clock)
        return _authenticator


def _hasher() -> Any:
    from chalicelib.credentials.authenticator import CredentialSettings
    from chalicelib.credentials.hashing import SecretHasher

    settings = CredentialSettings.from_env()
    if not settings.configured:
        from chalicelib.errors import JobApiError

        raise JobApiError("API keys and tokens are not configured for this stage "
                          "(JOBS_CREDENTIALS_TABLE, JOBS_CREDENTIAL_SECRET)")
    return SecretHasher(settings.secret)


def services() -> Services:
    global _services
    with _lock:
        if _services is None:
            _services = Services(Settings.from_env())
        return _services


def reset() -> None:
    global _services, _verifier, _authenticator
    with _lock:
        _services = _verifier = _authenticator = None
