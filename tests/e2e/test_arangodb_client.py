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
from arango import ArangoClient
from arango.database import StandardDatabase
from arango.exceptions import AsyncJobCancelError, AsyncJobResultError, AsyncJobStatusError
from arango.job import AsyncJob
from arango.response import Response

from local.emulated import LOCAL_JWT_SECRET
from tests.e2e.conftest import LocalServer


@pytest.fixture(scope="module")
def api_key(server: LocalServer) -> str:
    answer = server.http.post(f"{server.url}/api_keys", json={"name": "python-arango"},
                              timeout=10)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


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
    assert basic_db.version() == "0.3.0"
    assert jwt_db.version(details=False) == "0.3.0"


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
