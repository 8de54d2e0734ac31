"""JobLister: GET /jobs. Reads one index of the caller's tenant in pages, with
a read budget per request, so no request ever costs more than a bounded
number of items, whatever the table size; what did not fit continues with a
signed next_token.

Per candidate: hidden if expired (TTL deletes late) or transient (unless
asked for), then the filter. Filters that only name projected attributes are
checked on the index item, so only matches are fetched whole; the others
are checked on the full record (fetched with BatchGetItem, 100 a call). Every
match is checked again on the full record, which is fresher than the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib import keys
from chalicelib.caller import Caller
from chalicelib.clock import Clock
from chalicelib.errors import BadRequest
from chalicelib.models import Job
from chalicelib.query.filters import AllOf, Condition
from chalicelib.query.options import OrderKey, sort_records
from chalicelib.query.planner import Plan, plan
from chalicelib.query.tokens import TokenSigner, caller_key, query_hash
from chalicelib.store import IndexEntry, JobStore
from chalicelib.views import job_view

MAX_LIMIT = 1000
MAX_OFFSET = 1000
SORT_SET_LIMIT = 1000  # matches an in-memory order_by may sort
COUNT_READ_LIMIT = 10_000  # items a count (or an in-memory sort) may read
NOT_FILTERED_ON_ENTRY = frozenset({"created_key", "expires_at"})
NARROW_HINT = ("add a state, method, parent_id, user_id or time range (created_after, "
               "created_before) filter")


@dataclass(frozen=True)
class ListQuery:
    where: AllOf
    order: tuple[OrderKey, ...] = ()
    limit: int = 50
    offset: int = 0
    next_token: str | None = None
    include_transient: bool = False
    fingerprint: dict[str, Any] = field(default_factory=dict)  # what the token is bound to


@dataclass
class Page:
    jobs: list[Job]
    next_token: str | None
    total: int | None
    scanned: int
    plan: Plan


@dataclass(frozen=True)
class _Paging:
    """Whom this page's tokens belong to, and where the token it came with starts."""

    owner: str
    position: dict[str, Any] | None = None


