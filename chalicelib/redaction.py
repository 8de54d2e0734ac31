"""Secrets never leave the service.

A params field typed `SecretStr` (or `SecretBytes`) is a secret. Its path is
recorded on the job at submit time, so redaction never depends on the method
still being registered. Two rules apply to everything a client or a log sees:

- the secret fields of `arguments` are replaced by MASK;
- any secret value that turns up elsewhere (a result, an error message, a
  traceback, a progress description, a log line) is replaced by MASK too, in
  every form text renders it in: as it is, and as `repr`, `ascii`, JSON
  (`ensure_ascii` on or off), URL quoting (`quote`, `quote_plus`, either hex
  case) and HTML escaping write it, and any two of those in a row (the `repr`
  of an exception whose message holds a JSON dump...). See `renderings`.
  Secrets shorter than MIN_SCRUB_LENGTH are masked where they stand alone:
  not glued to a letter or digit on either side (`password abc`, `pw=abc&`,
  `'abc'`, or the whole string), so a one-letter secret cannot shred every
  word; inside a longer word (`abcde`) they are left as they are.

A params field may also carry the params of another method (demo.fanout's
`params`, passed on to its children): typed `Annotated[dict[str, Any],
ParamsOf("method")]`, that method's secret fields are secrets of this job too
(`secret_paths_in`).
"""

from __future__ import annotations

import functools
import html
import json
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretBytes, SecretStr

MASK = "********"
MIN_SCRUB_LENGTH = 4
SECRET_TYPES = (SecretStr, SecretBytes)
MAX_PARAMS_NESTING = 8  # ParamsOf inside ParamsOf (a fan-out of fan-outs), as deep as trees go


@dataclass(frozen=True)
class ParamsOf:
    """Marks a params field that holds the params of another job method, the
    one named by the sibling field `method_field`:

        params: Annotated[dict[str, Any], ParamsOf("method")]
    """

    method_field: str


