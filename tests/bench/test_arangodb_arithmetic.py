"""The arangodb benchmark's arithmetic: a python-arango client's requests per
async request, the request units of a Query, and the dollars of an async
request followed to its fetch. Pure arithmetic: no moto, no timing."""

from __future__ import annotations

from typing import Any

import pytest

from bench import prices as p
from bench.arangodb import query_read_units, requests_per_job
from bench.cost import (
    ARANGODB_POLLS,
    AUTHORIZER_READ_SECONDS,
    AUTHORIZER_SECONDS,
    SERVICES,
    Usage,
    add_arangodb,
    arangodb_key_extra,
    arangodb_rows,
    arangodb_step_rows,
    arangodb_steps,
    authorizer_run,
    dollars,
    total,
)
from bench.section import Section


def figures(calls: list[str], rru: float = 0.0, wru: float = 0.0) -> dict[str, Any]:
    return {"calls": calls, "rru": rru, "wru": wru}


MEASURED = {
    "accept": figures(["dynamodb.PutItem", "stepfunctions.StartExecution"], wru=7),
    "replay": figures(["dynamodb.UpdateItem", "dynamodb.UpdateItem"], wru=15),
    "status_pending": figures(["dynamodb.Query", "dynamodb.GetItem"], rru=1.5),
    "status_done": figures(["dynamodb.Query", "dynamodb.GetItem"], rru=1.5),
    "fetch": figures(["dynamodb.Query", "dynamodb.GetItem", "dynamodb.GetItem",
                      "dynamodb.DeleteItem", "s3.DeleteObjects"], rru=2.5, wru=7),
    "basic_first": figures(["dynamodb.GetItem"], rru=1),
}


def measured_section(data: dict[str, Any]) -> Section:
    return Section(name="arangodb", title="t", how="h", data=data)


def test_a_client_sends_the_request_its_polls_and_one_fetch() -> None:
    assert requests_per_job(1) == 3
    assert requests_per_job(30) == 32
    with pytest.raises(ValueError):
        requests_per_job(0)


@pytest.mark.parametrize(("size", "consistent", "units"), [
    (0, False, 0.5), (60, False, 0.5), (4096, False, 0.5), (4097, False, 1.0),
    (4097, True, 2.0),
])
def test_a_query_pays_for_what_it_read_in_4_kb_units(size: int, consistent: bool,
                                                     units: float) -> None:
    assert query_read_units(size, consistent) == units


def test_the_steps_add_up_to_the_measured_units_and_one_express_run() -> None:
    usage = total(arangodb_steps(5, MEASURED))
    assert usage.api_requests == requests_per_job(5) == 7
    assert usage.lambda_requests == 7 + 1  # the API's, and one worker invocation
    assert usage.read_units == 5 * 1.5 + 2.5
    assert usage.write_units == 7 + 15 + 7
    assert usage.express_executions == 1
    assert usage.transitions == 0
    assert usage.s3_puts == 1
    # No authorizer: every Lambda GB-second is the API's or the worker's.
    assert usage.lambda_gb_seconds == pytest.approx(
        7 * p.API_MEMORY_GB * p.API_BILLED_SECONDS
        + p.WORKER_MEMORY_GB * p.WORKER_BILLED_SECONDS)


def test_each_more_poll_costs_one_request_and_its_reads() -> None:
    one, five, thirty = arangodb_rows(MEASURED)
    assert [row["polls"] for row in (one, five, thirty)] == list(ARANGODB_POLLS)
    poll = sum(dollars(Usage(api_requests=1, lambda_requests=1,
                             lambda_gb_seconds=p.API_MEMORY_GB * p.API_BILLED_SECONDS,
                             read_units=1.5)).values()) * 1e6
    assert five["total"] - one["total"] == pytest.approx(4 * poll)
    assert thirty["total"] - one["total"] == pytest.approx(29 * poll)
    for row in (one, five, thirty):
        assert row["total"] == pytest.approx(sum(row[s] for s in SERVICES))


def test_the_credential_columns() -> None:
    (one, *_) = arangodb_rows(MEASURED)
    # A key never remembered: 1 RRU and the read's wait, per request.
    key = 3 * (p.DYNAMODB_READ_UNIT.dollars + p.API_MEMORY_GB * p.LAMBDA_GB_SECOND.dollars
               * (AUTHORIZER_READ_SECONDS - AUTHORIZER_SECONDS))
    assert arangodb_key_extra(3, 1.0) == pytest.approx(key)
    assert one["api_key"] == pytest.approx(key * 1e6)
    # The native routes' authorizer (a JWT: its invocation only), per request.
    assert one["native_authorizer"] == pytest.approx(
        3 * sum(dollars(authorizer_run()).values()) * 1e6)


def test_the_step_rows_compose_the_one_poll_row() -> None:
    steps = arangodb_step_rows(MEASURED)
    assert len(steps) == 4
    (one, *_) = arangodb_rows(MEASURED)
    assert sum(row["total"] for row in steps) == pytest.approx(one["total"])


def test_add_arangodb_adds_two_tables_and_a_note_or_says_how_to_run_it() -> None:
    section = Section(name="cost", title="t", how="h")
    add_arangodb(section, None, 27.0)
    assert section.tables == [] and "--only arangodb" in section.notes[0]
    failed = Section(name="cost", title="t", how="h")
    add_arangodb(failed, measured_section({"error": "boom"}), 27.0)
    assert failed.tables == []
    section = Section(name="cost", title="t", how="h")
    add_arangodb(section, measured_section(MEASURED), 27.0)
    assert len(section.tables) == 2
    assert "no wait loop" in section.notes[0]
    assert [row["polls"] for row in section.data["arangodb"]["rows"]] == list(ARANGODB_POLLS)
