"""How the query language reports bad input: "<path>: <problem>", as a 400.

A problem names the place (the path) and what is wrong, never the value
sent there: a rejected value is never echoed back, however plain it looks.
Only names of the API's own (a known field or operator) are named."""

from __future__ import annotations

from typing import NoReturn

from chalicelib.errors import BadRequest


def reject(path: str, problem: str) -> NoReturn:
    raise BadRequest(f"{path}: {problem}", details={"path": path, "problem": problem})
