"""Configuration read from the environment (set per stage in .chalice/config.json,
by infra/app-merge.json at deploy time, and by the local server)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    state_machine_arn: str
    progress_interval: float = 1.0

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            table_name=_required("JOBS_TABLE"),
            bucket_name=_required("JOBS_BUCKET"),
            state_machine_arn=_required("JOBS_STATE_MACHINE_ARN"),
            progress_interval=float(os.environ.get("JOBS_PROGRESS_INTERVAL", "1.0")),
        )


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set (see .chalice/config.json)")
    return value
