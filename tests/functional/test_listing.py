"""GET /jobs: the query language against a reference evaluation, paging with
signed tokens, bounded reads on indexes (never a Scan), and clear 400s."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import keys
from chalicelib.models import Job
from chalicelib.wiring import services
from local.provision import Provisioned
from tests.functional.listing_population import METHODS, make_jobs, visible_views
from tests.helpers import CallRecorder, JobsClient

POPULATION = 90


@pytest.fixture
def population(aws: Provisioned) -> list[Job]:
    jobs = make_jobs(services().store, POPULATION)
    make_jobs(services().store, 12, seed=99, tenant="other-tenant")  # must never show
    return jobs


def query(jobs: JobsClient, **params: Any):  # type: ignore[no-untyped-def]
    encoded = urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                      for k, v in params.items()})
    return jobs.request("GET", f"/jobs?{encoded}")


def all_pages(jobs: JobsClient, **params: Any) -> list[str]:
    ids: list[str] = []
    token = None
    for _ in range(500):
        answer = query(jobs, **params, **({"next_token": token} if token else {}))
        assert answer.status == 200, answer.body
        ids += [record["id"] for record in answer.body["records"]]
        token = answer.body["next_token"]
        if token is None:
            return ids
    raise AssertionError("paging never ended")


# ---- an independent reference evaluation of the filters these tests use ----

def ref_value(record: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        record = record.get(part) if isinstance(record, dict) else None  # type: ignore[assignment]
    return record


def ref_match(record: dict[str, Any], flt: list[Any]) -> bool:
    if flt[0] == "OR":
        return any(all(ref_match(record, f) for f in branch) for branch in flt[1])
    field, op, value = flt
    have = ref_value(record, field)
    if op == "=":
        return bool(have == value)
    if op == "in":
        return have in value
    if op == "^":
        return isinstance(have, str) and have.startswith(value)
    if op == "~":  # TrueNAS: re.match, anchored at the start
        return isinstance(have, str) and re.match(value, have) is not None
    if have is None:
        return False
    return {">": have > value, ">=": have >= value, "<": have < value, "<=": have <= value}[op]


def reference(jobs: list[Job], filters: list[list[Any]], transient: bool,
              order: str | None) -> list[str]:
    views = [v for v in visible_views(jobs, transient) if all(ref_match(v, f) for f in filters)]
    views.sort(key=lambda v: (v["time_created"], v["id"]), reverse=order != "time_created")
    if order == "state,-time_created":  # stable: ties keep the newest-first order
        views.sort(key=lambda v: v["state"])
    return [v["id"] for v in views]


EXTRA_FILTERS = [
    ["progress.percent", ">=", 50],
    ["method", "^", "demo."],
    ["OR", [[["state", "=", "FAILED"]], [["user_id", "=", "alice"]]]],
    ["exc_info.type", "=", "OSError"],
    ["description", "~", ".*export$"],
    ["state", "in", ["WAITING", "RUNNING"]],
    ["abortable", "=", True],
]


@st.composite
def list_requests(draw: st.DrawFn) -> tuple[dict[str, Any], list[list[Any]], bool, str | None]:
    params: dict[str, Any] = {"limit": str(draw(st.integers(1, 40)))}
    filters: list[list[Any]] = []
    if draw(st.booleans()):
        state = draw(st.sampled_from(["WAITING", "RUNNING", "SUCCESS", "FAILED", "ABORTED"]))
        params["state"] = state
        filters.append(["state", "=", state])
    if draw(st.booleans()):
        method = draw(st.sampled_from(METHODS))
        params["method"] = method
        filters.append(["method", "=", method])
    if draw(st.booleans()):
        user = draw(st.sampled_from(["alice", "bob"]))
        params["user_id"] = user
        filters.append(["user_id", "=", user])
    extra = draw(st.lists(st.sampled_from(EXTRA_FILTERS), max_size=2))
    if extra:
        params["filters"] = extra
        filters += extra
    transient = draw(st.booleans())
    if transient:
        params["transient"] = "true"
    order = draw(st.sampled_from([None, "time_created", "-time_created", "state,-time_created"]))
    if order:
        params["order_by"] = order
    return params, filters, transient, order


@settings(max_examples=40, deadline=None, print_blob=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=list_requests())
def test_every_page_of_every_query_agrees_with_the_reference(
    jobs: JobsClient, population: list[Job],
    request: tuple[dict[str, Any], list[list[Any]], bool, str | None],
) -> None:
    params, filters, transient, order = request

    listed = all_pages(jobs, **params)

    assert listed == reference(population, filters, transient, order)


def test_a_time_range_uses_the_sort_key_and_agrees_with_the_reference(
    jobs: JobsClient, population: list[Job]
) -> None:
    times = sorted(job.time_created for job in population)
    after, before = times[20], times[60]

    listed = all_pages(jobs, created_after=after, created_before=before, limit="7")

    expected = reference(population, [["time_created", ">", after],
                                      ["time_created", "<", before]], False, None)
    assert listed == expected and len(expected) > 10


def test_the_answer_is_a_netapp_style_envelope(jobs: JobsClient, population: list[Job]) -> None:
    answer = query(jobs, limit="5", order_by="time_created")

    body = answer.body
    assert set(body) == {"records", "returned_records", "total_records", "sort_by",
                         "order_by", "offset", "limit", "next_token"}
    assert body["returned_records"] == 5 and body["limit"] == 5 and body["offset"] == 0
    assert (body["sort_by"], body["order_by"]) == ("time_created", "asc")
    assert body["next_token"] and body["total_records"] is None


def test_total_records_is_given_when_asked_for(jobs: JobsClient, population: list[Job]) -> None:
    answer = query(jobs, state="FAILED", limit="2", total="true")

    expected = reference(population, [["state", "=", "FAILED"]], False, None)
    assert answer.body["total_records"] == len(expected)


def test_count_get_select_and_offset(jobs: JobsClient, population: list[Job]) -> None:
    expected = reference(population, [["method", "=", "disk.clone"]], False, None)

    count = query(jobs, method="disk.clone", count="true").body
    first = query(jobs, method="disk.clone", get="true", select="id,progress.percent").body
    offset = query(jobs, method="disk.clone", offset="3", limit="2").body

    assert count == {"count": len(expected)}
    assert set(first) == {"id", "progress"} and set(first["progress"]) == {"percent"}
    assert first["id"] == expected[0]
    assert [r["id"] for r in offset["records"]] == expected[3:5]


def test_a_count_on_indexed_attributes_reads_only_the_index(
    jobs: JobsClient, population: list[Job]
) -> None:
    calls = CallRecorder(services().clients.dynamodb, api_only=True)

    answer = query(jobs, state="FAILED", count="true")

    expected = reference(population, [["state", "=", "FAILED"]], False, None)
    assert answer.body == {"count": len(expected)}
    assert set(calls.names()) == {"Query"}


def test_a_count_of_unfinished_jobs_reads_their_records(
    jobs: JobsClient, population: list[Job]
) -> None:
    """by_active projects no state (a claim must not rewrite its entry, issue
    23): counting RUNNING jobs reads the tenant's unfinished entries and their
    records, never a finished job."""
    calls = CallRecorder(services().clients.dynamodb, api_only=True)

    answer = query(jobs, state="RUNNING", count="true")

    expected = reference(population, [["state", "=", "RUNNING"]], False, None)
    assert answer.body == {"count": len(expected)}
    assert set(calls.names()) == {"Query", "BatchGetItem"}


def test_get_with_no_match_is_404(jobs: JobsClient, population: list[Job]) -> None:
    answer = query(jobs, method="no.such.method", get="true")

    assert answer.status == 404


def test_other_tenants_jobs_never_appear(jobs: JobsClient, population: list[Job]) -> None:
    mine = {job.id for job in population}

    listed = all_pages(jobs, limit="50", transient="true")
    foreign = query(jobs, tenant_id="other-tenant").body

    assert set(listed) <= mine
    assert foreign["records"] == [] and foreign["next_token"] is None


def test_expired_and_transient_jobs_are_hidden_unless_transient_is_asked(
    jobs: JobsClient, population: list[Job]
) -> None:
    listed = set(all_pages(jobs, limit="50"))
    with_transient = set(all_pages(jobs, limit="50", transient="true"))

    assert not any(job.id in listed for job in population if job.transient)
    assert {job.id for job in population if job.transient} & with_transient
    now = time.time()
    expired = {job.id for job in population if job.expires_at and job.expires_at < now}
    assert expired and not expired & with_transient


def test_a_page_of_fifty_on_an_indexed_filter_is_one_query_and_one_batch_get(
    jobs: JobsClient, aws: Provisioned
) -> None:
    make_jobs(services().store, 400, seed=3, hidden=False)
    calls = CallRecorder(services().clients.dynamodb, api_only=True)

    answer = query(jobs, state="SUCCESS", limit="50")

    assert answer.body["returned_records"] == 50 and answer.body["next_token"]
    assert calls.names() == ["Query", "BatchGetItem"]
    query_params = calls.calls[0][1]
    assert query_params["IndexName"] == keys.BY_TENANT_STATE
    assert query_params["Limit"] <= 2 * 50
    assert len(calls.calls[1][1]["RequestItems"][aws.table_name]["Keys"]) == 51


def test_hidden_jobs_cost_at_most_a_second_query_and_never_a_scan(
    jobs: JobsClient, aws: Provisioned
) -> None:
    make_jobs(services().store, 800, seed=4)  # transient and expired ones among them
    calls = CallRecorder(services().clients.dynamodb, api_only=True)

    answer = query(jobs, state="SUCCESS", limit="50")

    assert answer.body["returned_records"] == 50
    assert 1 <= calls.count("Query") <= 2 and calls.count("Scan") == 0
    assert sum(params["Limit"] for name, params in calls.calls if name == "Query") <= 2 * 50


def test_a_tampered_token_is_rejected(jobs: JobsClient, population: list[Job]) -> None:
    token = query(jobs, limit="3").body["next_token"]
    body, signature = token.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature

    answer = query(jobs, limit="3", next_token=forged)

    assert answer.status == 400
    assert answer.body["error"]["message"] == "next_token is invalid"


def test_a_token_cannot_be_reused_with_another_query(
    jobs: JobsClient, population: list[Job]
) -> None:
    token = query(jobs, limit="3").body["next_token"]

    answer = query(jobs, limit="3", state="FAILED", next_token=token)

    assert answer.status == 400
    assert "another query" in answer.body["error"]["message"]


def test_sorting_in_memory_more_than_it_may_is_a_400_with_a_hint(
    jobs: JobsClient, aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chalicelib.listing as listing

    monkeypatch.setattr(listing, "SORT_SET_LIMIT", 10)
    make_jobs(services().store, 40, seed=5)

    answer = query(jobs, order_by="state")

    assert answer.status == 400
    assert "time range" in answer.body["error"]["message"]


@pytest.mark.parametrize("params, words", [
    ({"filters": "[[\"colour\", \"=\", \"red\"]]"}, "filters[0]"),
    ({"filters": "[[\"state\", \"==\", \"RUNNING\"]]"}, "filters[0]"),
    ({"filters": "[[\"progress.percent\", \">\", \"half\"]]"}, "filters[0]"),
    ({"filters": "[[\"state\", \"=\", \"DONE\"]]"}, "filters[0]"),
    ({"filters": "[\"state\""}, "filters"),
    ({"filters": "[[\"method\", \"~\", \"(a)\\\\1\"]]"}, "filters[0]"),
    ({"limit": "0"}, "limit"),
    ({"limit": "5000"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"order_by": "colour"}, "order_by"),
    ({"select": "password"}, "select"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"state": "DONE"}, "state"),
    ({"sort": "state"}, "<unknown field>"),  # an unknown name is not echoed
])
def test_bad_listing_input_is_a_400_that_names_the_problem(
    jobs: JobsClient, aws: Provisioned, params: dict[str, str], words: str
) -> None:
    answer = jobs.request("GET", "/jobs?" + urllib.parse.urlencode(params))

    assert answer.status == 400, answer.body
    assert words in answer.body["error"]["message"]
