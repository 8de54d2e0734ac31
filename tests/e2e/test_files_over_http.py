"""Files through `make run`'s server over real HTTP (issue 6): the one-time
download (the presigned URL points at the local moto server and is fetched
like any URL), both uploads, 50 concurrent claims, and no token or
presigned URL in the server's log."""

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


def test_a_download_over_http_works_once_and_leaves_no_secret_in_the_log(
    server: LocalServer,
) -> None:
    submitted = server.http.post(f"{server.url}/jobs", timeout=10, json={
        "method": "demo.export", "params": {"size": 100_000, "seed": "http"},
        "download": {"filename": "report.bin"}}).json()
    link = server.url + submitted["download_url"]
    token = submitted["download_url"].split("auth_token=")[1]

    claim = requests.get(link, allow_redirects=False, timeout=30)
    fetched = requests.get(claim.headers["Location"], timeout=30)
    again = requests.get(link, allow_redirects=False, timeout=30)

    assert claim.status_code == 302
    assert fetched.content == b"".join(export_bytes(100_000, "http"))
    assert 'filename="report.bin"' in fetched.headers["Content-Disposition"]
    assert again.status_code == 410
    signature = claim.headers["Location"].split("X-Amz-Signature=")[1]
    log = "".join(server.output)
    assert f"/_download/{submitted['id']}" in log  # the request was logged...
    assert token not in log and signature not in log  # ...without its secrets


def test_fifty_concurrent_claims_over_http_yield_one_redirect(server: LocalServer) -> None:
    submitted = server.http.post(f"{server.url}/jobs", timeout=10, json={
        "method": "demo.export", "params": {"size": 10}, "download": {"filename": "x"}}).json()
    link = server.url + submitted["download_url"]
    wait_until(lambda: server.http.get(f"{server.url}/jobs/{submitted['id']}",
                                       timeout=10).json(),
               lambda job: job["download"]["state"] == "READY")

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(
            lambda _: requests.get(link, allow_redirects=False, timeout=60).status_code,
            range(50)))

    assert sorted(statuses) == [302] + [410] * 49


def test_a_small_upload_over_http_truenas_style(server: LocalServer) -> None:
    content = b"config bytes " * 1000

    answer = server.http.post(f"{server.url}/_upload", timeout=30, files=[
        ("data", (None, json.dumps({"method": "demo.checksum", "params": {}}))),
        ("file", ("config.db", content, "application/octet-stream"))])
    job = finished(server, answer.json()["job_id"])

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
