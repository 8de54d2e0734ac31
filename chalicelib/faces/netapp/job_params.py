"""What a request to the NetApp face names: the query parameters of
GET /v2.1/jobs and GET /v2.1/jobs/{id}, and a job's id. Each refusal is a
400 that names the parameter and what was wrong with it."""

from __future__ import annotations

import re
from typing import Any, Literal

from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.errors import BadRequest
from chalicelib.listing import MAX_OFFSET, ListQuery
from chalicelib.query.filters import AllOf, parse_filters
from chalicelib.query.options import parse_order_by
from chalicelib.validation import parse

DEFAULT_LIMIT = 20
# A record shows up to job_record.JOB_TASKS_SHOWN children: a page of
# MAX_LIMIT parents reads at most MAX_LIMIT * JOB_TASKS_SHOWN of them.
MAX_LIMIT = 100
MAX_WAIT_SECONDS = 25  # under API Gateway's 29 s integration timeout
MAX_NUMBER_DIGITS = 19  # a job number is below 2**63
# NetApp's sort_by names, and the job fields they sort by. Creation time is
# the index's own order; the others are sorted in memory (at most
# chalicelib.listing.SORT_SET_LIMIT matches).
SORT_FIELDS = {"created": "time_created", "updated": "time_updated", "action": "method",
               "id": "id", "user_id": "user_id"}
SortBy = Literal["created", "updated", "action", "id", "user_id"]
# An unknown parameter's name is said back only when it is plainly a name.
SAYABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")


class ListParams(BaseModel):
    """Query parameters of GET /v2.1/jobs (`parent_id` is ours: a job's
    job_tasks past the ones its record shows)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    tenant_id: str | None = Field(None, min_length=1, max_length=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    sort_by: SortBy = "created"
    order_by: Literal["asc", "desc"] = "desc"
    parent_id: str | None = Field(None, min_length=1, max_length=200)


class JobParams(BaseModel):
    """Query parameters of GET /v2.1/jobs/{id}."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    wait: float = Field(0, ge=0, le=MAX_WAIT_SECONDS, description=(
        "long polling: answer when the job changes, or after this many seconds"))


def list_params(request: Request | None) -> ListParams:
    return parse(ListParams, _known(request, ListParams), "query parameters")


def job_params(request: Request | None) -> JobParams:
    return parse(JobParams, _known(request, JobParams), "query parameters")


def list_query(params: ListParams) -> ListQuery:
    """The lister's query: the filters, the order, the window."""
    conditions = [[name, "=", value] for name in ("tenant_id", "parent_id")
                  if (value := getattr(params, name)) is not None]
    where = AllOf(tuple(item for condition in conditions
                        for item in _condition(condition).items))
    descending = "-" if params.order_by == "desc" else ""
    order = parse_order_by([f"{descending}{SORT_FIELDS[params.sort_by]}"])
    return ListQuery(where=where, order=order, limit=params.limit, offset=params.offset,
                     include_transient=params.parent_id is not None,  # a transient job's tasks
                     fingerprint={"filters": conditions, "order_by": [str(k) for k in order],
                                  "limit": params.limit, "offset": params.offset})


def job_number(job_id: str) -> int | None:
    """A job's id in decimal is its number; anything else is its UUID."""
    if not job_id.isascii() or not job_id.isdigit() or len(job_id) > MAX_NUMBER_DIGITS:
        return None
    return int(job_id)


def _known(request: Request | None, model: type[BaseModel]) -> dict[str, Any]:
    """The query parameters, any unknown one refused by name (when it is one)."""
    if request is None:
        raise RuntimeError("no current request")
    given = dict(request.query_params or {})
    unknown = sorted(set(given) - set(model.model_fields))
    if unknown:
        names = [repr(name) if SAYABLE.match(name) else "(an unreadable name)"
                 for name in unknown]
        raise BadRequest(f"unknown query parameter {', '.join(names)}; this route takes "
                         f"{', '.join(model.model_fields)}",
                         details={"unknown": len(unknown), "known": list(model.model_fields)})
    if isinstance(given.get("order_by"), str):
        given["order_by"] = given["order_by"].lower()  # ASC and DESC too
    return given


def _condition(condition: list[Any]) -> AllOf:
    name = str(condition[0])
    try:
        return parse_filters([condition])
    except BadRequest as error:
        problem = (error.details or {}).get("problem", error.message) \
            if isinstance(error.details, dict) else error.message
        raise BadRequest(f"{name}: {problem}", details={"path": name, "problem": problem}) \
            from None
