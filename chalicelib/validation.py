"""Turns pydantic validation failures into 400s that name the offending field.

A rejected value is never echoed back: not the input (it may be a secret, or
hold a NUL or a right-to-left override), and not a key the client made up,
which pydantic puts in an error's location (an unknown field, a dict key).
A location names only the model's own field names; any other key is shown
as a placeholder."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from chalicelib.errors import BadRequest

Model = TypeVar("Model", bound=BaseModel)

UNKNOWN_FIELD = "<unknown field>"
KEY = "<key>"
# pydantic's messages that quote part of the input, said without it (from
# the error's context, only what the model expects).
QUOTING_MESSAGES = {
    "union_tag_invalid": "Input tag does not match any of the expected tags: {expected_tags}",
    "no_such_attribute": "Object has no such attribute",
    "json_invalid": "Invalid JSON",
    "uuid_parsing": "Input should be a valid UUID",
    "url_parsing": "Input should be a valid URL",
    "url_syntax_violation": "Input violated strict URL syntax rules",
    "datetime_object_invalid": "Invalid datetime object",
    "bytes_invalid_encoding": "Data should be valid text",
    "timezone_offset": "Timezone offset required",
}


def parse(model: type[Model], data: Any, what: str, error: type[BadRequest] = BadRequest) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = field_errors(exc, model)
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise error(f"invalid {what}: {summary}", details=problems) from None


def field_errors(exc: ValidationError,
                 model: type[BaseModel] | None = None) -> list[dict[str, Any]]:
    """Each error's field and message. With the `model` validated, a location
    keeps only its field names (a handler's own spawn passes none: its keys
    are the handler's)."""
    names = field_names(model) if model is not None else None
    return [
        {
            "field": _location(error["loc"], error["type"], names) or "(body)",
            "message": _message(error["type"], error["msg"], error.get("ctx") or {}),
            "type": error["type"],
        }
        # include_input=False: the rejected value may be a secret.
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _message(kind: str, message: str, context: dict[str, Any]) -> str:
    template = QUOTING_MESSAGES.get(kind)
    if template is None:
        return message
    try:
        return template.format(**context)
    except (KeyError, IndexError, ValueError):
        return template.partition(":")[0]


def _location(loc: tuple[int | str, ...], kind: str, names: frozenset[str] | None) -> str:
    parts = []
    for n, part in enumerate(loc):
        if isinstance(part, str) and names is not None and part not in names:
            part = UNKNOWN_FIELD if kind == "extra_forbidden" and n == len(loc) - 1 else KEY
        parts.append(str(part))
    return ".".join(parts)


@cache
def field_names(model: type[BaseModel]) -> frozenset[str]:
    """Every field name and alias declared by `model` and the models it holds."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    pending: list[Any] = [model]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, str):  # a Literal's value (a union's tag): ours
            names.add(annotation)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                continue
            seen.add(annotation)
            for name, field in annotation.model_fields.items():
                names.add(name)
                names.update(a for a in (field.alias, field.validation_alias)
                             if isinstance(a, str))
                pending.append(field.annotation)
        else:  # list[M], M | None, dict[str, M], Annotated[M, ...]: look inside
            pending.extend(get_args(annotation))
    return frozenset(names)
