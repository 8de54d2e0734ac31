"""Whatever a client sends, every route answers below 500, and every refusal
is our error envelope naming the problem (hypothesis drives the requests
through the Chalice test client against moto)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import token_for

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
SUBMIT_FIELDS = ["method", "params", "children", "description", "transient", "download",
                 "upload", "on_child_failure", "children_timeout", "weight", "lock",
                 "resources"]
# Methods that finish at once if a fuzzed body happens to be valid.
METHODS = st.sampled_from(["demo.echo", "demo.fail", "demo.group", "nope", "", "demo."])
submit_bodies = st.one_of(
    st.fixed_dictionaries({"method": METHODS}, optional={
        name: json_values for name in SUBMIT_FIELDS if name != "method"}),
    st.dictionaries(st.sampled_from(SUBMIT_FIELDS) | st.text(max_size=8), json_values,
                    max_size=5),
    json_values,
)
QUERY_NAMES = ["limit", "offset", "order_by", "next_token", "query-filters", "query-options",
               "state", "method", "parent_id", "user_id", "tenant_id", "children", "depth",
               "wait", "since", "raw_result", "consume", "expired_before", "auth_token",
               "count", "select", "resource"]
queries = st.dictionaries(st.sampled_from(QUERY_NAMES) | st.text(min_size=1, max_size=6),
                          st.text(max_size=30) | st.integers().map(str), max_size=4)
job_ids = st.text(min_size=1, max_size=40) | st.uuids().map(str)
READS = ["", "/result", "/children", "/logs"]


def check(answer: Any, what: str) -> None:
    assert answer.status_code < 500, (what, answer.status_code, answer.body)
    if answer.status_code >= 400:
        error = json.loads(answer.body)["error"]
        assert error["code"] and error["message"], (what, error)


@pytest.fixture
def send(client: Client) -> Any:
    auth = {"Authorization": f"Bearer {token_for()}"}

    def send(method: str, path: str, body: bytes = b"",
             content_type: str = "application/json") -> Any:
        answer = client.http.request(method, path, body=body,
                                     headers={**auth, "Content-Type": content_type})
        check(answer, f"{method} {path} {body[:200]!r}")
        return answer

    return send


def path_with(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


@FUZZ
@given(body=submit_bodies, query=queries)
def test_fuzzed_submits_never_fail_on_our_side(send: Any, body: Any, query: dict[str, str]
                                               ) -> None:
    send("POST", path_with("/jobs", query), json.dumps(body).encode())


@FUZZ
@given(raw=st.binary(max_size=200), content_type=st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_fuzzed_raw_bodies_never_fail_on_our_side(send: Any, raw: bytes,
                                                  content_type: str) -> None:
    send("POST", "/jobs", raw, content_type)
    send("POST", "/jobs/00000000-0000-4000-8000-000000000000/cancel", raw, content_type)


@FUZZ
@given(query=queries)
def test_fuzzed_list_and_delete_queries_never_fail_on_our_side(send: Any,
                                                               query: dict[str, str]) -> None:
    query.pop("wait", None)  # a valid wait would only make the test slow
    send("GET", path_with("/jobs", query))
    send("DELETE", path_with("/jobs", query))


@FUZZ
@given(job_id=job_ids, read=st.sampled_from(READS), query=queries)
def test_fuzzed_job_paths_never_fail_on_our_side(send: Any, job_id: str, read: str,
                                                 query: dict[str, str]) -> None:
    path = f"/jobs/{quote(job_id, safe='')}"
    send("GET", path_with(path + read, query))
    send("POST", path + "/cancel")
    send("POST", path + "/download_link")
    send("DELETE", path)
    query["wait"] = "0"  # the download link long-polls by default
    send("GET", path_with(f"/_download/{quote(job_id, safe='')}", query))


@FUZZ
@given(boundary=st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1,
                        max_size=20),
       parts=st.lists(st.tuples(st.text(max_size=12), st.binary(max_size=60)), max_size=3))
def test_fuzzed_upload_forms_never_fail_on_our_side(send: Any, boundary: str,
                                                    parts: list[tuple[str, bytes]]) -> None:
    body = b"".join(
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode()
        + content + b"\r\n" for name, content in parts) + f"--{boundary}--\r\n".encode()
    send("POST", "/_upload", body, f"multipart/form-data; boundary={boundary}")


# Issue 16: the credential routes, and the Authorization header itself.

KEY_FIELDS = ["name", "roles", "expires_at", "ttl", "single_use"]
credential_bodies = st.dictionaries(st.sampled_from(KEY_FIELDS) | st.text(max_size=8),
                                    json_values | st.sampled_from(
                                        ["USER", "FULL_ADMIN", "2099-01-01T00:00:00Z", 600]),
                                    max_size=4) | json_values
SCHEMES = st.sampled_from(["Bearer ", "Basic ", "Token ", "bearer ", "", "Digest "])
credentials = st.tuples(SCHEMES, st.text(max_size=120) | st.from_regex(
    r"[0-9]{1,20}-[A-Za-z0-9]{60,66}", fullmatch=True) | st.from_regex(
    r"jt[msx]_[A-Za-z0-9]{46,50}", fullmatch=True)).map("".join)


@FUZZ
@given(body=credential_bodies, query=queries, key_id=job_ids)
def test_fuzzed_credential_requests_never_fail_on_our_side(send: Any, body: Any,
                                                           query: dict[str, str],
                                                           key_id: str) -> None:
    send("POST", path_with("/api_keys", query), json.dumps(body).encode())
    send("POST", "/auth/tokens", json.dumps(body).encode())
    send("GET", path_with("/api_keys", query))
    send("DELETE", f"/api_keys/{quote(key_id, safe='')}")


@FUZZ
@given(authorization=credentials)
def test_fuzzed_authorization_headers_are_refused_in_the_envelope(
    client: Client, authorization: str
) -> None:
    try:
        headers = {"Authorization": authorization.encode("latin-1").decode("latin-1")}
    except UnicodeEncodeError:  # not a header HTTP can carry
        return
    for method, path in (("GET", "/jobs"), ("POST", "/_upload")):
        # /_upload checks its own credential (it also takes ?auth_token=),
        # after Chalice has checked the Content-Type: send the one it takes.
        sent = {**headers, "Content-Type": "multipart/form-data; boundary=x"}
        answer = client.http.request(method, path, headers=sent, body=b"")
        assert answer.status_code in (401, 403), (authorization, answer.status_code)
        assert json.loads(answer.body)["error"]["code"] in ("unauthorized", "forbidden")


@FUZZ
@given(auth_token=st.text(max_size=80) | st.from_regex(r"jt[msx]_[A-Za-z0-9]{46,50}",
                                                       fullmatch=True))
def test_fuzzed_upload_query_tokens_are_refused_in_the_envelope(client: Client,
                                                                auth_token: str) -> None:
    """/_upload's `?auth_token=` (TrueNAS): a way in without the header."""
    answer = client.http.request("POST", path_with("/_upload", {"auth_token": auth_token}),
                                 headers={"Content-Type": "multipart/form-data; boundary=x"},
                                 body=b"")
    assert answer.status_code in (401, 403), (auth_token, answer.status_code)
    assert json.loads(answer.body)["error"]["code"] in ("unauthorized", "forbidden")


