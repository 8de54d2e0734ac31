"""Sample records for the unit tests: pure models, no AWS."""

from __future__ import annotations

from chalicelib.models import Job

JOB_ID = "0b7e9f6a-0000-4000-8000-00000000abcd"
CREATED = "2026-11-23T04:00:00.000Z"


def a_job(**changes: object) -> Job:
    """A WAITING demo.echo job of tenant acme's user alice, with `changes`."""
    fields: dict[str, object] = {
        "id": JOB_ID, "method": "demo.echo", "arguments": {},
        "time_created": CREATED, "time_updated": CREATED,
        "tenant_id": "acme", "user_id": "alice",
    }
    fields.update(changes)
    return Job.model_validate(fields)
