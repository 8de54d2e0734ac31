"""How the query language reports bad input: "<path>: <problem>", as a 400."""

from __future__ import annotations

from typing import Any, NoReturn

from chalicelib.errors import BadRequest

MAX_QUOTED_NAME = 40


def quote(name: Any) -> str:
    """A field or operator name for an error message, never a long or odd value."""
    if not isinstance(name, str):
        return f"a value of type {type(name).__name__}"
    if len(name) > MAX_QUOTED_NAME:
        return repr(name[:MAX_QUOTED_NAME] + "...")
    return repr(name)


def reject(path: str, problem: str) -> NoReturn:
    raise BadRequest(f"{path}: {problem}", details={"path": path, "problem": problem})
