"""The ArangoDB face's pure parts: its error body and numbers, what a job id
and a database name may be, and the version it reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chalicelib.caller import Caller
from chalicelib.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from chalicelib.faces.arangodb.envelope import ArangoError, error_response
from chalicelib.faces.arangodb.job_endpoints import VERSION
from chalicelib.faces.arangodb.job_params import check_database, job_number

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_the_changelogs_top_version() -> None:
    top = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert top is not None and top.group(1) == VERSION


@pytest.mark.parametrize(("error", "status", "number"), [
    (NotFound("no such job"), 404, 404), (Conflict("finished"), 409, 1200),
    (Forbidden("no"), 403, 11), (ArangoError(404, 1228, "database not found"), 404, 1228),
    (ServiceUnavailable("retry"), 503, 503)])
def test_every_error_answers_in_arangodbs_body(error: Exception, status: int,
                                               number: int) -> None:
    answer = error_response(error)  # type: ignore[arg-type]

    assert answer.status_code == status
    assert json.loads(answer.body) == {"error": True, "errorNum": number,
                                       "errorMessage": str(error), "code": status}


def test_a_job_id_is_a_decimal_number_and_nothing_else() -> None:
    assert job_number("42") == 42 and job_number("0") == 0
    assert [job_number(text) for text in ("", "foobar", "-1", "+1", "1.0", " 1", "٣",
                                          "1" * 20)] == [None] * 8


def test_the_database_is_system_or_the_callers_tenant() -> None:
    caller = Caller(tenant_id="acme", user_id="u")
    check_database(None, caller)
    check_database("_system", caller)
    check_database("acme", caller)
    with pytest.raises(ArangoError) as refused:
        check_database("other", caller)
    assert (refused.value.status, refused.value.error_num) == (404, 1228)
