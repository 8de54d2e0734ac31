"""The ArangoDB face's job manager with a real ArangoDB client, unchanged:
python-arango 8.3.7 (from PyPI) against `make run`'s server, with Basic auth
(any user name, an API key as the password) and with a JWT. Jobs are
submitted natively (POST /jobs); python-arango's own AsyncJob follows them
by number, as it follows the jobs of its own async requests; its async
requests (`begin_async_execution`) are jobs that replay them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from arango import ArangoClient
from arango.database import StandardDatabase
from arango.exceptions import (
    AsyncJobCancelError,
    AsyncJobResultError,
    AsyncJobStatusError,
    ServerVersionError,
)
from arango.job import AsyncJob
from arango.response import Response

from chalicelib.faces.arangodb.job_endpoints import VERSION
from local.emulated import LOCAL_JWT_SECRET
from tests.e2e.conftest import LocalServer


@pytest.fixture(scope="module")
def arango(server: LocalServer) -> Iterator[ArangoClient]:
    client = ArangoClient(hosts=server.url)
    yield client
    client.close()


@pytest.fixture
def basic_db(arango: ArangoClient, api_key: str) -> StandardDatabase:
    return arango.db("_system", username="anyone", password=api_key)


def arangodb_jwt() -> str:
    """A JWT of the default tenant's admin, as python-arango takes one: it
    reads `iss` ("arangodb"), `iat` and `exp` itself before sending it."""
    now = int(time.time())
    claims = {"sub": "admin", "tenant_id": "default", "roles": ["TENANT_ADMIN"],
              "iss": "arangodb", "iat": now, "exp": now + 600}
    secret = os.environ.get("JOBS_JWT_SECRET") or LOCAL_JWT_SECRET
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
def jwt_db(arango: ArangoClient) -> StandardDatabase:
    return arango.db("_system", user_token=arangodb_jwt())


def submitted(server: LocalServer, method: str, params: dict[str, Any]) -> dict[str, Any]:
    answer = server.http.post(f"{server.url}/jobs", json={"method": method, "params": params},
                              timeout=10)
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def body(resp: Response) -> Any:
    return resp.body


def async_job(db: StandardDatabase, job: dict[str, Any]) -> AsyncJob[Any]:
    return AsyncJob(db._conn, str(job["number"]), response_handler=body)


def done(job: AsyncJob[Any], timeout: float = 30) -> AsyncJob[Any]:
    deadline = time.monotonic() + timeout
    while job.status() != "done":
        assert time.monotonic() < deadline, f"job {job.id} still pending"
        time.sleep(0.1)
    return job


def running(server: LocalServer, job: dict[str, Any], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while server.http.get(f"{server.url}/jobs/{job['id']}", timeout=10).json()["state"] \
            != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.parametrize("auth", ["basic", "jwt"])
def test_python_arango_follows_a_job_to_its_result_once(
    server: LocalServer, basic_db: StandardDatabase, jwt_db: StandardDatabase, auth: str
) -> None:
    db = basic_db if auth == "basic" else jwt_db
    job = done(async_job(db, submitted(server, "demo.echo", {"via": auth})))

    assert job.result() == {"via": auth}
    with pytest.raises(AsyncJobResultError) as fetched:
        job.result()
    assert fetched.value.http_code == 404 and fetched.value.error_code == 404
    with pytest.raises(AsyncJobStatusError):
        job.status()


def test_python_arango_reads_a_failed_job_as_its_error(
    server: LocalServer, basic_db: StandardDatabase
) -> None:
    job = done(async_job(basic_db, submitted(server, "demo.fail", {"message": "nope"})))

    outcome = job.result()

    assert outcome["error"] is True and outcome["code"] == 500
    assert "nope" in outcome["errorMessage"]


def test_python_arango_cancels_a_running_sleep(
    server: LocalServer, jwt_db: StandardDatabase
) -> None:
    native = submitted(server, "demo.sleep", {"seconds": 60, "steps": 600})
    running(server, native)
    job = async_job(jwt_db, native)

    assert job.status() == "pending"
    assert job.cancel() is True
    assert done(job).result()["errorNum"] == 21
    with pytest.raises(AsyncJobCancelError):
        job.cancel()
    assert job.cancel(ignore_missing=True) is False


def test_python_arango_clears_one_job(server: LocalServer, basic_db: StandardDatabase) -> None:
    job = done(async_job(basic_db, submitted(server, "demo.echo", {})))

    assert job.clear() is True
    assert job.clear(ignore_missing=True) is False
    with pytest.raises(AsyncJobStatusError):
        job.status()


def test_python_arango_lists_and_clears_the_done_and_pending_jobs(
    server: LocalServer, basic_db: StandardDatabase, jwt_db: StandardDatabase
) -> None:
    assert jwt_db.clear_async_jobs() is True
    finished = [done(async_job(basic_db, submitted(server, "demo.echo", {"i": i})))
                for i in range(3)]
    sleeping = submitted(server, "demo.sleep", {"seconds": 60, "steps": 600})

    listed = basic_db.async_jobs("done")
    pending = jwt_db.async_jobs("pending")

    assert listed == [job.id for job in reversed(finished)]
    assert basic_db.async_jobs("done", count=1) == [finished[-1].id]
    assert str(sleeping["number"]) in pending
    assert basic_db.clear_async_jobs(int(time.time()) - 3600) is True
    assert len(jwt_db.async_jobs("done")) == 3
    assert basic_db.clear_async_jobs(int(time.time()) + 360) is True
    assert jwt_db.async_jobs("done") == []
    assert async_job(basic_db, sleeping).cancel() is True


def test_python_arango_reads_the_version(basic_db: StandardDatabase,
                                         jwt_db: StandardDatabase) -> None:
    assert basic_db.version() == VERSION
    assert jwt_db.version(details=False) == VERSION


@pytest.mark.parametrize("auth", ["basic", "jwt"])
def test_python_arango_runs_a_request_asynchronously_and_fetches_it_once(
    basic_db: StandardDatabase, jwt_db: StandardDatabase, auth: str
) -> None:
    db = basic_db if auth == "basic" else jwt_db
    async_db = db.begin_async_execution(return_result=True)

    job = async_db.version()

    assert isinstance(job, AsyncJob)
    assert done(job).result() == db.version()
    with pytest.raises(AsyncJobResultError) as fetched:
        job.result()
    assert fetched.value.http_code == 404


# python-arango on async requests: its AsyncJob follows the id that
# `x-arango-async: store` answered, as it follows those of its own AsyncDatabase.

def async_request(server: LocalServer, method: str, path: str, **kwargs: Any) -> str:
    answer = server.http.request(method, f"{server.url}{path}", timeout=10,
                                 headers={"x-arango-async": "store"}, **kwargs)
    assert answer.status_code == 202 and answer.text == "", answer.text
    return str(answer.headers["x-arango-async-id"])


def long_poll_of_a_sleep(server: LocalServer) -> str:
    """An async request that stays pending for 20 s: a long poll of a
    sleeping job that does not move (one step of 60 s)."""
    native = submitted(server, "demo.sleep", {"seconds": 60, "steps": 1})
    running(server, native)
    return async_request(server, "GET", f"/_db/_system/jobs/{native['id']}?wait=20")


def test_python_arango_cancels_clears_and_collects_async_requests(
    server: LocalServer, basic_db: StandardDatabase, jwt_db: StandardDatabase
) -> None:
    pending = AsyncJob(jwt_db._conn, long_poll_of_a_sleep(server), response_handler=body)
    assert pending.status() == "pending"
    assert pending.id in jwt_db.async_jobs("pending")
    assert pending.cancel() is True
    assert done(pending).result()["errorNum"] == 21

    versions = [done(AsyncJob(basic_db._conn, async_request(server, "GET", "/_api/version"),
                              response_handler=body)) for _ in range(2)]
    assert versions[0].clear() is True
    with pytest.raises(AsyncJobStatusError):
        versions[0].status()
    assert basic_db.clear_async_jobs(int(time.time()) - 3600) is True
    assert versions[1].status() == "done"
    assert basic_db.clear_async_jobs(int(time.time()) + 360) is True
    with pytest.raises(AsyncJobStatusError):
        versions[1].status()


def test_python_arango_meets_arangods_401_for_a_wrong_password(
    arango: ArangoClient
) -> None:
    db = arango.db("_system", username="root", password="not-a-key")

    with pytest.raises(ServerVersionError) as refused:
        db.version()

    assert refused.value.http_code == 401 and refused.value.error_code == 401
    assert refused.value.error_message == "not authorized to execute this request"


def test_python_arango_sends_native_routes_under_its_database(
    server: LocalServer, basic_db: StandardDatabase
) -> None:
    job = done(AsyncJob(basic_db._conn, async_request(
        server, "POST", "/_db/_system/jobs", json={"method": "demo.echo", "params": {"x": 1}}),
        response_handler=lambda resp: resp))

    response = job.result()

    assert response.status_code == 202 and response.body["arguments"] == {"x": 1}


# The seed's own examples (arangod's RestJobHandler documentation), each
# translated to this API where arangod's routes are not ours: /_api/collection
# (a POST that fails) is POST /jobs with no method; /_admin/sleep?duration=3
# (a request that takes a while) is a long poll of a sleeping job.

def raw(server: LocalServer, method: str, path: str) -> requests.Response:
    return server.http.request(method, f"{server.url}{path}", timeout=30)


def finished_request(server: LocalServer, job_id: str) -> str:
    deadline = time.monotonic() + 30
    while raw(server, "GET", f"/_api/job/{job_id}").status_code != 200:
        assert time.monotonic() < deadline, f"async request {job_id} still pending"
        time.sleep(0.1)
    return job_id


def fetched_when_done(server: LocalServer, job_id: str) -> requests.Response:
    return raw(server, "PUT", f"/_api/job/{finished_request(server, job_id)}")


def test_seed_put_without_an_id_is_400_and_an_unknown_one_404(server: LocalServer) -> None:
    nothing = raw(server, "PUT", "/_api/job/")
    foobar = raw(server, "PUT", "/_api/job/foobar")

    assert nothing.status_code == 400 and "x-arango-async-id" not in nothing.headers
    assert foobar.status_code == 404 and foobar.json()["errorNum"] == 404


def test_seed_fetching_the_result_of_an_http_get_job(server: LocalServer) -> None:
    job_id = async_request(server, "GET", "/_api/version")

    answer = fetched_when_done(server, job_id)

    assert answer.status_code == 200 and answer.headers["x-arango-async-id"] == job_id
    assert answer.json()["server"] == "jobapi"


def test_seed_fetching_the_result_of_an_http_post_job_that_failed(server: LocalServer) -> None:
    job_id = async_request(server, "POST", "/jobs", json={"name": " this name is invalid "})

    answer = fetched_when_done(server, job_id)

    assert answer.status_code == 400 and answer.headers["x-arango-async-id"] == job_id
    error = answer.json()["error"]
    assert error["code"] == "bad_request" and "method" in error["message"]


def test_seed_cancel_a_pending_job(server: LocalServer) -> None:
    job_id = long_poll_of_a_sleep(server)

    before = raw(server, "GET", "/_api/job/pending")
    cancelled = raw(server, "PUT", f"/_api/job/{job_id}/cancel")
    after = raw(server, "GET", "/_api/job/pending")

    assert job_id in before.json() and job_id not in after.json()
    assert cancelled.status_code == 200 and cancelled.json() == {"result": True}


def test_seed_deleting_all_expired_one_and_an_unknown_job(server: LocalServer) -> None:
    ids = [finished_request(server, async_request(server, "GET", "/_api/version"))
           for _ in range(3)]

    one = raw(server, "DELETE", f"/_api/job/{ids[1]}")
    expired = raw(server, "DELETE", f"/_api/job/expired?stamp={int(time.time()) + 360}")
    everything = raw(server, "DELETE", "/_api/job/all")
    unknown = raw(server, "DELETE", "/_api/job/foobar")

    assert [one.status_code, expired.status_code, everything.status_code] == [200] * 3
    assert one.json() == expired.json() == everything.json() == {"result": True}
    assert unknown.status_code == 404 and unknown.json()["errorNum"] == 404
    assert all(raw(server, "GET", f"/_api/job/{job_id}").status_code == 404 for job_id in ids)


def test_seed_status_of_a_done_and_a_pending_job_and_the_lists(server: LocalServer) -> None:
    finished = async_request(server, "GET", "/_api/version")
    first_status = raw(server, "GET", f"/_api/job/{finished}")
    pending = long_poll_of_a_sleep(server)

    assert first_status.status_code in (200, 204)  # as the seed allows
    assert raw(server, "GET", f"/_api/job/{pending}").status_code == 204
    assert pending in raw(server, "GET", "/_api/job/pending").json()
    finished_request(server, finished)
    assert finished in raw(server, "GET", "/_api/job/done").json()
    assert raw(server, "DELETE", f"/_api/job/{finished}").status_code == 200
    assert raw(server, "DELETE", "/_api/job/all").status_code == 200
    assert raw(server, "PUT", f"/_api/job/{pending}/cancel").status_code == 200
