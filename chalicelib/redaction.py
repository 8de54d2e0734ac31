"""Secrets never leave the service.

A params field typed `SecretStr` (or `SecretBytes`) is a secret. Its path is
recorded on the job at submit time, so redaction never depends on the method
still being registered. Two rules apply to everything a client or a log sees:

- the secret fields of `arguments` are replaced by MASK;
- any secret value that turns up elsewhere (a result, an error message, a
  traceback, a progress description, a log line) is replaced by MASK too.
  Values shorter than MIN_SCRUB_LENGTH are masked only where a whole string
  equals them, so a one-letter secret cannot shred every text.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

MASK = "********"
MIN_SCRUB_LENGTH = 4
SECRET_TYPES = (SecretStr, SecretBytes)


def secret_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of the secret fields of a params model (nested models too)."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        for kind in _leaf_types(field.annotation):
            if isinstance(kind, type) and issubclass(kind, SECRET_TYPES):
                paths.append(path)
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                paths.extend(secret_paths(kind, f"{path}."))
    return sorted(set(paths))


def reveal(params: BaseModel) -> dict[str, Any]:
    """The params as plain JSON values, secrets included (for the worker only)."""
    revealed: dict[str, Any] = _revealed(params.model_dump(by_alias=True))
    return revealed


class Redactor:
    def __init__(self, paths: list[str], arguments: dict[str, Any]) -> None:
        self._paths = paths
        values = [v for p in paths if isinstance(v := _get(arguments, p), str) and v]
        self._exact = frozenset(values)
        self._substrings = sorted((v for v in values if len(v) >= MIN_SCRUB_LENGTH), key=len,
                                  reverse=True)

    @property
    def active(self) -> bool:
        return bool(self._exact)

    def mask_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        masked: dict[str, Any] = _copy(arguments)
        for path in self._paths:
            _set(masked, path, MASK)
        return masked

    def scrub(self, value: Any) -> Any:
        """`value` with every secret value replaced by MASK, at any depth."""
        if not self.active:
            return value
        if isinstance(value, BaseModel):
            return type(value).model_validate(self.scrub(value.model_dump(mode="json")))
        if isinstance(value, str):
            return self._scrub_text(value)
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        return value

    def _scrub_text(self, text: str) -> str:
        if text in self._exact:
            return MASK
        for secret in self._substrings:
            text = text.replace(secret, MASK)
        return text


def _leaf_types(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [leaf for arg in typing.get_args(annotation) for leaf in _leaf_types(arg)]
    return [annotation]


def _revealed(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, SecretBytes):
        return value.get_secret_value().decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(v) for v in value]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _set(data: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        if not isinstance(data, dict) or not isinstance(data.get(part), dict):
            return
        data = data[part]
    if isinstance(data, dict) and data.get(last) is not None:
        data[last] = value
