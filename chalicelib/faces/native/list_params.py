"""GET /jobs: query parameters in, the NetApp-style envelope out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.caller import Caller
from chalicelib.errors import BadRequest, NotFound
from chalicelib.faces.json_input import client_json
from chalicelib.listing import MAX_LIMIT, MAX_OFFSET, JobLister, ListQuery, Page
from chalicelib.query.filters import AllOf, parse_filters
from chalicelib.query.options import parse_order_by, parse_select, project
from chalicelib.validation import parse
from chalicelib.views import Viewer, job_view

RESOURCE_KEY = r"^[a-z][a-z0-9_]*:[A-Za-z0-9][A-Za-z0-9_.:@-]*$"  # models.ResourceRef.key


class ListParams(BaseModel):
    """Query parameters of GET /jobs. Shorthands add conditions to `filters`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    filters: str | None = Field(None, max_length=8192, description="TrueNAS query-filters, JSON")
    order_by: str | None = Field(None, max_length=512, description="a,-b or a JSON list")
    select: str | None = Field(None, max_length=1024, description="a,b.c or a JSON list")
    count: bool = False
    get: bool = False
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    next_token: str | None = Field(None, max_length=4096)
    total: bool = Field(False, description="count every match (bounded) for total_records")
    transient: bool = Field(False, description="include transient jobs")
    raw_result: bool = False
    state: str | None = Field(None, max_length=200, description="one state or a,b")
    method: str | None = Field(None, max_length=200)
    tenant_id: str | None = Field(None, max_length=200)
    parent_id: str | None = Field(None, max_length=200)
    user_id: str | None = Field(None, max_length=200)
    resource: str | None = Field(None, max_length=250, pattern=RESOURCE_KEY, description=(
        "<type>:<id>: the jobs anchored to that resource (an index of its own)"))
    created_after: str | None = Field(None, max_length=40)
    created_before: str | None = Field(None, max_length=40)


def list_params(request: Request | None) -> ListParams:
    if request is None:
        raise RuntimeError("no current request")
    return parse(ListParams, dict(request.query_params or {}), "query parameters")


def list_query(params: ListParams) -> ListQuery:
    raw_filters = _json_list(params.filters, "filters") if params.filters else []
    items = list(parse_filters(raw_filters).items)
    shorthands = _shorthand_filters(params)
    for name, condition in shorthands:
        items += _shorthand(name, condition).items
    raw_filters = raw_filters + [condition for _, condition in shorthands]
    order = parse_order_by(_names(params.order_by, "order_by")) if params.order_by else ()
    return ListQuery(
        where=AllOf(tuple(items)),
        order=order,
        limit=params.limit,
        offset=params.offset,
        next_token=params.next_token,
        include_transient=params.transient,
        fingerprint={"filters": raw_filters, "order_by": [str(k) for k in order],
                     "limit": params.limit, "offset": params.offset,
                     "transient": params.transient},
    )


def selection(params: ListParams) -> tuple[str, ...]:
    return parse_select(_names(params.select, "select")) if params.select else ()


def envelope(page: Page, params: ListParams, select: tuple[str, ...],
             total: int | None, viewer: Viewer) -> dict[str, Any]:
    """NetApp Service Engine's result envelope, with a next_token for paging."""
    records = [project(job_view(job, viewer), select) for job in page.jobs]
    order = parse_order_by(_names(params.order_by, "order_by")) if params.order_by else ()
    first = order[0] if order else None
    return {
        "records": records,
        "returned_records": len(records),
        "total_records": total if total is not None else page.total,
        "sort_by": first.field if first else "time_created",
        "order_by": ("desc" if first.descending else "asc") if first else "desc",
        "offset": params.offset,
        "limit": params.limit,
        "next_token": page.next_token,
    }


def _shorthand_filters(params: ListParams) -> list[tuple[str, list[Any]]]:
    """(query parameter, the filter it stands for)."""
    conditions: list[tuple[str, list[Any]]] = []
    if params.state:
        states = [s.strip() for s in params.state.split(",") if s.strip()]
        conditions.append(("state", ["state", "=", states[0]] if len(states) == 1
                           else ["state", "in", states]))
    for name in ("method", "tenant_id", "parent_id", "user_id", "resource"):
        value = getattr(params, name)
        if value:
            conditions.append((name, [name, "=", value]))
    if params.created_after:
        conditions.append(("created_after", ["time_created", ">", params.created_after]))
    if params.created_before:
        conditions.append(("created_before", ["time_created", "<", params.created_before]))
    return conditions


def _shorthand(name: str, condition: list[Any]) -> AllOf:
    try:
        return parse_filters([condition])
    except BadRequest as error:
        problem = (error.details or {}).get("problem", error.message)
        raise BadRequest(f"{name}: {problem}", details={"path": name, "problem": problem}) \
            from None


def _names(text: str | None, what: str) -> list[str]:
    if not text:
        return []
    if text.lstrip().startswith("["):
        names = _json_list(text, what)
        if not all(isinstance(name, str) for name in names):
            raise BadRequest(f"{what} must be a list of field names")
        return names
    return [name.strip() for name in text.split(",") if name.strip()]


def _json_list(text: str, what: str) -> list[Any]:
    value = client_json(text, what)
    if not isinstance(value, list):
        raise BadRequest(f"{what} must be a JSON list")
    return value


def list_jobs(params: ListParams, caller: Caller, lister: JobLister) -> Any:
    """The body of a GET /jobs answer: a count, one job (`get`), or a page."""
    query = list_query(params)
    select = selection(params)
    viewer = Viewer(caller, params.raw_result)
    if params.count:
        return {"count": lister.count(query, caller)}
    if params.get:
        page = lister.page(replace(query, limit=1), caller)
        if not page.jobs:
            raise NotFound("no job matches the filters")
        return project(job_view(page.jobs[0], viewer), select)
    total = lister.count(query, caller) if params.total else None
    return envelope(lister.page(query, caller), params, select, total, viewer)


def children_params(params: ListParams, parent_id: str) -> ListParams:
    """GET /jobs/{id}/children is GET /jobs with parent_id set."""
    if params.parent_id not in (None, parent_id):
        raise BadRequest("parent_id: the path already names the parent",
                         details={"path": "parent_id"})
    # Children of a transient parent are transient too: list them all.
    return params.model_copy(update={"parent_id": parent_id, "transient": True})
