"""Files through `make run`'s server over real HTTP (issues 6 and 18): the
one-time download, inline (200 and the bytes, for clients that do not follow
redirects) or redirected (the presigned URL points at the local moto server
and is fetched like any URL), both uploads with up to 5 files and every kind
of credential, 50 concurrent claims, and no token or presigned URL in the
server's log."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from chalicelib.methods.demo import export_bytes
from tests.e2e.conftest import LocalServer
from tests.helpers import is_finished, wait_until


def finished(server: LocalServer, job_id: str) -> dict[str, Any]:
    return dict(wait_until(
        lambda: server.http.get(f"{server.url}/jobs/{job_id}", timeout=10).json(), is_finished))


def submit_export(server: LocalServer, size: int, seed: str) -> dict[str, Any]:
    answer = server.http.post(f"{server.url}/jobs", timeout=10, json={
        "method": "demo.export", "params": {"size": size, "seed": seed},
        "download": {"filename": "report.bin"}})
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def test_a_small_download_over_http_is_answered_inline_once(server: LocalServer) -> None:
    submitted = submit_export(server, 100_000, "inline")
    link = server.url + submitted["download_url"]
    token = submitted["download_url"].split("auth_token=")[1]

    # requests sends Accept: */*, as aiohttp and curl do; no redirect is followed.
    first = requests.get(link, allow_redirects=False, timeout=30)
    again = requests.get(link, allow_redirects=False, timeout=30)

    assert first.status_code == 200
    assert first.content == b"".join(export_bytes(100_000, "inline"))
    assert first.headers["Content-Type"] == "application/octet-stream"
    assert first.headers["Content-Length"] == "100000"  # one, not two
    assert first.headers["Content-Disposition"].startswith('attachment; filename="report.bin"')
    assert first.headers["Cache-Control"] == "no-store"
    assert again.status_code == 410
    log = "".join(server.output)
    assert f"/_download/{submitted['id']}" in log and token not in log


def test_a_redirected_download_over_http_works_once_and_leaves_no_secret_in_the_log(
    server: LocalServer,
) -> None:
    submitted = submit_export(server, 100_000, "http")
    link = server.url + submitted["download_url"]
    token = submitted["download_url"].split("auth_token=")[1]
    takes_no_binary = {"Accept": "application/json"}

    claim = requests.get(link, allow_redirects=False, timeout=30, headers=takes_no_binary)
    fetched = requests.get(claim.headers["Location"], timeout=30)
    again = requests.get(link, allow_redirects=False, timeout=30, headers=takes_no_binary)

    assert claim.status_code == 302
    assert fetched.content == b"".join(export_bytes(100_000, "http"))
    assert 'filename="report.bin"' in fetched.headers["Content-Disposition"]
    assert again.status_code == 410
    signature = claim.headers["Location"].split("X-Amz-Signature=")[1]
    log = "".join(server.output)
    assert f"/_download/{submitted['id']}" in log  # the request was logged...
    assert token not in log and signature not in log  # ...without its secrets


def test_a_wrong_token_over_http_is_401(server: LocalServer) -> None:
    submitted = submit_export(server, 10, "wrong")
    wrong = server.url + f"/_download/{submitted['id']}?auth_token={'A' * 43}&wait=0"

    answer = requests.get(wrong, allow_redirects=False, timeout=30)

    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"


def test_fifty_concurrent_fetches_over_http_give_the_bytes_once(server: LocalServer) -> None:
    submitted = server.http.post(f"{server.url}/jobs", timeout=10, json={
        "method": "demo.export", "params": {"size": 10, "seed": "race"},
        "download": {"filename": "x"}}).json()
    link = server.url + submitted["download_url"]
    wait_until(lambda: server.http.get(f"{server.url}/jobs/{submitted['id']}",
                                       timeout=10).json(),
               lambda job: job["download"]["state"] == "READY")

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(
            lambda _: requests.get(link, allow_redirects=False, timeout=60), range(50)))

    assert sorted(a.status_code for a in answers) == [200] + [410] * 49
    assert [a.content for a in answers if a.status_code == 200] == \
        [b"".join(export_bytes(10, "race"))]


def test_a_small_upload_over_http_truenas_style(server: LocalServer) -> None:
    content = b"config bytes " * 1000

    answer = server.http.post(f"{server.url}/_upload", timeout=30, files=[
        ("data", (None, json.dumps({"method": "demo.checksum", "params": {}}))),
        ("file", ("config.db", content, "application/octet-stream"))])
    job = finished(server, answer.json()["id"])

    assert answer.status_code == 202
    assert job["result"]["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_large_upload_over_http_straight_to_s3(server: LocalServer) -> None:
    content = bytes(range(256)) * 8192  # 2 MiB
    digest = hashlib.sha256(content).hexdigest()

    submitted = server.http.post(f"{server.url}/jobs", timeout=10, json={
        "method": "demo.checksum",
        "upload": {"filename": "big.bin", "size": len(content), "sha256": digest}}).json()
    put = requests.put(submitted["upload_url"], data=content,
                       headers=submitted["upload_headers"], timeout=60)
    job = finished(server, submitted["id"])
    second = requests.put(submitted["upload_url"], data=content,
                          headers=submitted["upload_headers"], timeout=60)

    assert put.status_code == 200
    assert job["state"] == "SUCCESS" and job["result"]["sha256"] == digest
    assert second.status_code == 412


def test_an_upload_of_several_files_takes_a_token_an_api_key_or_basic(
    server: LocalServer,
) -> None:
    key = server.http.post(f"{server.url}/api_keys", json={"name": "uploads"},
                           timeout=10).json()["key"]
    token = server.http.post(f"{server.url}/auth/tokens", json={"ttl": 60},
                             timeout=10).json()["token"]
    contents = [b"first " * 100, b"second " * 200]
    parts = [("data", (None, json.dumps({"method": "demo.checksum", "params": {}})))] + [
        ("file", (f"{n}.bin", content, "application/octet-stream"))
        for n, content in enumerate(contents, 1)]

    answers = {
        "token": requests.post(f"{server.url}/_upload", files=parts, timeout=30,
                               headers={"Authorization": f"Token {token}"}),
        "bearer": requests.post(f"{server.url}/_upload", files=parts, timeout=30,
                                headers={"Authorization": f"Bearer {key}"}),
        "basic": requests.post(f"{server.url}/_upload", files=parts, timeout=30,
                               auth=("admin", key)),
    }
    nobody = requests.post(f"{server.url}/_upload", files=parts, timeout=30)

    assert {name: a.status_code for name, a in answers.items()} == \
        {"token": 202, "bearer": 202, "basic": 202}
    assert nobody.status_code == 401
    for answer in answers.values():
        job = finished(server, answer.json()["id"])
        assert job["state"] == "SUCCESS", job
        assert [f["sha256"] for f in job["result"]["files"]] == \
            [hashlib.sha256(content).hexdigest() for content in contents]
        assert job["upload"]["count"] == 2
    assert key not in "".join(server.output) and token not in "".join(server.output)