# Issue 14: the shapes a hostile client tried (deep JSON, non-ASCII text near
# the size caps, numbers JSON does not have, content types, huge times).

MAX_JSON_DEPTH = 64  # README: JSON a client sends nests at most 64 levels
NON_FINITE = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999",
                              "123456789e999"])
CONTENT_TYPES = st.sampled_from([
    "application/json", "application/json; charset=utf-8", "text/plain",
    "application/x-www-form-urlencoded", "application/xml", "text/html", "image/png",
    "multipart/form-data", "multipart/form-data; boundary=x", "application/octet-stream",
    "*/*", "", "application/json, application/xml",
]) | st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=30)
HUGE_TIMES = st.sampled_from(["1e20", "inf", "-inf", "1e400", "253402300800", "253402300799",
                              "nan", "-1", "0", "1e308", "-0", "9" * 400, "0x10", "1_000"]) \
    | st.floats().map(repr) | st.integers(min_value=-(10**30), max_value=10**30).map(str)


def deep_json(depth: int, opener: str) -> str:
    """`depth` levels of lists, objects or both, written out (json.dumps recurses)."""
    kinds = ["{" if opener == "{" or (opener == "mixed" and n % 2) else "["
             for n in range(depth)]
    return ("".join('{"k":' if kind == "{" else "[" for kind in kinds) + "0"
            + "".join("}" if kind == "{" else "]" for kind in reversed(kinds)))


def upload_form(data: bytes, boundary: str = "fuzz") -> tuple[bytes, str]:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n".encode()
            + data + f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"a.bin\"\r\n\r\nabc\r\n".encode() + f"--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


def refused(answer: Any, status: int, *words: str) -> None:
    error = json.loads(answer.body)["error"]
    assert answer.status_code == status, (answer.status_code, error)
    assert all(word in error["message"] for word in words), error


@FUZZ
@given(depth=st.integers(min_value=0, max_value=3000) | st.integers(min_value=60, max_value=70),
       opener=st.sampled_from(["[", "{", "mixed"]))
