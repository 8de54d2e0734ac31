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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from chalicelib.errors import InvalidParams, UnknownMethod
from chalicelib.validation import parse

if TYPE_CHECKING:
    from chalicelib.context import JobContext

Handler = Callable[["JobContext", Any], Any]


@dataclass(frozen=True)
class JobMethod:
    name: str
    handler: Handler
    params_model: type[BaseModel]
    abortable: bool = False
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def parse_params(self, params: dict[str, Any]) -> BaseModel:
        return parse(self.params_model, params, f"params for {self.name}", InvalidParams)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "abortable": self.abortable,
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
        **options: Any,
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            doc = description if description is not None else (handler.__doc__ or "")
            self.register(
                JobMethod(name, handler, params, abortable, " ".join(doc.split()), options)
            )
            return handler

        return decorate

    def get(self, name: str) -> JobMethod:
        try:
            return self._methods[name]
        except KeyError:
            known = self.names()
            raise UnknownMethod(
                f"unknown method {name!r}; known methods: {', '.join(known)}",
                details={"known_methods": known},
            ) from None

    def names(self) -> list[str]:
        return sorted(self._methods)

    def describe(self) -> list[dict[str, Any]]:
        return [self._methods[name].describe() for name in self.names()]


registry = MethodRegistry()
job_method = registry.method
