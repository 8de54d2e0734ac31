"""The ArangoDB face's job manager (issue 19, items 2 to 4) over the Chalice
test client: every job, by its number, with RestJobHandler's status codes
and ArangoDB's error body, also under /_db/<database>/, within the caller's
scope; a stored response is fetched once, however many fetch at once."""

from __future__ import annotations

import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.faces.arangodb.job_endpoints import VERSION
from tests.helpers import Answer, JobsClient, token_for, wait_until
from tests.methods_for_tests import gate

ASYNC_ID = "x-arango-async-id"


def finished(jobs: JobsClient, method: str, params: dict[str, Any]) -> str:
    """Submits a native job, waits for its end; its number, as ArangoDB shows it."""
    job = jobs.submit(method, params).body
    jobs.wait_for(job["id"])
    return str(job["number"])


def arango_error(answer: Answer, status: int, error_num: int) -> None:
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error", "errorNum", "errorMessage", "code"}, answer.body
    assert answer.body["error"] is True and answer.body["code"] == status
    assert answer.body["errorNum"] == error_num
    assert isinstance(answer.body["errorMessage"], str) and answer.body["errorMessage"]


@pytest.fixture
def held(jobs: JobsClient) -> Iterator[dict[str, Any]]:
    """A running job that holds until the test ends (test.blocking)."""
    name = str(uuid.uuid4())
    job = jobs.submit("test.blocking", {"gate": name}).body
    jobs.wait_for(job["id"], lambda seen: seen["state"] == "RUNNING")
    yield job
    gate(name).set()


def test_the_version_answers_under_every_database_name_of_the_caller(jobs: JobsClient) -> None:
    for path in ("/_api/version", "/_db/_system/_api/version", "/_db/default/_api/version"):
        answer = jobs.request("GET", path)
        assert answer.status == 200
        assert answer.body == {"server": "jobapi", "version": VERSION, "license": "community"}


def test_an_unknown_database_is_a_404_with_errornum_1228(jobs: JobsClient) -> None:
    number = finished(jobs, "demo.echo", {})
    for method, path in (("GET", "/_db/other/_api/version"),
                         ("GET", f"/_db/other/_api/job/{number}"),
                         ("PUT", f"/_db/other/_api/job/{number}"),
                         ("PUT", f"/_db/other/_api/job/{number}/cancel"),
                         ("DELETE", "/_db/other/_api/job/all")):
        arango_error(jobs.request(method, path), 404, 1228)
    assert jobs.request("GET", f"/_api/job/{number}").status == 200  # nothing was fetched


def test_a_finished_job_is_200_and_a_running_one_204(jobs: JobsClient,
                                                      held: dict[str, Any]) -> None:
    number = finished(jobs, "demo.echo", {"a": 1})

    done = jobs.request("GET", f"/_api/job/{number}")
    pending = jobs.request("GET", f"/_api/job/{held['number']}")

    assert done.status == 200 and pending.status == 204
    assert jobs.request("GET", f"/_db/_system/_api/job/{number}").status == 200
    assert jobs.request("GET", f"/_db/default/_api/job/{held['number']}").status == 204


@pytest.mark.parametrize("job_id", ["foobar", "999999999", "12345678901234567890123", "-1",
                                    "1.0", "٣"])
def test_an_unknown_job_is_a_404_on_every_route(jobs: JobsClient, job_id: str) -> None:
    for method, path in (("GET", f"/_api/job/{job_id}"), ("PUT", f"/_api/job/{job_id}"),
                         ("PUT", f"/_api/job/{job_id}/cancel"),
                         ("DELETE", f"/_api/job/{job_id}")):
        answer = jobs.request(method, path)
        arango_error(answer, 404, 404)
        assert ASYNC_ID not in answer.headers