def test_fuzzed_deep_json_is_refused_past_the_limit_everywhere(send: Any, depth: int,
                                                               opener: str) -> None:
    deep = deep_json(depth, opener)
    body = f'{{"method": "demo.echo", "params": {{"d": {deep}}}}}'
    too_deep = depth + 2 > MAX_JSON_DEPTH  # the body's object and params hold it
    answer = send("POST", "/jobs", body.encode())
    if too_deep:
        refused(answer, 400, "nested", str(MAX_JSON_DEPTH))
    form, content_type = upload_form(body.replace("demo.echo", "demo.checksum").encode())
    answer = send("POST", "/_upload", form, content_type)
    if too_deep:
        refused(answer, 400, "data part", "nested")
    filters = f'[["description", "=", "x"], {deep}]'
    answer = send("GET", path_with("/jobs", {"filters": filters}))
    if depth + 1 > MAX_JSON_DEPTH and len(filters) <= 8192:
        refused(answer, 400, "filters", "nested")
    send("POST", "/jobs/00000000-0000-4000-8000-000000000000/cancel", body.encode())


@settings(FUZZ, max_examples=12)
@given(char=st.sampled_from(["é", "€", "😀"]) | st.characters(min_codepoint=0x80,
                                                               exclude_categories=["Cs"]),
       # the counts near the caps: 256 KiB of body, 400 KB of record
       count=st.sampled_from([40_000, 70_000, 87_000, 130_000])
       | st.integers(min_value=1, max_value=140_000))
def test_fuzzed_non_ascii_text_near_the_caps_never_fails_on_our_side(send: Any, char: str,
                                                                     count: int) -> None:
    body = json.dumps({"method": "demo.group", "params": {}, "description": None,
                       "children": [{"method": "demo.echo",
                                     "params": {"t": char * count}}]}, ensure_ascii=False)
    answer = send("POST", "/jobs", body.encode())
    assert answer.status_code in (202, 413), answer.body
    body = json.dumps({"method": "demo.echo", "params": {"t": char * count}}, ensure_ascii=False)
    answer = send("POST", "/jobs", body.encode())
    assert answer.status_code in (202, 413), answer.body
    if answer.status_code == 413:
        assert "bytes" in json.loads(answer.body)["error"]["message"]


@FUZZ
@given(value=json_values, number=NON_FINITE, where=st.sampled_from(["value", "list", "key"]))
def test_fuzzed_non_finite_numbers_are_refused_everywhere(send: Any, value: Any, number: str,
                                                         where: str) -> None:
    text = json.dumps(value, allow_nan=False) if _finite(value) else "0"
    inner = {"value": number, "list": f"[{text}, {number}]",
             "key": f'{{"a": {text}, "b": {number}}}'}[where]
    body = f'{{"method": "demo.echo", "params": {{"x": {inner}}}}}'.encode()
    refused(send("POST", "/jobs", body), 400, "not valid JSON", "finite")
    form, content_type = upload_form(body.replace(b"demo.echo", b"demo.checksum"))
    refused(send("POST", "/_upload", form, content_type), 400, "data part", "finite")
    filters = f'[["progress.percent", "in", [{number}]]]'
    refused(send("GET", path_with("/jobs", {"filters": filters})), 400, "filters", "finite")


@FUZZ
@given(content_type=CONTENT_TYPES, body=st.binary(max_size=80) | st.just(
    b'{"method": "demo.echo", "params": {}}'))
def test_fuzzed_content_types_answer_in_the_envelope(send: Any, content_type: str,
                                                     body: bytes) -> None:
    for path in ("/jobs", "/jobs/00000000-0000-4000-8000-000000000000/cancel", "/_upload"):
        answer = send("POST", path, body, content_type)
        if answer.status_code == 415:
            error = json.loads(answer.body)["error"]
            assert error["code"] == "unsupported_media_type", error
            assert ("multipart/form-data" if path == "/_upload" else "application/json") \
                in error["message"], error


@FUZZ
@given(value=HUGE_TIMES, name=st.sampled_from(["expired_before", "created_after",
                                               "created_before", "wait", "since"]))
def test_fuzzed_huge_times_never_fail_on_our_side(send: Any, value: str, name: str) -> None:
    answer = send("DELETE", path_with("/jobs", {"expired_before": value}))
    try:
        valid = 0 <= float(value) <= 253402300799
    except ValueError:
        valid = False
    if not valid:
        refused(answer, 400, "expired_before")
    if name.startswith("created"):
        send("GET", path_with("/jobs", {name: value}))
    else:  # no such job: answered at once, whatever the wait
        send("GET", path_with("/jobs/00000000-0000-4000-8000-000000000000", {name: value}))


def _finite(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True

