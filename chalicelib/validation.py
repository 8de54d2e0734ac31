"""Turns pydantic validation failures into 400s that name the offending field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.errors import BadRequest

Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: Any, what: str, error: type[BadRequest] = BadRequest) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = field_errors(exc)
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise error(f"invalid {what}: {summary}", details=problems) from None


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    # include_input=False: the rejected value may be a secret.
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "(body)",
            "message": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
