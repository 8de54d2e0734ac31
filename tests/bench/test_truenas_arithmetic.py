"""The truenas benchmark's arithmetic (issue 18): how often pytruenas and
aiotruenas poll a job, the request units of a Query, and the dollars of a
TrueNAS client running one job. Pure arithmetic: no moto, no timing."""

from __future__ import annotations

from typing import Any

import pytest

from bench import prices as p
from bench.cost import (
    EVENT_MEMORY_GB,
    EVENT_SEND_SECONDS,
    TRUENAS_ANSWER_ROUND_TRIPS,
    Usage,
    add_truenas,
    client_units,
    dollars,
    numbers_note,
    total,
    truenas_answer,
    truenas_message,
    truenas_polls,
    truenas_rows,
    truenas_steps,
)
from bench.section import Section
from bench.truenas import backoff_polls, fixed_polls, query_read_units


def test_pytruenas_polls_at_once_then_backs_off_to_two_seconds() -> None:
    # No progress: polls at 0, 0.25, 0.75, 1.75 (the end seen at or after 1 s).
    assert backoff_polls(1.0, change_every=0) == 4
    # 60 s unchanged: 0, .25, .75, 1.75, 3.75, then every 2 s until 61.75.
    assert backoff_polls(60.0, change_every=0) == 5 + 29


def test_a_change_resets_pytruenas_to_a_quarter_second() -> None:
    # Progress each second: every two seconds it polls at +0, +0.25, +0.75 and
    # +1.75 (a change seen there resets it), so about two polls a second.
    # 0 .25 .75 1.75 | 2 2.25 2.75 3.75 | 4 ... 8 8.25 8.75 9.75 | 10 (the end)
    assert backoff_polls(10.0, change_every=1.0) == 21
    assert backoff_polls(60.0, change_every=1.0) == 121


def test_a_job_already_ended_costs_one_poll() -> None:
    assert backoff_polls(0.0) == 1
    assert fixed_polls(0.0) == 1


@pytest.mark.parametrize(("seconds", "every", "polls"), [
    (10.0, 1.0, 11), (60.0, 1.0, 61), (2.5, 1.0, 4), (1.0, 0.5, 3), (0.2, 1.0, 2),
])
def test_aiotruenas_polls_every_interval_until_one_sees_the_end(seconds: float, every: float,
                                                                 polls: int) -> None:
    assert fixed_polls(seconds, every) == polls


@pytest.mark.parametrize(("size", "consistent", "units"), [
    (0, False, 0.5), (60, False, 0.5), (4096, True, 1.0), (4097, False, 1.0),
    (4097, True, 2.0),
])
def test_a_query_pays_4_kb_units_halved_when_eventually_consistent(
    size: int, consistent: bool, units: float
) -> None:
    assert query_read_units(size, consistent) == units


def test_one_message_is_an_invocation_a_frame_in_and_its_answer_out() -> None:
    answered = truenas_message(2.5, 0, 90, 600)
    unanswered = truenas_message(1, 2, 90, None)
    big = truenas_message(0, 0, 90, 40_000)  # 32 KB units

    assert answered.lambda_requests == 1 and answered.ws_messages == 2
    assert answered.lambda_gb_seconds == pytest.approx(p.API_MEMORY_GB * p.API_BILLED_SECONDS)
    assert answered.read_units == 2.5 and unanswered.write_units == 2
    assert unanswered.ws_messages == 1 and big.ws_messages == 3


def call(operation: str, table: str, units: float) -> dict[str, Any]:
    return {"operation": operation, "table": table, "units": units}


MEASURED: dict[str, Any] = {
    "call_legacy": {"by_call": [call("GetItem", "watchers", 1.0), call("PutItem", "jobs", 7.0)],
                    "frame_bytes": 94, "answer_bytes": 36},
    "get_jobs": {"by_call": [call("GetItem", "watchers", 1.0),
                             call("Query", "jobs/by_number", 0.5),
                             call("GetItem", "jobs", 1.0)],
                 "frame_bytes": 85, "answer_bytes": 551},
    "call_wait": {"by_call": [call("GetItem", "watchers", 1.0),
                              call("UpdateItem", "watchers", 1.0),
                              call("PutItem", "watchers", 1.0), call("PutItem", "jobs", 7.0)],
                  "frame_bytes": 73, "answer_bytes": 0},
    "answer": {"by_call": [call("Query", "watchers", 0.5), call("DeleteItem", "watchers", 1.0),
                           call("UpdateItem", "watchers", 1.0)],
               "frame_bytes": 0, "answer_bytes": 42},
    "reservation_wru_per_job": 0.01,
}


