"""Index reads: pages of a listing index, windows of the sweeper's sparse
by_active index (and where its next run resumes in each partition), and the
ids of a tenant's finished jobs (removal). Entries come back typed; a page's
position (LastEvaluatedKey) stays an opaque dict."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

from chalicelib import items, keys
from chalicelib.states import JobState
from chalicelib.store.table import Table


class KeyRange(Protocol):
    """Which listing index to read, and where (chalicelib.query.planner.Plan)."""

    @property
    def index(self) -> str: ...
    @property
    def partition_attribute(self) -> str: ...
    @property
    def partition_value(self) -> str: ...
    @property
    def lower(self) -> str | None: ...  # inclusive bounds on created_key
    @property
    def upper(self) -> str | None: ...
    @property
    def forward(self) -> bool: ...
    @property
    def sort_attribute(self) -> str: ...  # created_key, or by_active's active_key


@dataclass(frozen=True)
class IndexEntry:
    """A job as a listing index projects it (keys.projection_of): what the
    index does not project is None."""

    id: str
    created_key: str
    resume_key: dict[str, Any]  # opaque: where a page that ends with this entry resumes
    state: JobState | None = None
    method: str | None = None
    transient: bool | None = None
    tenant_id: str | None = None
    user_id: str | None = None
    parent_id: str | None = None
    root_id: str | None = None
    time_created: str | None = None
    time_started: str | None = None
    time_finished: str | None = None
    expires_at: int | None = None
    description: str | None = None

    def projected(self, name: str) -> Any:
        """A projected attribute's plain value, as a job's view shows it."""
        value = getattr(self, name)
        return value.value if isinstance(value, JobState) else value


ENTRY_FIELDS = frozenset(f.name for f in fields(IndexEntry)) - {"resume_key"}


@dataclass(frozen=True)
class ActiveEntry:
    """What the sweeper reads of a job in the sparse by_active index: its
    created_key from the index, the rest from its record."""

    id: str
    tenant_id: str
    state: JobState
    created_key: str = ""
    time_started: str | None = None
    runner: str | None = None
    wait_deadline: str | None = None
    abort_deadline: str | None = None


@dataclass(frozen=True)
class ActiveWindow:
    """A sweeper's read of one by_active partition (IndexReads.active_window)."""

    entries: list[ActiveEntry]
    next_key: dict[str, Any] | None  # where the next read resumes; None: the start
    read: int  # index entries read (some may have no record any more)


@dataclass(frozen=True)
class IndexPage:
    entries: list[IndexEntry]
    last_key: dict[str, Any] | None
    scanned: int


class IndexReads(Table):
    def query_page(self, where: KeyRange, limit: int,
                   start_key: dict[str, Any] | None) -> IndexPage:
        """One Query page of a listing index."""
        expression, values, names = key_condition(where)
        request: dict[str, Any] = {
            "TableName": self._table, "IndexName": where.index,
            "KeyConditionExpression": expression,
            "ExpressionAttributeValues": values, "ExpressionAttributeNames": names,
            "ScanIndexForward": where.forward, "Limit": limit,
        }
        if start_key:
            request["ExclusiveStartKey"] = start_key
        with self._translated(where.index):
            answer = self._client.query(**request)
        return IndexPage(
            entries=[_index_entry(item, where.partition_attribute, where.sort_attribute)
                     for item in answer.get("Items", [])],
            last_key=answer.get("LastEvaluatedKey"),
            scanned=int(answer.get("ScannedCount", 0)),
        )

    def active_window(self, shard: str, start_key: dict[str, Any] | None = None,
                      most: int = 1000, page: int = 100) -> ActiveWindow:
        """Up to `most` entries of one partition of the sparse by_active index
        (see keys.py), in its order (tenant, then oldest first), from
        `start_key` (None: the partition's start), and where the next read
        resumes (None: the partition was read to its end). The index projects
        no state (a claim must not rewrite it), so the records of the entries
        are read, 100 a call."""
        request: dict[str, Any] = {
            "TableName": self._table, "IndexName": keys.BY_ACTIVE,
            "KeyConditionExpression": "active_shard = :shard",
            "ExpressionAttributeValues": {":shard": {"S": shard}}}
        if start_key:
            request["ExclusiveStartKey"] = start_key
        entries: list[ActiveEntry] = []
        read = 0
        while True:
            request["Limit"] = min(page, most - read)
            with self._translated(shard):
                answer = self._client.query(**request)
            found = answer.get("Items", [])
            read += len(found)
            records = self._records_of([item["id"]["S"] for item in found])
            entries += [_active_entry(records[item["id"]["S"]], item["created_key"]["S"])
                        for item in found if item["id"]["S"] in records]
            resume = answer.get("LastEvaluatedKey")
            if resume is None or read >= most:
                return ActiveWindow(entries, resume, read)
            request["ExclusiveStartKey"] = resume

    def sweep_cursors(self) -> dict[str, dict[str, Any]]:
        """Where the sweeper's next read of each by_active partition resumes
        (a LastEvaluatedKey by partition); a partition not named starts over."""
        with self._translated(keys.SWEEP_CURSORS):
            answer = self._client.get_item(TableName=self._table,
                                           Key={"id": {"S": keys.SWEEP_CURSORS}},
                                           ConsistentRead=True)
        cursors = answer.get("Item", {}).get("cursors", {}).get("M", {})
        return {shard: value["M"] for shard, value in cursors.items()}

    def save_sweep_cursors(self, cursors: dict[str, dict[str, Any]]) -> None:
        """One small item (no method, no index attribute: no listing, index or
        event sees it); two sweeps at once are harmless, the last one wins."""
        with self._translated(keys.SWEEP_CURSORS):
            self._client.put_item(TableName=self._table, Item={
                "id": {"S": keys.SWEEP_CURSORS},
                "cursors": {"M": {shard: {"M": key} for shard, key in cursors.items()}}})

    def _records_of(self, job_ids: list[str]) -> dict[str, Any]:
        """Full records by id, as plain items (Records.get_many, which the
        store mixes in)."""
        if not job_ids:
            return {}
        return self.get_many(job_ids)  # type: ignore[attr-defined]

    def terminal_ids(self, tenant_id: str, states: list[JobState], created_before: str | None,
                     limit: int, start_key: dict[str, Any] | None = None,
                     user_id: str | None = None,
                     ) -> tuple[list[str], dict[str, Any] | None]:
        """A page of ids of a tenant's jobs in terminal states, oldest first, and
        where the next page starts (None: no more). For a tenant, one state a
        query of by_tenant_state (finished jobs only, keyed on the state); for
        one user, every state in one query of by_tenant_user, which projects no
        state (a state change must not rewrite it): the states are checked on
        the records, so the user's jobs are read once and no other user's."""
        request = terminal_ids_request(self._table, tenant_id, states, created_before,
                                       limit, user_id)
        if start_key:
            request["ExclusiveStartKey"] = start_key
        with self._translated(",".join(state.value for state in states)):
            answer = self._client.query(**request)
        ids = [item["id"]["S"] for item in answer.get("Items", [])]
        if user_id is not None and ids:
            records = self._records_of(ids)
            ids = [job_id for job_id in ids
                   if job_id in records and records[job_id].state in states]
        return ids, answer.get("LastEvaluatedKey")


