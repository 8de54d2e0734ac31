"""A list's window: `offset` jobs skipped, then `limit` of them, newest
created first, read through the core's lister (chalicelib.listing) in pages
of PAGE jobs. The lister's pages are bounded reads, and so is the walk: at
most MAX_OFFSET + MAX_LIMIT jobs, in at most MAX_READS pages.

`limit=0` means all (CloudSigma's library always lists so): all of the jobs
after `offset`, up to MAX_ALL; more is refused (400, `validation`, pointing
at `limit`) rather than cut short, since the client takes the list for all.

`meta.total_count` is exact: counted by the walk when it reached the end,
else by the lister's count (chalicelib.listing.COUNT_READ_LIMIT reads at
most); past that many matches it is a lower bound (the jobs read, plus one).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.caller import Caller
from chalicelib.errors import BadRequest
from chalicelib.faces.cloudsigma.envelope import invalid
from chalicelib.faces.cloudsigma.job_params import MAX_LIMIT, MAX_OFFSET, ListParams
from chalicelib.listing import JobLister, ListQuery
from chalicelib.models import Job
from chalicelib.query.filters import AllOf

MAX_ALL = 1000
PAGE = 250
MAX_READS = 40  # pages; a page holds fewer than PAGE jobs when expired ones hid some
FINGERPRINT = {"face": "cloudsigma"}  # the walk's own tokens, never shown to the client


@dataclass(frozen=True)
class Window:
    jobs: list[Job]
    limit: int
    offset: int
    total_count: int

    @property
    def meta(self) -> dict[str, int]:
        return {"limit": self.limit, "offset": self.offset, "total_count": self.total_count}


def window_of(params: ListParams, caller: Caller, lister: JobLister) -> Window:
    if params.where is None:  # the filters name no job
        return Window([], params.limit, params.offset, 0)
    wanted = params.offset + (params.limit or MAX_ALL + 1)
    jobs, ended = _walk(params.where, wanted, caller, lister)
    if params.limit == 0 and len(jobs) - params.offset > MAX_ALL:
        raise invalid("limit", f"limit=0 lists at most {MAX_ALL} jobs, and more match: page "
                               f"with limit (1 to {MAX_LIMIT}) and offset (0 to {MAX_OFFSET}), "
                               "or filter by state or operation")
    shown = jobs[params.offset:params.offset + (params.limit or MAX_ALL)]
    total = len(jobs) if ended else _count(params.where, len(jobs), caller, lister)
    return Window(shown, params.limit, params.offset, total)


def _walk(where: AllOf, wanted: int, caller: Caller, lister: JobLister
          ) -> tuple[list[Job], bool]:
    """Up to `wanted` matching jobs, and whether they are all there are."""
    jobs: list[Job] = []
    token: str | None = None
    for _ in range(MAX_READS):
        query = ListQuery(where=where, limit=min(PAGE, wanted - len(jobs)), next_token=token,
                          fingerprint=FINGERPRINT)
        page = lister.page(query, caller)
        jobs.extend(page.jobs)
        token = page.next_token
        if token is None:
            return jobs, True
        if len(jobs) >= wanted:
            return jobs, False
    raise invalid("offset", "too many expired or hidden jobs lie in this window: filter by "
                            "state or operation")


def _count(where: AllOf, read: int, caller: Caller, lister: JobLister) -> int:
    try:
        return max(read, lister.count(ListQuery(where=where), caller))
    except BadRequest:  # more matches than a count may read
        return read + 1
