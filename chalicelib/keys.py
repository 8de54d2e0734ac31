"""Attribute names, index names and key construction for the jobs table.

Everything that knows how a job is laid out in DynamoDB lives here and in
`chalicelib.items`; the index definitions must match infra/template.yaml.
"""

from __future__ import annotations

from chalicelib.states import JobState

# Indexes (see infra/template.yaml).
BY_TENANT = "by_tenant"
BY_TENANT_STATE = "by_tenant_state"
BY_TENANT_METHOD = "by_tenant_method"
BY_TENANT_USER = "by_tenant_user"
BY_PARENT = "by_parent"
BY_ACTIVE = "by_active"
BY_NUMBER = "by_number"  # sparse, keys only: a job by its number (store/numbers.py)
BY_TENANT_RESOURCE = "by_tenant_resource"  # sparse: the jobs anchored to a resource

# What every listing index projects besides its keys (infra/template.yaml):
# attributes that change at most at a state transition.
LISTING_PROJECTION = frozenset({
    "id", "created_key", "method", "state", "transient", "abortable", "tenant_id", "user_id",
    "parent_id", "root_id", "time_created", "time_started", "time_finished", "expires_at",
    "description",
})

# Unfinished jobs are spread over this many partitions of the sparse
# by_active index, so the sweeper's reads never pile onto one key.
ACTIVE_SHARDS = 4

SEPARATOR = "#"


def created_key(time_created: str, job_id: str) -> str:
    """Sort key of every listing index: creation time, then id for ties."""
    return f"{time_created}{SEPARATOR}{job_id}"


def tenant_state(tenant_id: str, state: JobState) -> str:
    return f"{tenant_id}{SEPARATOR}{state.value}"


def tenant_method(tenant_id: str, method: str) -> str:
    return f"{tenant_id}{SEPARATOR}{method}"


def tenant_resource(tenant_id: str, resource: str) -> str:
    """A job's first resource, `<type>:<id>` (chalicelib.models.ResourceRef)."""
    return f"{tenant_id}{SEPARATOR}{resource}"


def tenant_user(tenant_id: str, user_id: str) -> str:
    return f"{tenant_id}{SEPARATOR}{user_id}"


def _shard_of(job_id: str) -> int:
    digits = "".join(c for c in job_id if c in "0123456789abcdef")[-4:] or "0"
    return int(digits, 16) % ACTIVE_SHARDS


def active_shard(job_id: str) -> str:
    return f"active{SEPARATOR}{_shard_of(job_id)}"


def active_shards() -> list[str]:
    return [f"active{SEPARATOR}{n}" for n in range(ACTIVE_SHARDS)]


def stopping_shard(job_id: str) -> str:
    """Aborted while running: the execution may still be going, and the
    sweeper reads exactly these partitions to stop the overdue ones."""
    return f"stopping{SEPARATOR}{_shard_of(job_id)}"


def stopping_shards() -> list[str]:
    return [f"stopping{SEPARATOR}{n}" for n in range(ACTIVE_SHARDS)]


def lock_id(tenant_id: str, lock_key: str) -> str:
    """Lock items share the table; they carry none of the index attributes,
    so no listing ever sees them."""
    return f"lock{SEPARATOR}{tenant_id}{SEPARATOR}{lock_key}"


def tenant_number(tenant_id: str, number: int) -> str:
    return f"{tenant_id}{SEPARATOR}{number}"


def number_counter(tenant_id: str) -> str:
    """The item that counts a tenant's reserved job numbers: like lock items,
    it carries none of the index attributes."""
    return f"numbers{SEPARATOR}{tenant_id}"