def key_condition(where: KeyRange) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The KeyConditionExpression of a listing read: its partition, and the
    sort key range when it has one."""
    names = {"#pk": where.partition_attribute, "#sk": where.sort_attribute}
    values: dict[str, Any] = {":pk": {"S": where.partition_value}}
    expression = "#pk = :pk"
    if where.lower is not None and where.upper is not None:
        expression += " AND #sk BETWEEN :lo AND :hi"
        values.update({":lo": {"S": where.lower}, ":hi": {"S": where.upper}})
    elif where.lower is not None:
        expression += " AND #sk >= :lo"
        values[":lo"] = {"S": where.lower}
    elif where.upper is not None:
        expression += " AND #sk <= :hi"
        values[":hi"] = {"S": where.upper}
    else:
        names.pop("#sk")
    return expression, values, names


def terminal_ids_request(table: str, tenant_id: str, states: list[JobState],
                         created_before: str | None, limit: int,
                         user_id: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    request: dict[str, Any] = {"TableName": table, "ProjectionExpression": "id",
                               "Limit": limit}
    if user_id is None:
        (state,) = states
        request["IndexName"] = keys.BY_TENANT_STATE
        condition = "tenant_state = :key"
        values[":key"] = {"S": keys.tenant_state(tenant_id, state)}
    else:  # the states are checked on the records (IndexReads.terminal_ids)
        request["IndexName"] = keys.BY_TENANT_USER
        condition = "tenant_user = :key"
        values[":key"] = {"S": keys.tenant_user(tenant_id, user_id)}
    if created_before is not None:
        condition += " AND created_key < :before"
        values[":before"] = {"S": created_before}
    request["KeyConditionExpression"] = condition
    request["ExpressionAttributeValues"] = values
    return request


def _index_entry(item: dict[str, Any], partition_attribute: str,
                 sort_attribute: str = "created_key") -> IndexEntry:
    plain = items.deserialize(item)
    projected: dict[str, Any] = {name: plain.get(name) for name in ENTRY_FIELDS}
    state = projected.pop("state")
    resume = {name: item[name] for name in ("id", sort_attribute, partition_attribute)}
    return IndexEntry(**projected, state=JobState(state) if state else None,
                      resume_key=resume)


def _active_entry(job: Any, created_key: str) -> ActiveEntry:
    """The sweeper's view of an unfinished job, from its record."""
    return ActiveEntry(
        id=job.id, tenant_id=job.tenant_id, state=job.state, created_key=created_key,
        time_started=job.time_started, runner=job.runner,
        wait_deadline=job.wait_deadline, abort_deadline=job.abort_deadline)
