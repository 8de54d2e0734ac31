"""The method registry: how the team that deploys this service adds job methods.

    from pydantic import BaseModel
    from chalicelib.registry import job_method

    class CloneParams(BaseModel):
        drive_uuid: str

    @job_method("drive.clone", params=CloneParams, abortable=True)
    def clone(ctx, params: CloneParams):
        ctx.set_progress(10, "copying")
        return {"uuid": "..."}

Params are validated against the model when the job is submitted, so a bad
request is a 400 before any job exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from chalicelib.errors import InvalidParams, UnknownMethod
from chalicelib.redaction import secret_paths_in
from chalicelib.settings import MAX_RETENTION_SECONDS
from chalicelib.validation import parse

if TYPE_CHECKING:
    from chalicelib.context import Children, JobContext

Handler = Callable[["JobContext", Any], Any]
# Called once a parent's sub-jobs are done; its return value is the parent's result.
Aggregate = Callable[["JobContext", Any, "Children"], Any]
LockKey = Callable[[Any], str]


@dataclass(frozen=True)
class Retry:
    """Re-run the handler, in the same invocation, on these transient errors."""

    attempts: int = 3
    on: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    delay: float = 1.0
    backoff: float = 2.0

    def pause_before(self, attempt: int) -> float:
        return self.delay * self.backoff ** (attempt - 1)


@dataclass(frozen=True)
class JobMethod:
    name: str
    handler: Handler
    params_model: type[BaseModel]
    abortable: bool = False
    description: str = ""
    lock: LockKey | None = None
    retry: Retry | None = None
    retention_seconds: int | None = None
    # Jobs that may outlive Express's five minutes run on Standard executions.
    long_running: bool = False
    # A handler that calls ctx.spawn runs on Standard too: only Standard
    # executions can wait for a task token.
    spawns_children: bool = False
    aggregate: Aggregate | None = None
    on_child_failure: str = "fail"
    children_timeout: int | None = None
    # Files: a method that writes one for download (ctx.output()), or reads an
    # uploaded one (ctx.upload); both run on Standard, which can wait for the file.
    writes_file: bool = False
    reads_file: bool = False
    download_window: int | None = None
    # Made by the service's faces only (core.http_request carries a caller's
    # roles): no client submits it, by name or as a sub-job.
    internal: bool = False

    def __post_init__(self) -> None:
        if self.retention_seconds is not None and \
                not 0 < self.retention_seconds <= MAX_RETENTION_SECONDS:
            raise ValueError(f"{self.name}: retention_seconds must be 1 to "
                             f"{MAX_RETENTION_SECONDS} (7 days: the files bucket's lifecycle)")

    def parse_params(self, params: dict[str, Any]) -> BaseModel:
        return parse(self.params_model, params, f"params for {self.name}", InvalidParams)

    def params_by_position(self, values: list[Any]) -> dict[str, Any]:
        """Params as TrueNAS clients send them, a list: one object maps by
        name, a list of values onto the params model's fields in order."""
        if len(values) == 1 and isinstance(values[0], dict):
            return values[0]
        names = list(self.params_model.model_fields)
        if len(values) > len(names):
            problem = f"Too many arguments (expected {len(names)}, found {len(values)})"
            raise InvalidParams(f"invalid params for {self.name}: {problem}",
                                details=[{"field": "", "message": problem}])
        return dict(zip(names, values, strict=False))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "abortable": self.abortable,
            "locked": self.lock is not None,
            "retries": self.retry.attempts if self.retry else 0,
            "long_running": self.long_running,
            "spawns_children": self.spawns_children,
            "writes_file": self.writes_file,
            "reads_file": self.reads_file,
            "params_schema": self.params_model.model_json_schema(),
        }


class MethodRegistry:
    def __init__(self) -> None:
        self._methods: dict[str, JobMethod] = {}

    def register(self, method: JobMethod) -> JobMethod:
        if method.name in self._methods:
            raise ValueError(f"job method {method.name!r} is registered twice")
        self._methods[method.name] = method
        return method

    def method(
        self,
        name: str,
        *,
        params: type[BaseModel],
        abortable: bool = False,
        description: str | None = None,
        lock: LockKey | None = None,
        retry: Retry | None = None,
        retention_seconds: int | None = None,
        long_running: bool = False,
        spawns_children: bool = False,
        aggregate: Aggregate | None = None,
        on_child_failure: str = "fail",
        children_timeout: int | None = None,
        writes_file: bool = False,
        reads_file: bool = False,
        download_window: int | None = None,
        internal: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a handler. `lock` maps params to a key: a submit while a job
        with the same key is unfinished joins that job (TrueNAS).

        A handler that calls `ctx.spawn` must say `spawns_children=True`;
        `aggregate(ctx, params, children)` then makes the parent's result once
        every child has finished, and `on_child_failure` ("fail" or
        "continue") is the default policy when a request does not set one.

        `writes_file=True`: the handler writes a file with `ctx.output()`, which
        its submitter downloads once; `download_window` (seconds, default the
        stage's 60) is how long the file waits for that download.
        `reads_file=True`: the handler reads the submitter's upload (`ctx.upload`).
        `internal=True`: only the service's faces make such jobs (`submittable`)."""

        def decorate(handler: Handler) -> Handler:
            doc = description if description is not None else (handler.__doc__ or "")
            self.register(JobMethod(
                name, handler, params, abortable, " ".join(doc.split()),
                lock=lock, retry=retry, retention_seconds=retention_seconds,
                long_running=long_running, spawns_children=spawns_children or bool(aggregate),
                aggregate=aggregate, on_child_failure=on_child_failure,
                children_timeout=children_timeout, writes_file=writes_file,
                reads_file=reads_file, download_window=download_window, internal=internal,
            ))
            return handler

        return decorate

    def get(self, name: str) -> JobMethod:
        try:
            return self._methods[name]
        except KeyError:
            known = self.names()
            # The name sent is not repeated: a rejected value is never echoed.
            raise UnknownMethod(
                f"unknown method; known methods: {', '.join(known)}",
                details={"known_methods": known},
            ) from None

    def submittable(self, name: str) -> JobMethod:
        """A method a client may submit: an internal one is unknown to them."""
        method = self.find(name)
        return self.get("" if method is None or method.internal else name)

    def find(self, name: str) -> JobMethod | None:
        return self._methods.get(name)

    def secret_paths_of(self, method: JobMethod, arguments: dict[str, Any]) -> list[str]:
        """A job's secret paths: its method's, and those of the methods whose
        params it carries (a field marked `redaction.ParamsOf`)."""
        return secret_paths_in(method.params_model, arguments, self._params_model_of)

    def _params_model_of(self, name: str) -> type[BaseModel] | None:
        method = self.find(name)
        return method.params_model if method is not None else None

    def names(self) -> list[str]:
        return sorted(name for name, method in self._methods.items() if not method.internal)

    def public(self) -> list[JobMethod]:
        """The methods clients may submit, by name."""
        return [self._methods[name] for name in self.names()]

    def describe(self) -> list[dict[str, Any]]:
        return [method.describe() for method in self.public()]


registry = MethodRegistry()
job_method = registry.method
