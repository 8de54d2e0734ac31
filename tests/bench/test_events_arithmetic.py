"""The events benchmark's arithmetic (issue 17): percentiles, lost and
out-of-order receipts, request units of a subscriptions Query, and the
dollars of events and of following one job. Pure arithmetic: no moto, no
timing."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench import prices as p
from bench.cost import (
    EVENT_BATCH_SECONDS,
    EVENT_MEMORY_GB,
    EVENT_SEND_SECONDS,
    Usage,
    add_events,
    dollars,
    event_batch,
    follow_long_poll,
    follow_polling,
    follow_websocket,
    long_poll_requests,
    per_million_events,
    total,
    ws_messages,
)
from bench.events import Receipt, misses, out_of_order, percentile, query_units
from bench.section import Section


def receipt(watcher: int, job: str, revision: int, kind: str = "changed",
            state: str = "RUNNING") -> Receipt:
    return Receipt(watcher, job, revision, kind, state, 0.0, 0.0)


@pytest.mark.parametrize(("values", "fraction", "expected"), [
    ([1.0], 0.9, 1.0),
    ([float(n) for n in range(1, 11)], 0.9, 9.0),
    ([float(n) for n in range(1, 11)], 0.5, 5.0),
    ([float(n) for n in range(1, 11)], 1.0, 10.0),
    ([float(n) for n in range(10, 0, -1)], 0.9, 9.0),  # order does not matter
    ([float(n) for n in range(1, 101)], 0.99, 99.0),
    ([3.0, 1.0, 2.0], 0.34, 2.0),  # rank ceil(1.02) = 2
])
def test_nearest_rank_percentile(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_misses_count_each_watcher_and_job_without_its_added_or_its_success() -> None:
    receipts = [
        receipt(0, "a", 1, "added", "QUEUED"), receipt(0, "a", 3, state="SUCCESS"),
        receipt(0, "b", 1, "added", "QUEUED"),  # b never ends at watcher 0
        receipt(1, "a", 3, state="SUCCESS"),  # watcher 1 missed a's added
        receipt(1, "b", 1, "added", "QUEUED"), receipt(1, "b", 3, state="SUCCESS"),
    ]
    assert misses(receipts, 2, ["a", "b"]) == {"added_missing": 1, "success_missing": 1}
    assert misses(receipts, 3, ["a", "b"]) == {"added_missing": 3, "success_missing": 3}


def test_out_of_order_counts_a_revision_at_or_below_one_already_received() -> None:
    receipts = [
        receipt(0, "a", 1), receipt(0, "a", 3), receipt(0, "a", 2),  # 2 after 3
        receipt(0, "b", 2), receipt(1, "a", 1), receipt(1, "a", 2),  # others apart
        receipt(0, "a", 3),  # a repeat is out of order too
    ]
    assert out_of_order(receipts) == 2
    assert out_of_order([]) == 0


@pytest.mark.parametrize(("subscriptions", "size", "units"), [
    (1, 300, 0.5), (13, 300, 0.5), (14, 300, 1.0), (100, 300, 4.0), (0, 300, 0.5),
])
def test_a_subscriptions_query_is_half_a_unit_per_4_kb(subscriptions: int, size: int,
                                                       units: float) -> None:
    assert query_units(subscriptions, size) == units


@pytest.mark.parametrize(("size", "messages"), [(1, 1), (32768, 1), (32769, 2), (0, 1)])
def test_websocket_messages_are_billed_in_32_kb_units(size: int, messages: int) -> None:
    assert ws_messages(size) == messages


def test_the_websocket_prices() -> None:
    assert p.API_GATEWAY_WS_MESSAGE.dollars * 1e6 == pytest.approx(1.00)
    assert p.API_GATEWAY_WS_MINUTE.dollars * 1e6 == pytest.approx(0.25)
    assert "API Gateway WebSocket message" in p.ALL


def test_a_usage_without_websocket_costs_what_it_did() -> None:
    usage = Usage(api_requests=3, lambda_requests=4, write_units=10, read_units=2)
    assert dollars(usage)["API Gateway"] == 3 * p.API_GATEWAY_REST_REQUEST.dollars


def test_one_batch_of_the_event_function() -> None:
    batch = event_batch(4, 10, 0.5, 1000, tenants=2)

    assert batch.lambda_requests == 1
    assert batch.lambda_gb_seconds == pytest.approx(
        EVENT_MEMORY_GB * (2 * EVENT_BATCH_SECONDS + 40 * EVENT_SEND_SECONDS))
    assert batch.read_units == 1.0 and batch.ws_messages == 40


def test_a_million_events_one_per_batch_one_watcher() -> None:
    usage = per_million_events(1, 1, 300, 1000)
    expected = (1e6 * p.LAMBDA_REQUEST.dollars
                + 1e6 * EVENT_MEMORY_GB * (EVENT_BATCH_SECONDS + EVENT_SEND_SECONDS)
                * p.LAMBDA_GB_SECOND.dollars
                + 1e6 * 0.5 * p.DYNAMODB_READ_UNIT.dollars
                + 1e6 * p.API_GATEWAY_WS_MESSAGE.dollars)
    assert usage.lambda_requests == pytest.approx(1e6)
    assert usage.ws_messages == pytest.approx(1e6)
    assert sum(dollars(usage).values()) == pytest.approx(expected)


def test_full_batches_divide_the_invocations_and_queries_not_the_sends() -> None:
    one, full = per_million_events(100, 1, 300, 1000), per_million_events(100, 100, 300, 1000)
    assert full.lambda_requests == pytest.approx(one.lambda_requests / 100)
    assert full.read_units == pytest.approx(one.read_units / 100)
    assert full.ws_messages == one.ws_messages == pytest.approx(1e8)


@pytest.mark.parametrize(("seconds", "moves", "requests"), [
    (10, 5, 5), (60, 5, 5), (124, 5, 5), (125, 5, 10), (60, 1, 3), (25, 1, 2), (24, 1, 1),
])
def test_a_long_poll_answers_at_each_move_or_after_25_seconds(seconds: float, moves: int,
                                                             requests: int) -> None:
    assert long_poll_requests(seconds, moves) == requests


def test_a_long_poll_reads_once_a_second_and_bills_the_wait() -> None:
    usage = total(follow_long_poll(60, 5, 1.0))
    assert usage.api_requests == 5 and usage.read_units == 65
    assert usage.lambda_gb_seconds == pytest.approx(p.API_MEMORY_GB
                                                    * (60 + 5 * p.API_BILLED_SECONDS))


def test_polling_every_second() -> None:
    usage = total(follow_polling(10, 1.0))
    assert usage.api_requests == 10 and usage.read_units == 10
    assert usage.lambda_gb_seconds == pytest.approx(10 * p.API_MEMORY_GB
                                                    * p.API_BILLED_SECONDS)


ROUTES = {"connect": {"wru": 1.0, "rru": 0.0}, "subscribe": {"wru": 2.0, "rru": 1.0},
          "disconnect": {"wru": 2.0, "rru": 1.0}, "get": {"rru": 1.0}}


def test_a_websocket_watcher_following_one_job() -> None:
    steps = follow_websocket(61, 6, ROUTES, 0.5, 1000)
    usage = total(steps)

    assert usage.ws_minutes == 2  # by the started minute
    assert usage.ws_messages == 2 + 6  # subscribe and its reply, then the events
    assert usage.lambda_requests == 3 + 6  # three routes, a batch per event
    assert usage.write_units == 5 and usage.read_units == 2 + 6 * 0.5
    assert usage.api_requests == 0


def measured_events() -> dict[str, Any]:
    sleep = {"events": 6, "records": 6, "message_bytes": 1047, "kinds": {"added": 1, "changed": 5}}
    return {"counts": {"cases": {"sleep": sleep}, "routes": ROUTES,
                       "watcher_items": {"subscription": 300, "connection": 200}}}


def test_add_events_leaves_the_leaf_job_and_names_the_cheapest() -> None:
    section = Section(name="cost", title="", how="")
    add_events(section, Section(name="events", title="", how="", data=measured_events()),
               20.0)

    per_event, follow = section.tables
    assert [(r["watchers"], r["per_batch"]) for r in per_event.rows] == [
        (0, 1), (0, 100), (1, 1), (1, 100), (10, 1), (100, 1), (100, 100)]
    nobody, first = per_event.rows[0], per_event.rows[2]
    assert nobody["messages"] == 0 and nobody["per_million_sends"] is None
    assert section.data["events"]["unwatched_per_million_leaf_jobs"]["1"] == pytest.approx(
        nobody["total"] * 6)
    assert first["total"] == pytest.approx(sum(dollars(per_million_events(1, 1, 300, 1047))
                                               .values()))
    assert {r["seconds"] for r in follow.rows} == {10, 60}
    cheapest = section.data["events"]["cheapest"]
    for seconds in ("10", "60"):
        rows = [r for r in follow.rows if r["seconds"] == int(seconds)
                and "already" not in r["design"]]
        assert cheapest[seconds] == min(rows, key=lambda r: r["total"])["design"]
    assert "$20.00 per million leaves events out" in section.notes[0]


def test_add_events_without_the_events_benchmark_says_how_to_get_it() -> None:
    section = Section(name="cost", title="", how="")
    add_events(section, None, 20.0)
    assert not section.tables and "--only events" in section.notes[0]
    assert math.isclose(len(section.notes), 1)