class JobLister:
    def __init__(self, store: JobStore, signer: TokenSigner, clock: Clock) -> None:
        self.store = store
        self._signer = signer
        self._clock = clock

    def page(self, query: ListQuery, caller: Caller) -> Page:
        # A token is the caller's as it called (before its scope narrows the
        # query), and one issued to anyone else is refused before any read.
        owner = caller_key(caller.tenant_id, caller.user_id, caller.roles)
        paging = _Paging(owner, self._position(query, owner))
        narrowed = scoped(query, caller)
        if narrowed is None:  # asks for what the caller may not see: nothing
            return Page([], None, 0, 0, plan(caller.tenant_id, query.where, query.order))
        query, caller = narrowed
        pinned = self._pinned(query, caller)
        if pinned is not None:
            return pinned
        chosen = plan(caller.tenant_id, query.where, query.order)
        if chosen.index_ordered:
            return self._index_page(query, caller, chosen, paging)
        return self._sorted_page(query, caller, chosen, paging)

    def count(self, query: ListQuery, caller: Caller) -> int:
        narrowed = scoped(query, caller)
        if narrowed is None:
            return 0
        query, caller = narrowed
        pinned = self._pinned(query, caller)
        if pinned is not None:
            return len(pinned.jobs)
        chosen = plan(caller.tenant_id, query.where, query.order)
        scan = _Scan(self, query, caller, chosen, budget=COUNT_READ_LIMIT)
        total = sum(1 for _ in scan.index_matches()) if scan.projection_suffices else \
            sum(1 for _ in scan.matches())
        if scan.exhausted_budget:
            raise BadRequest(f"counting these jobs would read more than {COUNT_READ_LIMIT} "
                             f"of them; {NARROW_HINT}")
        return total

    def _index_page(self, query: ListQuery, caller: Caller, chosen: Plan,
                    paging: _Paging) -> Page:
        position = paging.position
        start = position.get("k") if position else None
        budget = max(2 * query.limit, 100) + query.offset
        skip = 0 if position else query.offset
        scan = _Scan(self, query, caller, chosen, budget=budget, start_key=start,
                     wanted=query.limit + skip)
        jobs: list[Job] = []
        skipped = 0
        resume: dict[str, Any] | None = None
        for entry, job in scan.matches():
            if skipped < skip:
                skipped += 1
                scan.mark_returned(entry)
                continue
            if len(jobs) == query.limit:  # one match more: there is a next page
                resume = _resume_key(scan.last_returned)
                break
            jobs.append(job)
            scan.mark_returned(entry)
        else:
            resume = scan.resume_key()
        token = self._token(query, paging, {"k": resume}) if resume else None
        total = len(jobs) + skipped if not resume and not position else None
        return Page(jobs, token, total, scan.scanned, chosen)

    def _sorted_page(self, query: ListQuery, caller: Caller, chosen: Plan,
                     paging: _Paging) -> Page:
        scan = _Scan(self, query, caller, chosen, budget=COUNT_READ_LIMIT)
        matches = [job for _, job in scan.matches()]
        if scan.exhausted_budget or len(matches) > SORT_SET_LIMIT:
            raise BadRequest(f"ordering by {query.order[0].field} sorts in memory, and more "
                             f"than {SORT_SET_LIMIT} jobs match; {NARROW_HINT}, or order by "
                             "time_created")
        by_id = {job.id: job for job in matches}
        views = sort_records([job_view(job) for job in matches], query.order)
        position = paging.position
        first = int(position["o"]) if position else query.offset
        window = views[first:first + query.limit]
        more = first + query.limit < len(views)
        token = self._token(query, paging, {"o": first + query.limit}) if more else None
        return Page([by_id[v["id"]] for v in window], token, len(views), scan.scanned, chosen)

    def _pinned(self, query: ListQuery, caller: Caller) -> Page | None:
        """A filter that names one job (`id` or `number` equal to a value, at
        the top level) reads that job alone: a GetItem, after one Query of
        by_number for a number. Clients poll a job this way (TrueNAS's
        core.get_jobs [["id", "=", n]]), so it must not cost a listing."""
        ids = _equal_values(query.where, "id")
        numbers = {n for n in _equal_values(query.where, "number")
                   if isinstance(n, int) and not isinstance(n, bool)}
        if not ids and not numbers:
            return None
        where = (keys.BY_NUMBER, "tenant_number", f"{numbers}") if numbers else \
            ("table", "id", f"{ids}")
        chosen = Plan(*where, None, None, True, True)
        if len(ids) > 1 or len(numbers) > 1:  # one job cannot be two
            return Page([], None, 0, 0, chosen)
        job_id = next(iter(ids)) if ids else \
            self.store.id_of_number(caller.tenant_id, next(iter(numbers)))
        job = self.store.get(job_id) if job_id else None
        found = [job] if job is not None and self._shows(job, caller, query) else []
        shown = found[query.offset:query.offset + query.limit]
        return Page(shown, None, len(found), 1 if job_id else 0, chosen)

    def _shows(self, job: Job, caller: Caller, query: ListQuery) -> bool:
        """What `visible` decides on an index entry, on a whole record, and the filter."""
        if job.tenant_id != caller.tenant_id or not caller.may_see(job):
            return False
        if job.is_expired(self._clock()):
            return False
        mentions_transient = "transient" in query.where.fields()
        if job.transient and not (query.include_transient or mentions_transient):
            return False
        return query.where.matches(job_view(job))

    def _position(self, query: ListQuery, owner: str) -> dict[str, Any] | None:
        if not query.next_token:
            return None
        return self._signer.read(query.next_token, owner, self._hash(query))

    def _token(self, query: ListQuery, paging: _Paging, position: dict[str, Any]) -> str:
        return self._signer.issue(paging.owner, self._hash(query), position)

    @staticmethod
    def _hash(query: ListQuery) -> str:
        return query_hash(query.fingerprint)

    def visible(self, entry: IndexEntry, caller: Caller, query: ListQuery) -> bool:
        if entry.tenant_id != caller.tenant_id:
            return False
        if not caller.sees_whole_tenant and entry.user_id != caller.user_id:
            return False  # the scope is in the query already; this is a second lock
        expires = entry.expires_at
        if expires is not None and int(expires) <= self._clock():
            return False
        mentions_transient = "transient" in query.where.fields()
        return query.include_transient or mentions_transient or not entry.transient


