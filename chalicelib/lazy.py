"""Modules imported on first use.

One app.py is deployed as five Lambda functions (API, authorizer, worker,
sweeper, upload events); each should load only the code it runs, so a cold
authorizer never pays for pydantic or boto3."""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for a module until an attribute is first read; then imports it
    (the import system's own lock makes that safe across threads)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)
