"""What a request to the ArangoDB face names: the database of `/_db/<name>/`,
a job's number, and the job manager's query parameters.
Each refusal is ArangoDB's (chalicelib.faces.arangodb.envelope)."""

from __future__ import annotations

import math

from chalice.app import Request

from chalicelib.caller import Caller
from chalicelib.clock import MAX_EPOCH
from chalicelib.faces.arangodb.envelope import DATABASE_NOT_FOUND, ArangoError

SYSTEM_DATABASE = "_system"
DEFAULT_COUNT = 100
MAX_COUNT = 1000
MAX_NUMBER_DIGITS = 19  # a job number is below 2**63


def check_database(database: str | None, caller: Caller) -> None:
    """`/_db/<name>/`: `_system` is the caller's own scope, and so is its
    tenant's id; any other name is no database of theirs."""
    if database is not None and database not in (SYSTEM_DATABASE, caller.tenant_id):
        raise unknown_database()


def unknown_database() -> ArangoError:
    return ArangoError(404, DATABASE_NOT_FOUND, "database not found")


def job_number(job_id: str) -> int | None:
    """A job id is a job's number in decimal; anything else names no job
    (arangod reads "foobar" as no job too: a 404, not a 400)."""
    if not job_id.isascii() or not job_id.isdigit() or len(job_id) > MAX_NUMBER_DIGITS:
        return None
    return int(job_id)


def count_of(request: Request | None) -> int:
    """`?count=N`: at most N ids (1 to MAX_COUNT; DEFAULT_COUNT if absent)."""
    given = _query(request).get("count")
    if given is None:
        return DEFAULT_COUNT
    if not given.isascii() or not given.isdigit() or not 1 <= int(given) <= MAX_COUNT:
        raise ArangoError(400, 400, f"count must be an integer from 1 to {MAX_COUNT}")
    return int(given)


def stamp_of(request: Request | None) -> float:
    """`?stamp=<unix time>` of DELETE /_api/job/expired: required."""
    given = _query(request).get("stamp")
    try:
        stamp = float(given) if given is not None else math.nan
    except ValueError:
        stamp = math.nan
    if not 0 <= stamp <= MAX_EPOCH:  # NaN fails too
        raise ArangoError(400, 400, f"stamp must be a UNIX time from 0 to {MAX_EPOCH}")
    return stamp


def _query(request: Request | None) -> dict[str, str]:
    return dict((request.query_params if request else None) or {})
