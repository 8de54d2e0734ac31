"""The query planner: which index a listing reads, with which key condition.

Every listing is a DynamoDB Query on one index of the caller's tenant, never
a Scan. The top-level equality conditions pick the index (parent, resource,
state, method, owner, else the tenant's); time_created bounds become the sort-key
range. A finished state reads the sparse by_tenant_state (finished jobs only);
WAITING or RUNNING reads the tenant's key range of the sparse by_active
(unfinished jobs only), whose entries carry no state: the other unfinished
state is filtered out on the records, within the page's read budget.
Everything in the filter is still evaluated in memory on every candidate,
so the planner decides only how much is read, never what matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import keys
from chalicelib.query.filters import AllOf, Condition
from chalicelib.query.options import OrderKey
from chalicelib.states import JobState

# How an index is reached from an equality condition, most selective first.
INDEX_BY_FIELD = (
    ("parent_id", keys.BY_PARENT, "parent_id"),
    ("resource", keys.BY_TENANT_RESOURCE, "tenant_resource"),
    ("state", keys.BY_TENANT_STATE, "tenant_state"),
    ("method", keys.BY_TENANT_METHOD, "tenant_method"),
    ("user_id", keys.BY_TENANT_USER, "tenant_user"),
)
UNFINISHED = frozenset(state.value for state in JobState if state.is_active)
# A created_key is "<time>#<id>"; "$" sorts just after "#", so "<time>$" is
# above every key of that instant and "<time>" below all of them.
AFTER_INSTANT = "$"


@dataclass(frozen=True)
class Plan:
    index: str
    partition_attribute: str
    partition_value: str
    lower: str | None  # inclusive bounds on created_key
    upper: str | None
    forward: bool  # ascending created_key
    index_ordered: bool  # the index order is the requested order
    sort_attribute: str = "created_key"  # by_active: active_key, "<tenant>#<created_key>"
    # The store reads it as a chalicelib.store.KeyRange (its key condition).

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "partition": self.partition_value,
                "created_from": self.lower, "created_to": self.upper,
                "ascending": self.forward, "sorted_in_memory": not self.index_ordered}


def plan(tenant_id: str, where: AllOf, order: tuple[OrderKey, ...]) -> Plan:
    index, attribute, value = _index_for(tenant_id, where.conditions())
    lower, upper = _created_range(where.conditions())
    forward, index_ordered = _direction(order)
    if index == keys.BY_ACTIVE:
        # The tenant's jobs are the key range "<tenant>#..." of its partition.
        prefix = f"{tenant_id}{keys.SEPARATOR}"
        lower = prefix + (lower or "")
        upper = prefix + upper if upper is not None else f"{tenant_id}{AFTER_INSTANT}"
        return Plan(index, attribute, value, lower, upper, forward, index_ordered,
                    sort_attribute="active_key")
    return Plan(index, attribute, value, lower, upper, forward, index_ordered)


def _index_for(tenant_id: str, conditions: tuple[Condition, ...]) -> tuple[str, str, str]:
    equal = {c.field: c.value for c in conditions
             if c.op == "=" and isinstance(c.value, str)}
    for field, index, attribute in INDEX_BY_FIELD:
        if field in equal:
            value = equal[field]
            if field == "state" and value in UNFINISHED:
                return keys.BY_ACTIVE, "active_shard", keys.active_shard(tenant_id)
            # by_parent is keyed by the parent alone: the tenant is checked on
            # every candidate in memory (a child lives in its parent's tenant).
            key = value if index == keys.BY_PARENT else f"{tenant_id}{keys.SEPARATOR}{value}"
            return index, attribute, key
    return keys.BY_TENANT, "tenant_id", tenant_id


def _created_range(conditions: tuple[Condition, ...]) -> tuple[str | None, str | None]:
    lower: str | None = None
    upper: str | None = None
    for c in conditions:
        if c.field != "time_created" or not isinstance(c.value, str):
            continue
        if c.op in (">", ">="):
            bound = c.value + AFTER_INSTANT if c.op == ">" else c.value
            lower = bound if lower is None else max(lower, bound)
        elif c.op in ("<", "<="):
            bound = c.value + AFTER_INSTANT if c.op == "<=" else c.value
            upper = bound if upper is None else min(upper, bound)
        elif c.op == "=":
            lower, upper = c.value, c.value + AFTER_INSTANT
    return lower, upper


def _direction(order: tuple[OrderKey, ...]) -> tuple[bool, bool]:
    """Newest first by default; any order but creation time is sorted in memory."""
    if not order:
        return False, True
    first = order[0]
    if first.field == "time_created" and (len(order) == 1 or order[1].field == "id"):
        return not first.descending, True
    return False, False