class _Scan:
    """Walks the planned index within a read budget, yielding matching jobs.

    Index items are read in chunks (the first a quarter larger than the page,
    to absorb hidden jobs); full records are fetched only for the candidates
    the page still needs, plus one to learn whether there is a next page.
    """

    def __init__(self, lister: JobLister, query: ListQuery, caller: Caller, chosen: Plan,
                 budget: int, start_key: dict[str, Any] | None = None,
                 wanted: int | None = None) -> None:
        self._lister, self._query, self._caller, self._plan = lister, query, caller, chosen
        self._store = lister.store
        self._budget = budget
        self._last_key: dict[str, Any] | None = start_key
        self._more_in_index = True
        self._fields = projected_fields(chosen.index)
        self._prefilter = query.where.fields() <= self._fields
        self.need = wanted if wanted is not None else budget
        self.scanned = 0
        self.exhausted_budget = False
        self.last_consumed: IndexEntry | None = None
        self.last_returned: IndexEntry | None = None

    def matches(self) -> Iterator[tuple[IndexEntry, Job]]:
        if _empty_range(self._plan):
            self._more_in_index = False
            return
        while (chunk := self._next_chunk()) is not None:
            while chunk:
                size = self.need + 1 if self._prefilter else len(chunk)
                batch, chunk = chunk[:size], chunk[size:]
                found = self._store.get_many([entry.id for entry in batch])
                for entry in batch:
                    self.last_consumed = entry
                    job = found.get(entry.id)
                    # The record decides (what an index does not project, such
                    # as the state or expires_at, is judged here).
                    if job is not None and self._lister._shows(job, self._caller, self._query):
                        yield entry, job

    @property
    def projection_suffices(self) -> bool:
        """The index items alone decide the filter and what is hidden (no full
        record needed): an index that does not project expires_at cannot tell
        an expired job (TTL deletes late) from a live one."""
        return self._prefilter and "expires_at" in keys.projection_of(self._plan.index)

    def index_matches(self) -> Iterator[IndexEntry]:
        """Matching index entries, judged on the projection alone: enough to
        count, and half the reads of fetching every record."""
        if _empty_range(self._plan):
            return
        while (chunk := self._next_chunk()) is not None:
            yield from chunk

    def mark_returned(self, entry: IndexEntry) -> None:
        self.last_returned = entry
        self.need -= 1

    def resume_key(self) -> dict[str, Any] | None:
        """Where the next page starts, if the index may hold more."""
        if not self._more_in_index:
            return None
        return _resume_key(self.last_consumed) if self.last_consumed else self._last_key

    def _next_chunk(self) -> list[IndexEntry] | None:
        if not self._more_in_index:
            return None
        room = self._budget - self.scanned
        if room <= 0:
            self.exhausted_budget = True
            return None
        size = min(room, self.need + max(1, self.need // 4)) if self._prefilter else room
        page = self._store.query_page(self._plan, size, self._last_key)
        self.scanned += page.scanned
        self._last_key = page.last_key
        self._more_in_index = page.last_key is not None
        return [entry for entry in page.entries
                if self._lister.visible(entry, self._caller, self._query)
                and (not self._prefilter
                     or self._query.where.matches(_projected_view(entry, self._fields)))]


def _resume_key(entry: IndexEntry | None) -> dict[str, Any] | None:
    return entry.resume_key if entry is not None else None


def projected_fields(index: str) -> frozenset[str]:
    """The fields a filter can be judged on from an entry of `index`."""
    return keys.projection_of(index) - NOT_FILTERED_ON_ENTRY


def _projected_view(entry: IndexEntry, names: frozenset[str]) -> dict[str, Any]:
    return {name: entry.projected(name) for name in names}


def scoped(query: ListQuery, caller: Caller) -> tuple[ListQuery, Caller] | None:
    """The query narrowed to the caller's scope, and the tenant it reads (as
    the caller to plan with); None when it asks for what the caller may not see.

    FULL_ADMIN reads the tenant its `tenant_id` filter names (its own by
    default: a listing is one index Query of one tenant); TENANT_ADMIN its
    own tenant; a plain user its own jobs, which puts its user_id in the
    query (the planner then reads the by_tenant_user index)."""
    tenants = _equal_values(query.where, "tenant_id")
    users = _equal_values(query.where, "user_id")
    if caller.is_full_admin and len(tenants) == 1:
        return query, replace(caller, tenant_id=tenants.pop())
    if tenants - {caller.tenant_id}:
        return None
    if caller.sees_whole_tenant:
        return query, caller
    if users - {caller.user_id}:
        return None
    own = Condition("user_id", "=", caller.user_id)
    return replace(query, where=AllOf((*query.where.items, own))), caller


def _equal_values(where: AllOf, field_name: str) -> set[Any]:
    return {c.value for c in where.conditions() if c.field == field_name and c.op == "="}


def _empty_range(chosen: Plan) -> bool:
    return chosen.lower is not None and chosen.upper is not None and chosen.lower > chosen.upper