@functools.cache  # a model's fields never change; every job creation asks
def secret_paths(model: type[BaseModel], prefix: str = "") -> tuple[str, ...]:
    """Dotted paths of the secret fields of a params model (nested models too)."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        for kind in _leaf_types(field.annotation):
            if isinstance(kind, type) and issubclass(kind, SECRET_TYPES):
                paths.append(path)
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                paths.extend(secret_paths(kind, f"{path}."))
    return tuple(sorted(set(paths)))


@functools.cache
def params_of_fields(model: type[BaseModel], prefix: str = "") -> tuple[tuple[str, str], ...]:
    """(path of the field, path of the field naming its method) for each
    ParamsOf field of a params model (nested models too)."""
    found: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        for mark in field.metadata:
            if isinstance(mark, ParamsOf):
                found.append((path, f"{prefix}{mark.method_field}"))
        for kind in _leaf_types(field.annotation):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                found.extend(params_of_fields(kind, f"{path}."))
    return tuple(found)


def secret_paths_in(model: type[BaseModel], arguments: dict[str, Any],
                    params_model_of: Callable[[str], type[BaseModel] | None],
                    depth: int = 0) -> list[str]:
    """The secret paths of one job: those of its params model, and in each
    ParamsOf field, those of the method its arguments name there."""
    paths = set(secret_paths(model))
    if depth >= MAX_PARAMS_NESTING:
        return sorted(paths)
    for path, method_path in params_of_fields(model):
        method, inner = _get(arguments, method_path), _get(arguments, path)
        target = params_model_of(method) if isinstance(method, str) else None
        if target is not None and isinstance(inner, dict):
            paths.update(f"{path}.{p}" for p in
                         secret_paths_in(target, inner, params_model_of, depth + 1))
    return sorted(paths)


def reveal(params: BaseModel) -> dict[str, Any]:
    """The params as plain JSON values, secrets included (for the worker only)."""
    revealed: dict[str, Any] = _revealed(params.model_dump(by_alias=True))
    return revealed


class Redactor:
    def __init__(self, paths: list[str], arguments: dict[str, Any]) -> None:
        self._paths = paths
        values = {v for p in paths if isinstance(v := _get(arguments, p), str) and v}
        self._secrets = tuple(sorted(values))

    @property
    def active(self) -> bool:
        return bool(self._secrets)

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
        """Every character that any rendering of a secret covers is masked
        (renderings that overlap go under one MASK)."""
        spans = sorted(span for secret in self._secrets for span in _found(secret, text))
        if not spans:
            return text
        pieces: list[str] = []
        last = 0
        for start, end in spans:
            if end <= last:
                continue
            if start < last:  # overlaps the span just masked
                last = end
                continue
            pieces += [text[last:start], MASK]
            last = end
        pieces.append(text[last:])
        return "".join(pieces)


def _found(secret: str, text: str) -> Iterator[tuple[int, int]]:
    """The spans of `text` that render `secret`, overlapping ones included.
    A short secret counts only where it is not glued to a letter or digit."""
    short = len(secret) < MIN_SCRUB_LENGTH
    for form in renderings(secret):
        run: tuple[int, int] | None = None  # overlapping occurrences, as one span
        at = text.find(form)
        while at >= 0:
            end = at + len(form)
            if not short or not (_glued(text, at - 1) or _glued(text, end)):
                if run is not None and at < run[1]:
                    run = (run[0], end)
                else:
                    if run is not None:
                        yield run
                    run = (at, end)
            at = text.find(form, at + 1)
        if run is not None:
            yield run


def _glued(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isalnum()


# How text renders a string: each escape is applied to the secret, then again
# to what it gave (a repr of a JSON dump, a JSON dump of a repr...).
@functools.lru_cache(maxsize=4096)
def _char_escapes(char: str) -> tuple[str, str]:
    return repr(char)[1:-1], ascii(char)[1:-1]


def _repr_body(text: str) -> str:
    """What repr() writes between its quotes (those it picks leave ' as it is)."""
    return text.translate({ord(c): _char_escapes(c)[0] for c in set(text)})


def _ascii_body(text: str) -> str:
    return text.translate({ord(c): _char_escapes(c)[1] for c in set(text)})


_BYTE_ESCAPES = {b: repr(bytes([b]))[2:-1] for b in range(256)}


def _bytes_body(text: str) -> str:
    """What the repr of its UTF-8 bytes writes between the quotes."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1").translate(_BYTE_ESCAPES)


def _quoted(escape: Callable[[str], str]) -> Callable[[str], str]:
    """The same escape, as repr() writes it when the text holds both quotes: ' escaped."""
    return lambda text: escape(text).replace("'", "\\'")


ESCAPES: tuple[Callable[[str], str], ...] = (
    _repr_body, _quoted(_repr_body),
    _ascii_body, _quoted(_ascii_body),
    _bytes_body, _quoted(_bytes_body),
    lambda text: json.dumps(text)[1:-1],
    lambda text: json.dumps(text, ensure_ascii=False)[1:-1],
    lambda text: quote(text),  # keeps /
    lambda text: quote(text, safe=""),
    lambda text: quote_plus(text),
    lambda text: html.escape(text),
    lambda text: html.escape(text, quote=False),
)
# The same escapes with their hex digits in the other case.
_HEX_CASE: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (re.compile(r"%[0-9A-F]{2}"), str.lower),
    (re.compile(r"\\(?:u[0-9a-f]{4}|x[0-9a-f]{2})"), lambda e: e[:2] + e[2:].upper()),
)
# A secret longer than this (a key, a certificate) is looked for in its
# single escapes only, not in escapes of escapes: it bounds the work.
MAX_TWICE_ESCAPED = 4096


@functools.lru_cache(maxsize=256)
def renderings(secret: str) -> tuple[str, ...]:
    """Every form `secret` takes in text (see the module's docstring), longest first."""
    forms = {secret} | set(_escaped(secret))
    if len(secret) <= MAX_TWICE_ESCAPED:
        forms |= {twice for once in forms for twice in _escaped(once)}
    for escape, recase in _HEX_CASE:
        forms |= {_recased(form, escape, recase) for form in list(forms)}
    return tuple(sorted((form for form in forms if form), key=len, reverse=True))


def _recased(form: str, escape: re.Pattern[str], recase: Callable[[str], str]) -> str:
    return escape.sub(lambda found: recase(found.group()), form)


def _escaped(text: str) -> Iterator[str]:
    for escape in ESCAPES:
        try:
            yield escape(text)
        except UnicodeError:  # a lone surrogate: URL quoting cannot encode it
            continue


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
