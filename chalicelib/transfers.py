"""A job's files, both ways: its once-only download (chalicelib.downloads)
and its upload (chalicelib.uploads). The service and the worker take both."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.downloads import Downloads
from chalicelib.uploads import Uploads


@dataclass(frozen=True)
class Transfers:
    downloads: Downloads
    uploads: Uploads
