"""Finding a job by its number while the by_number index lags (issue 18,
item 4; chalicelib/store/numbers.py): a global secondary index is eventually
consistent, so a number not found is looked up again after 0.1, 0.3 and
0.6 s. moto's index is always current; a botocore hook on the app's own
DynamoDB client (the AWS boundary) hides the job from the first Queries of
by_number, as a lagging index would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import keys
from chalicelib.store.numbers import NOT_FOUND_PAUSES
from chalicelib.wiring import services
from tests.functional.test_job_numbers import ids, listed
from tests.helpers import JobsClient


class LaggingIndex:
    """Empties the answers of the next `misses` Queries of by_number."""

    def __init__(self) -> None:
        self.misses = 0
        self.queries = 0  # of by_number, hidden or not
        self._by_number = False

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self._by_number = params.get("IndexName") == keys.BY_NUMBER

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        if not self._by_number:
            return
        self.queries += 1
        if self.misses > 0 and "Items" in parsed:
            self.misses -= 1
            parsed["Items"], parsed["Count"] = [], 0


@pytest.fixture
def lagging(jobs: JobsClient) -> Iterator[LaggingIndex]:
    events = services().clients.dynamodb.meta.events
    index = LaggingIndex()
    events.register("before-parameter-build.dynamodb.Query", index._before,
                    unique_id="lagging-before")
    events.register("after-call.dynamodb.Query", index._after, unique_id="lagging-after")
    try:
        yield index
    finally:
        events.unregister("before-parameter-build.dynamodb.Query", unique_id="lagging-before")
        events.unregister("after-call.dynamodb.Query", unique_id="lagging-after")


def lookup(jobs: JobsClient, number: int) -> tuple[list[str], float]:
    started = time.monotonic()
    found = ids(listed(jobs, [["number", "=", number]]))
    return found, time.monotonic() - started


def test_the_pauses_are_a_tenth_then_three_tenths_then_six_tenths_of_a_second() -> None:
    assert NOT_FOUND_PAUSES == (0.1, 0.3, 0.6)


def test_a_number_missing_from_the_index_at_first_is_found_after_one_pause(
    jobs: JobsClient, lagging: LaggingIndex
) -> None:
    job = jobs.submit("demo.echo", {}).body
    lagging.misses, lagging.queries = 1, 0

    found, seconds = lookup(jobs, job["number"])

    assert found == [job["id"]]
    assert lagging.queries == 2 and lagging.misses == 0  # it stopped once found
    assert seconds >= 0.1


def test_a_number_found_only_by_the_last_query_waited_one_second(
    jobs: JobsClient, lagging: LaggingIndex
) -> None:
    job = jobs.submit("demo.echo", {}).body
    lagging.misses, lagging.queries = len(NOT_FOUND_PAUSES), 0

    found, seconds = lookup(jobs, job["number"])

    assert found == [job["id"]]
    assert lagging.queries == 1 + len(NOT_FOUND_PAUSES)
    assert seconds >= sum(NOT_FOUND_PAUSES)


def test_a_number_the_index_never_shows_is_not_found_after_four_queries(
    jobs: JobsClient, lagging: LaggingIndex
) -> None:
    job = jobs.submit("demo.echo", {}).body
    lagging.misses, lagging.queries = 1 + len(NOT_FOUND_PAUSES), 0

    found, seconds = lookup(jobs, job["number"])
    lagging.queries = 0
    unknown, unknown_seconds = lookup(jobs, 10**9)  # a number no job has: the same cost

    assert found == [] and unknown == []
    assert lagging.queries == 1 + len(NOT_FOUND_PAUSES)
    assert seconds >= sum(NOT_FOUND_PAUSES) and unknown_seconds >= sum(NOT_FOUND_PAUSES)
