"""Bad input through `make run`'s server over real HTTP (issue 14): the
answers Chalice would give itself (415) and the JSON Python would read but
JSON has not (deep nesting, NaN) come in our error envelope, and UTF-8 text
is counted as sent."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import LocalServer


@pytest.mark.parametrize("path, content_type, expected", [
    ("/jobs", "application/xml", "application/json"),
    ("/jobs/00000000-0000-4000-8000-000000000000/cancel", "image/png", "application/json"),
    ("/_upload", "application/json", "multipart/form-data"),
])
def test_an_unsupported_content_type_is_415_in_the_envelope_over_http(
    server: LocalServer, path: str, content_type: str, expected: str
) -> None:
    answer = server.http.post(f"{server.url}{path}", data=b'{"method": "demo.echo"}',
                              headers={"Content-Type": content_type}, timeout=10)

    assert answer.status_code == 415, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["code"] == "unsupported_media_type" and expected in error["message"]


@pytest.mark.parametrize("body, words", [
    (b'{"method": "demo.echo", "params": {"d": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
     "nested"),
    (b'{"method": "demo.echo", "params": {"x": NaN}}', "finite"),
])
def test_json_that_is_too_deep_or_not_finite_is_400_over_http(server: LocalServer,
                                                              body: bytes, words: str) -> None:
    answer = server.http.post(f"{server.url}/jobs", data=body, timeout=10,
                              headers={"Content-Type": "application/json"})

    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]["message"]


def test_non_ascii_text_under_the_body_cap_is_taken_over_http(server: LocalServer) -> None:
    body = json.dumps({"method": "demo.echo", "params": {"t": "é" * 70_000}},
                      ensure_ascii=False).encode()

    answer = server.http.post(f"{server.url}/jobs", data=body, timeout=30,
                              headers={"Content-Type": "application/json; charset=utf-8"})

    assert answer.status_code == 202, answer.text[:300]
    assert answer.json()["arguments"] == {"t": "é" * 70_000}


def test_a_huge_expired_before_is_400_over_http(server: LocalServer) -> None:
    answer = server.http.delete(f"{server.url}/jobs?expired_before=1e400", timeout=10)

    assert answer.status_code == 400, answer.text
    assert "expired_before" in answer.json()["error"]["message"]