def test_the_jobs_own_create_is_left_out_of_a_clients_units() -> None:
    assert client_units(MEASURED["call_legacy"]) == (1.0, 0.0)
    assert client_units(MEASURED["call_wait"]) == (1.0, 2.0)
    assert client_units(MEASURED["get_jobs"]) == (2.5, 0.0)


def test_the_event_functions_answer_is_two_writes_and_one_send_in_a_batch_it_runs_anyway(
) -> None:
    usage = truenas_answer(MEASURED["answer"])

    assert usage.lambda_requests == 0 and usage.read_units == 0
    assert usage.write_units == 2.0 and usage.ws_messages == 1
    assert usage.lambda_gb_seconds == pytest.approx(
        EVENT_MEMORY_GB * TRUENAS_ANSWER_ROUND_TRIPS * EVENT_SEND_SECONDS)


def test_polling_ways_pay_the_call_and_each_poll() -> None:
    usage = total(truenas_steps("aiotruenas", 10, MEASURED))

    assert truenas_polls("aiotruenas", 10) == 11 and truenas_polls("events", 10) == 0
    assert truenas_polls("pytruenas", 10) == 21
    assert usage.lambda_requests == 12 and usage.ws_messages == 24
    assert usage.read_units == pytest.approx(1 + 11 * 2.5) and usage.write_units == 0


def test_a_waiting_call_costs_the_same_whatever_the_jobs_length() -> None:
    short = total(truenas_steps("events", 10, MEASURED))
    long = total(truenas_steps("events", 60, MEASURED))
    expected = (p.LAMBDA_REQUEST.dollars
                + p.API_MEMORY_GB * p.API_BILLED_SECONDS * p.LAMBDA_GB_SECOND.dollars
                + EVENT_MEMORY_GB * 3 * EVENT_SEND_SECONDS * p.LAMBDA_GB_SECOND.dollars
                + 2 * p.API_GATEWAY_WS_MESSAGE.dollars
                + 1 * p.DYNAMODB_READ_UNIT.dollars + 4 * p.DYNAMODB_WRITE_UNIT.dollars)

    assert vars(short) == vars(long)
    assert short.lambda_requests == 1 and short.ws_messages == 2
    assert sum(dollars(short).values()) == pytest.approx(expected)


def test_the_rows_price_each_way_at_each_length_and_waiting_is_cheapest() -> None:
    rows = truenas_rows(MEASURED)

    assert [(r["seconds"], r["way"]) for r in rows] == [
        (10, "pytruenas"), (10, "events"), (10, "aiotruenas"),
        (60, "pytruenas"), (60, "events"), (60, "aiotruenas")]
    for seconds in (10, 60):
        mine = {r["way"]: r["total"] for r in rows if r["seconds"] == seconds}
        assert mine["events"] < mine["aiotruenas"] < mine["pytruenas"]
    sixty = next(r for r in rows if r["seconds"] == 60 and r["way"] == "aiotruenas")
    assert sixty["polls"] == 61 and sixty["messages"] == 124
    assert sixty["total"] == pytest.approx(sum(dollars(Usage(
        lambda_requests=62, lambda_gb_seconds=62 * p.API_MEMORY_GB * p.API_BILLED_SECONDS,
        read_units=1 + 61 * 2.5, ws_messages=124)).values()) * 1e6)


def test_the_table_is_added_when_the_benchmark_ran_and_a_note_when_not() -> None:
    without = Section("cost", "t", "h")
    add_truenas(without, None, 27.0)
    assert not without.tables and "truenas benchmark runs too" in without.notes[0]

    section = Section("cost", "t", "h")
    add_truenas(section, Section("truenas", "t", "h", data=MEASURED), 27.0)
    assert len(section.tables[0].rows) == 6
    assert section.data["truenas"]["cheapest"] == {"10": "events", "60": "events"}
    assert "Cheapest: 10 s: legacy_jobs false" in section.notes[0]


def test_the_numbers_note_adds_the_by_number_put_and_a_share_of_a_reservation() -> None:
    ops = {"create": {"write_units_by_index": {"by_number": 1, "by_tenant": 1}}}

    measured = numbers_note(ops, Section("truenas", "t", "h", data=MEASURED))
    modelled = numbers_note(ops, None)

    assert measured.startswith("Numbers: +1.01 WRU per leaf job ($0.63 per million)")
    assert "measured by the truenas benchmark" in measured
    assert "+1.01 WRU" in modelled and "not measured in this run" in modelled
