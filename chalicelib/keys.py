"""Attribute names, index names and key construction for the jobs table.

Everything that knows how a job is laid out in DynamoDB lives here and in
`chalicelib.items`; the index definitions must match infra/template.yaml.
"""

from __future__ import annotations

import zlib

from chalicelib.states import JobState

# Indexes (see infra/template.yaml). Issue 23 changed the key or projection
# of seven, which recreates an index: they have new names (_v2), so a stack
# deployed before keeps the previous ones until each new one exists
# (README.md, "Changing the indexes of a deployed stack").
BY_TENANT = "by_tenant_v2"
BY_TENANT_STATE = "by_tenant_state_v2"
BY_TENANT_METHOD = "by_tenant_method_v2"
BY_TENANT_USER = "by_tenant_user_v2"
BY_PARENT = "by_parent_v2"
BY_ACTIVE = "by_active_v2"
BY_NUMBER = "by_number"  # sparse, keys only: a job by its number (store/numbers.py)
BY_TENANT_RESOURCE = "by_tenant_resource_v2"  # sparse: the jobs anchored to a resource

# What every listing index projects besides its keys (infra/template.yaml):
# attributes a job never changes after its creation, so no state change and
# no progress report rewrites an entry (issue 23): a job's entry in
# by_tenant, by_tenant_method, by_tenant_user, by_parent, by_tenant_resource
# and by_active is written once, when it enters the index.
LISTING_PROJECTION = frozenset({
    "id", "created_key", "method", "transient", "tenant_id", "user_id",
    "parent_id", "root_id", "time_created", "description",
})
# by_tenant_state is sparse: a job enters it at its terminal transition (one
# put), so it also projects what that transition sets.
TERMINAL_PROJECTION = LISTING_PROJECTION | {"state", "time_started", "time_finished",
                                            "expires_at"}
# by_active also projects the runner (fixed at creation) for the sweeper.
ACTIVE_PROJECTION = LISTING_PROJECTION | {"runner"}
PROJECTION_BY_INDEX = {BY_TENANT_STATE: TERMINAL_PROJECTION, BY_ACTIVE: ACTIVE_PROJECTION}


def projection_of(index: str) -> frozenset[str]:
    return PROJECTION_BY_INDEX.get(index, LISTING_PROJECTION)

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


def _tenant_shard(tenant_id: str) -> int:
    # Stable across processes (hash() is salted): a tenant's unfinished jobs
    # all live in one partition, so listing them is one Query.
    return zlib.crc32(tenant_id.encode()) % ACTIVE_SHARDS


def active_shard(tenant_id: str) -> str:
    """The by_active partition of a tenant's unfinished jobs (the sort key,
    active_key, starts with the tenant: its jobs are one key range)."""
    return f"active{SEPARATOR}{_tenant_shard(tenant_id)}"


def active_key(tenant_id: str, created: str) -> str:
    """Sort key of by_active: the tenant, then the job's created_key."""
    return f"{tenant_id}{SEPARATOR}{created}"


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


# Where the sweeper's next run resumes in each by_active partition: one item
# that, like lock items, carries none of the index attributes.
SWEEP_CURSORS = f"sweeper{SEPARATOR}cursors"


def tenant_number(tenant_id: str, number: int) -> str:
    return f"{tenant_id}{SEPARATOR}{number}"


def number_counter(tenant_id: str) -> str:
    """The item that counts a tenant's reserved job numbers: like lock items,
    it carries none of the index attributes."""
    return f"numbers{SEPARATOR}{tenant_id}"