@pytest.mark.parametrize("content_type", ["application/xml", "text/html", "image/png"])
def test_any_content_type_is_answered_as_arangod_does_never_a_415(
        jobs: JobsClient, content_type: str) -> None:
    number = finished(jobs, "demo.echo", {"b": 2})
    sent = {"Content-Type": content_type}

    version = jobs.request("GET", "/_api/version", raw="<x/>", headers=sent)
    status = jobs.request("GET", f"/_db/_system/_api/job/{number}", raw="<x/>", headers=sent)
    cancel = jobs.request("PUT", f"/_api/job/{number}/cancel", raw="<x/>", headers=sent)

    assert version.status == 200 and version.body["server"] == "jobapi"
    assert status.status == 200
    arango_error(cancel, 409, 1200)  # finished: as arangod answers, not Chalice's 415
    fetched = jobs.request("PUT", f"/_db/_system/_api/job/{number}", raw="", headers=sent)
    assert fetched.status == 200 and fetched.body == {"b": 2}
    arango_error(jobs.request("PUT", "/_api/job/foobar", headers=sent), 404, 404)


def test_no_job_id_is_a_400(jobs: JobsClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        answer = jobs.request(method, "/_api/job")
        arango_error(answer, 400, 400)
        assert ASYNC_ID not in answer.headers
    arango_error(jobs.request("PUT", "/_db/_system/_api/job"), 400, 400)


def test_a_fetch_answers_the_result_once_with_its_id(jobs: JobsClient) -> None:
    number = finished(jobs, "demo.echo", {"hello": "world"})

    first = jobs.request("PUT", f"/_api/job/{number}")
    again = jobs.request("PUT", f"/_api/job/{number}")

    assert first.status == 200 and first.body == {"hello": "world"}
    assert first.headers[ASYNC_ID] == number
    arango_error(again, 404, 404)
    assert ASYNC_ID not in again.headers
    arango_error(jobs.request("GET", f"/_api/job/{number}"), 404, 404)


def test_a_fetch_under_the_tenants_database_answers_the_same(jobs: JobsClient) -> None:
    number = finished(jobs, "demo.echo", {"n": 2})

    answer = jobs.request("PUT", f"/_db/default/_api/job/{number}")

    assert answer.status == 200 and answer.body == {"n": 2}
    assert answer.headers[ASYNC_ID] == number


def test_a_pending_job_fetches_as_204_without_the_header_and_stays(
    jobs: JobsClient, held: dict[str, Any]
) -> None:
    answer = jobs.request("PUT", f"/_api/job/{held['number']}")

    assert answer.status == 204 and ASYNC_ID not in answer.headers
    assert jobs.get(held["id"]).body["state"] == "RUNNING"


def test_a_failed_job_fetches_as_a_500_with_its_error_in_arangodbs_body(
    jobs: JobsClient,
) -> None:
    number = finished(jobs, "demo.fail", {"message": "the disk is full"})

    answer = jobs.request("PUT", f"/_api/job/{number}")

    arango_error(answer, 500, 500)
    assert "the disk is full" in answer.body["errorMessage"]
    assert answer.headers[ASYNC_ID] == number


def test_a_cancelled_job_fetches_as_a_410_canceled_request(jobs: JobsClient) -> None:
    job = jobs.submit("demo.sleep", {"seconds": 60}).body
    assert jobs.request("PUT", f"/_api/job/{job['number']}/cancel").status == 200
    jobs.wait_for(job["id"])

    answer = jobs.request("PUT", f"/_api/job/{job['number']}")

    arango_error(answer, 410, 21)
    assert answer.headers[ASYNC_ID] == str(job["number"])


def test_cancel_starts_a_cancel_and_answers_result_true(jobs: JobsClient) -> None:
    job = jobs.submit("demo.sleep", {"seconds": 60, "steps": 600}).body
    jobs.wait_for(job["id"], lambda seen: seen["state"] == "RUNNING")

    answer = jobs.request("PUT", f"/_db/_system/_api/job/{job['number']}/cancel")

    assert answer.status == 200 and answer.body == {"result": True}
    assert jobs.wait_for(job["id"])["state"] == "ABORTED"


def test_cancelling_a_finished_job_is_a_409_conflict(jobs: JobsClient) -> None:
    number = finished(jobs, "demo.echo", {})

    answer = jobs.request("PUT", f"/_api/job/{number}/cancel")

    arango_error(answer, 409, 1200)
    assert jobs.request("PUT", f"/_api/job/{number}").status == 200  # still there


def test_cancelling_a_running_job_that_is_not_abortable_is_a_409(
    jobs: JobsClient, held: dict[str, Any]
) -> None:
    arango_error(jobs.request("PUT", f"/_api/job/{held['number']}/cancel"), 409, 1200)
    assert jobs.get(held["id"]).body["state"] == "RUNNING"


def test_deleting_one_job_answers_result_true_and_it_is_gone(jobs: JobsClient) -> None:
    number = finished(jobs, "demo.echo", {})

    answer = jobs.request("DELETE", f"/_api/job/{number}")

    assert answer.status == 200 and answer.body == {"result": True}
    arango_error(jobs.request("GET", f"/_api/job/{number}"), 404, 404)
    arango_error(jobs.request("DELETE", f"/_api/job/{number}"), 404, 404)


def test_deleting_a_pending_job_removes_its_entry_but_does_not_stop_it(
    jobs: JobsClient, held: dict[str, Any]
) -> None:
    answer = jobs.request("DELETE", f"/_db/default/_api/job/{held['number']}")

    assert answer.status == 200 and answer.body == {"result": True}
    arango_error(jobs.request("GET", f"/_api/job/{held['number']}"), 404, 404)
    assert jobs.get(held["id"]).status == 404


def test_delete_all_removes_the_finished_jobs_and_leaves_the_pending(
    jobs: JobsClient, held: dict[str, Any]
) -> None:
    numbers = [finished(jobs, "demo.echo", {"i": i}) for i in range(3)]

    answer = jobs.request("DELETE", "/_api/job/all")

    assert answer.status == 200 and answer.body == {"result": True}
    assert all(jobs.request("GET", f"/_api/job/{n}").status == 404 for n in numbers)
    assert jobs.request("GET", f"/_api/job/{held['number']}").status == 204
    again = jobs.request("DELETE", "/_api/job/all")  # nothing left: still 200
    assert again.status == 200 and again.body == {"result": True}


def test_delete_expired_removes_the_jobs_created_before_the_stamp(jobs: JobsClient) -> None:
    older = finished(jobs, "demo.echo", {})
    past = jobs.request("DELETE", f"/_api/job/expired?stamp={int(time.time()) - 3600}")
    assert past.status == 200 and past.body == {"result": True}
    assert jobs.request("GET", f"/_api/job/{older}").status == 200

    future = jobs.request("DELETE", f"/_api/job/expired?stamp={int(time.time()) + 360}")

    assert future.status == 200 and future.body == {"result": True}
    arango_error(jobs.request("GET", f"/_api/job/{older}"), 404, 404)


@pytest.mark.parametrize("query", ["", "?stamp=", "?stamp=soon", "?stamp=nan", "?stamp=-1",
                                   "?stamp=1e300"])
def test_delete_expired_without_a_good_stamp_is_a_400(jobs: JobsClient, query: str) -> None:
    arango_error(jobs.request("DELETE", f"/_api/job/expired{query}"), 400, 400)


def test_done_and_pending_list_the_numbers_newest_first(
    jobs: JobsClient, held: dict[str, Any]
) -> None:
    numbers = [finished(jobs, method, params) for method, params in (
        ("demo.echo", {}), ("demo.fail", {"message": "no"}), ("demo.echo", {"x": 1}))]

    done = jobs.request("GET", "/_api/job/done")
    pending = jobs.request("GET", "/_db/_system/_api/job/pending")
    newest = jobs.request("GET", "/_api/job/done?count=2")

    assert done.status == 200 and done.body == numbers[::-1]
    assert pending.status == 200 and pending.body == [str(held["number"])]
    assert newest.body == numbers[:0:-1]


@pytest.mark.parametrize("count", ["0", "1001", "-1", "two", "1.5"])
def test_a_bad_count_is_a_400(jobs: JobsClient, count: str) -> None:
    arango_error(jobs.request("GET", f"/_api/job/done?count={count}"), 400, 400)


def test_another_users_or_tenants_job_is_unknown(jobs: JobsClient) -> None:
    number = finished(jobs, "demo.echo", {"mine": True})
    user = jobs.as_caller(token_for(user="somebody", roles=("USER",)))
    stranger = jobs.as_caller(token_for(tenant="elsewhere", user="x"))

    for other in (user, stranger):
        for method, path in (("GET", f"/_api/job/{number}"), ("PUT", f"/_api/job/{number}"),
                             ("PUT", f"/_api/job/{number}/cancel"),
                             ("DELETE", f"/_api/job/{number}")):
            arango_error(other.request(method, path), 404, 404)
        assert other.request("GET", "/_api/job/done").body == []
        assert other.request("DELETE", "/_api/job/all").status == 200
    arango_error(stranger.request("GET", f"/_db/default/_api/job/{number}"), 404, 1228)
    assert jobs.request("PUT", f"/_api/job/{number}").body == {"mine": True}


def test_a_lowercase_bearer_scheme_is_accepted(jobs: JobsClient) -> None:
    number = finished(jobs, "demo.echo", {})
    lowercase = jobs.as_caller(None)

    answer = lowercase.request("GET", f"/_api/job/{number}",
                               headers={"Authorization": f"bearer {token_for()}"})

    assert answer.status == 200


def test_of_64_simultaneous_fetches_exactly_one_gets_the_result(jobs: JobsClient) -> None:
    number = finished(jobs, "demo.echo", {"once": "only"})
    start = threading.Barrier(64)

    def fetch(_: int) -> Answer:
        start.wait()
        return jobs.request("PUT", f"/_api/job/{number}")

    with ThreadPoolExecutor(max_workers=64) as pool:
        answers = list(pool.map(fetch, range(64)))

    won = [answer for answer in answers if answer.status == 200]
    assert len(won) == 1 and won[0].body == {"once": "only"}
    assert won[0].headers[ASYNC_ID] == number
    lost = [answer for answer in answers if answer.status == 404]
    assert len(lost) == 63
    assert all(ASYNC_ID not in answer.headers and answer.body["errorNum"] == 404
               for answer in lost)
    wait_until(lambda: jobs.request("GET", f"/_api/job/{number}").status, lambda s: s == 404)


segment = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                  min_size=1, max_size=12).map(lambda text: urllib.parse.quote(text, safe=""))
query = st.dictionaries(st.sampled_from(["count", "stamp", "x"]),
                        st.text(max_size=12), max_size=2).map(urllib.parse.urlencode)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "PUT", "DELETE"]), database=st.none() | segment,
       job=segment | st.sampled_from(["done", "pending", "all", "expired", "-1", "0",
                                      str(2**70)]),
       cancel=st.booleans(), args=query)
def test_fuzzed_job_manager_requests_answer_in_arangos_body_never_500(
    jobs: JobsClient, method: str, database: str | None, job: str, cancel: bool, args: str
) -> None:
    path = (f"/_db/{database}" if database else "") + f"/_api/job/{job}" + \
        ("/cancel" if cancel and method == "PUT" else "") + (f"?{args}" if args else "")

    answer = jobs.request(method, path)

    assert answer.status < 500, (path, answer.body)
    if answer.status >= 400:
        assert answer.body["error"] is True and answer.body["code"] == answer.status, answer.body
