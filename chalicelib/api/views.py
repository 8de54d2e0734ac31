"""How a job looks to a client."""

from __future__ import annotations

from typing import Any

from chalicelib.models import Job


def job_view(job: Job) -> dict[str, Any]:
    return job.model_dump(mode="json")
