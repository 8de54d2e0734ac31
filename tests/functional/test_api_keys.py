"""API keys and short-lived tokens (issue 16) through the Chalice test client,
which runs the app's authorizer as API Gateway would: minting, every way of
sending one, listing without secrets, revocation within the cache window,
expiry, roles no higher than the maker's, and one refusal for every bad
credential."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.authn import InvalidToken, TokenSettings, TokenVerifier
from chalicelib.credentials.authenticator import Authenticator, CredentialSettings
from chalicelib.credentials.shapes import from_header
from chalicelib.wiring import services
from local.emulated import LOCAL_CREDENTIAL_SECRET, emulated_aws
from local.provision import Provisioned
from tests.helpers import CallRecorder, JobsClient, token_for

KEY_SHAPE = re.compile(r"([1-9][0-9]*)-[A-Za-z0-9]{64}")
REFUSED = {"error": {"code": "forbidden", "message": "the credential was refused"}}
CACHE_SECONDS = 1.0


@pytest.fixture
def aws() -> Iterator[Provisioned]:
    # The authorizer remembers a key this long here (60 s deployed).
    with emulated_aws({"JOBS_CREDENTIAL_CACHE_SECONDS": str(CACHE_SECONDS),
                       "JOBS_PROGRESS_INTERVAL": "0.2"}) as provisioned:
        yield provisioned


def as_user(client: Client, user: str = "ann", roles: tuple[str, ...] = (),
            tenant: str = "acme") -> JobsClient:
    return JobsClient(client, token_for(tenant, user, roles))


def with_header(client: Client, authorization: str | None) -> JobsClient:
    jobs = JobsClient(client, None)
    if authorization is not None:
        jobs._auth = {"Authorization": authorization}
    return jobs


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def mint_key(jobs: JobsClient, **body: Any) -> dict[str, Any]:
    answer = jobs.request("POST", "/api_keys", {"name": "script", **body})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def stored_items(aws: Provisioned) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = services().clients.dynamodb.scan(
        TableName=aws.credentials_table)["Items"]
    return items


def test_a_key_is_answered_once_in_truenas_form_and_only_its_keyed_hash_is_kept(
    client: Client, aws: Provisioned
) -> None:
    ann = as_user(client)

    answer = ann.request("POST", "/api_keys", {"name": "backup script"})

    assert answer.status == 201 and answer.headers["Cache-Control"] == "no-store"
    key = answer.body["key"]
    match = KEY_SHAPE.fullmatch(key)
    assert match and int(match[1]) == answer.body["id"] < 2**53
    assert {k: answer.body[k] for k in ("name", "tenant_id", "user_id", "roles")} == {
        "name": "backup script", "tenant_id": "acme", "user_id": "ann", "roles": []}
    secret = key.partition("-")[2]
    (item,) = stored_items(aws)
    assert secret not in json.dumps(item) and key not in json.dumps(item)
    assert item["secret_hash"]["S"] == hmac.new(LOCAL_CREDENTIAL_SECRET.encode(),
                                                secret.encode(), hashlib.sha256).hexdigest()
    (indexed,) = services().clients.dynamodb.scan(TableName=aws.credentials_table,
                                                  IndexName="by_owner")["Items"]
    assert "secret_hash" not in indexed  # a listing never reads the hash
    listed = ann.request("GET", "/api_keys")
    assert listed.status == 200 and [k["id"] for k in listed.body["records"]] == [
        answer.body["id"]]
    assert secret not in json.dumps(listed.body) and "secret_hash" not in json.dumps(
        listed.body)


def test_a_key_acts_as_its_maker_sent_as_bearer_or_as_basics_password(
    client: Client, aws: Provisioned
) -> None:
    key = mint_key(as_user(client))["key"]

    by_bearer = with_header(client, f"Bearer {key}")
    by_basic = with_header(client, basic("whoever-says-so", key))
    submitted = by_bearer.submit("demo.echo", {"n": 1})
    submitted_basic = by_basic.submit("demo.echo", {"n": 2})

    assert submitted.status == submitted_basic.status == 202
    for job_id in (submitted.body["id"], submitted_basic.body["id"]):
        job = as_user(client).get(job_id)  # ann's own JWT sees them: they are hers
        assert job.status == 200 and job.body["user_id"] == "ann", job.body
    # Basic's user part is not trusted: the key still acts as ann.
    assert as_user(client, "whoever-says-so").get(submitted_basic.body["id"]).status == 404


def test_a_key_carries_at_most_its_makers_roles(client: Client, aws: Provisioned) -> None:
    user, admin = as_user(client, "ann", ("USER",)), as_user(client, "tina", ("TENANT_ADMIN",))
    admins_job = admin.submit("demo.echo", {}).body["id"]

    escalation = user.request("POST", "/api_keys", {"name": "x", "roles": ["TENANT_ADMIN"]})
    full = admin.request("POST", "/api_keys", {"name": "x", "roles": ["FULL_ADMIN"]})
    lesser = mint_key(admin, roles=["USER"])
    same = mint_key(admin)

    assert escalation.status == full.status == 403
    assert escalation.body["error"]["code"] == "forbidden"
    assert "TENANT_ADMIN" in escalation.body["error"]["message"]
    assert (lesser["roles"], same["roles"]) == (["USER"], ["TENANT_ADMIN"])
    assert with_header(client, f"Bearer {lesser['key']}").get(admins_job).status == 200  # hers
    assert with_header(client, f"Bearer {same['key']}").get(admins_job).status == 200
    anns_job = user.submit("demo.echo", {}).body["id"]
    assert with_header(client, f"Bearer {lesser['key']}").get(anns_job).status == 404
    assert with_header(client, f"Bearer {same['key']}").get(anns_job).status == 200
    assert len(stored_items(aws)) == 2  # the refused ones left nothing


def test_listing_shows_a_user_its_keys_and_an_admin_its_tenants_page_by_page(
    client: Client, aws: Provisioned
) -> None:
    ann, bob = as_user(client, "ann"), as_user(client, "bob")
    tina = as_user(client, "tina", ("TENANT_ADMIN",))
    olga = as_user(client, "olga", ("TENANT_ADMIN",), tenant="globex")
    anns = {mint_key(ann)["id"] for _ in range(3)}
    bobs = {mint_key(bob)["id"]}

    def ids(jobs: JobsClient, query: str = "limit=2") -> set[int]:
        found: set[int] = set()
        path = f"/api_keys?{query}"
        while True:
            page = jobs.request("GET", path)
            assert page.status == 200, page.body
            found |= {key["id"] for key in page.body["records"]}
            if "next_token" not in page.body:
                return found
            path = f"/api_keys?{query}&next_token={page.body['next_token']}"

    assert ids(ann) == anns and ids(bob) == bobs
    assert ids(tina) == anns | bobs and ids(olga) == set()
    assert olga.request("GET", "/api_keys?tenant_id=acme").status == 404
    root = as_user(client, "root", ("FULL_ADMIN",), tenant="ops")
    assert ids(root, "tenant_id=acme&limit=2") == anns | bobs
    first = ann.request("GET", "/api_keys?limit=1").body["next_token"]
    replayed = bob.request("GET", f"/api_keys?limit=1&next_token={first}")
    assert replayed.status == 400 and "another caller" in replayed.body["error"]["message"]


def test_a_revoked_key_stops_within_the_cache_window_and_only_its_owner_or_admin_may_revoke(
    client: Client, aws: Provisioned
) -> None:
    ann, bob = as_user(client, "ann"), as_user(client, "bob")
    key = mint_key(ann)
    by_key = with_header(client, f"Bearer {key['key']}")
    assert by_key.request("GET", "/jobs").status == 200  # now remembered by the authorizer

    not_bobs = bob.request("DELETE", f"/api_keys/{key['id']}")
    other_tenant = as_user(client, "olga", ("TENANT_ADMIN",), "globex").request(
        "DELETE", f"/api_keys/{key['id']}")
    revoked = ann.request("DELETE", f"/api_keys/{key['id']}")
    right_after = by_key.request("GET", "/jobs").status
    time.sleep(CACHE_SECONDS + 0.1)
    past_window = by_key.request("GET", "/jobs")

    assert not_bobs.status == other_tenant.status == 404
    assert revoked.status == 200 and revoked.body == {"id": key["id"], "revoked": True}
    assert right_after == 200  # still remembered: the window the README states
    assert (past_window.status, past_window.body) == (403, REFUSED)
    assert ann.request("DELETE", f"/api_keys/{key['id']}").status == 404
    tinas = mint_key(ann)
    assert as_user(client, "tina", ("TENANT_ADMIN",)).request(
        "DELETE", f"/api_keys/{tinas['id']}").status == 200


def test_a_key_stops_at_its_expiry_even_while_remembered(client: Client,
                                                         aws: Provisioned) -> None:
    ann = as_user(client)
    # a loaded machine may take longer than the margin to mint and use the
    # key: then the first use proves nothing, and a longer margin is tried
    for margin in (1.5, 6.0, 20.0):
        soon = time.time() + margin
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(soon)) \
            + f".{int(soon % 1 * 1000):03d}Z"
        key = mint_key(ann, expires_at=stamp)
        by_key = with_header(client, f"Bearer {key['key']}")
        before = by_key.request("GET", "/jobs").status
        if time.time() < soon:
            break
    time.sleep(max(0.0, soon - time.time()) + 0.05)
    after = by_key.request("GET", "/jobs")

    assert before == 200 and (after.status, after.body) == (403, REFUSED)
    past = ann.request("POST", "/api_keys", {"name": "x", "expires_at": "2001-01-01T00:00:00Z"})
    naive = ann.request("POST", "/api_keys", {"name": "x", "expires_at": "2099-01-01T00:00:00"})
    assert past.status == naive.status == 400
    assert "expires_at" in past.body["error"]["message"] + json.dumps(naive.body)


def test_a_token_works_as_token_header_until_it_expires_and_mints_nothing(
    client: Client, aws: Provisioned
) -> None:
    ann = as_user(client)
    minted = time.monotonic()
    # Long enough for the three calls below even on a loaded machine (a
    # one-second token expired before the first of them once, under CI).
    answer = ann.request("POST", "/auth/tokens", {"ttl": 3})
    assert answer.status == 201 and answer.headers["Cache-Control"] == "no-store"
    token = answer.body["token"]
    by_token = with_header(client, f"Token {token}")

    job = by_token.submit("demo.echo", {})
    no_key = by_token.request("POST", "/api_keys", {"name": "longer than me"})
    no_token = by_token.request("POST", "/auth/tokens", {})
    time.sleep(max(0.0, minted + 3.1 - time.monotonic()))
    expired = by_token.request("GET", "/jobs")

    assert job.status == 202 and ann.get(job.body["id"]).body["user_id"] == "ann"
    assert no_key.status == no_token.status == 403
    assert (expired.status, expired.body) == (403, REFUSED)
    assert ann.request("POST", "/auth/tokens", {"ttl": 601}).status == 400
    assert ann.request("POST", "/auth/tokens", {"ttl": 0}).status == 400
    default = ann.request("POST", "/auth/tokens", raw="")
    assert default.status == 201 and default.body["ttl"] == 600
    assert token not in json.dumps(stored_items(aws))


def test_a_single_use_token_works_once_then_is_refused(client: Client,
                                                       aws: Provisioned) -> None:
    token = as_user(client).request("POST", "/auth/tokens",
                                    {"ttl": 60, "single_use": True}).body["token"]
    by_token = with_header(client, f"Token {token}")

    first, second = by_token.request("GET", "/jobs"), by_token.request("GET", "/jobs")

    assert first.status == 200 and (second.status, second.body) == (403, REFUSED)
    assert stored_items(aws) == []  # used: gone


def test_upload_takes_a_token_in_the_query_and_refuses_as_the_authorizer_does(
    client: Client, aws: Provisioned
) -> None:
    token = as_user(client).request("POST", "/auth/tokens",
                                    {"ttl": 60, "single_use": True}).body["token"]
    boundary = "b0undary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n"
            + json.dumps({"method": "demo.checksum", "params": {}})
            + f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n"
            f"--{boundary}--\r\n").encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def upload(query: str, extra: dict[str, str] | None = None) -> Any:
        return client.http.post(f"/_upload{query}", headers={**headers, **(extra or {})},
                                body=form)

    accepted = upload(f"?auth_token={token}")
    replayed = upload(f"?auth_token={token}")
    missing = upload("")
    garbage = upload("?auth_token=not-a-token")
    by_header = upload("", {"Authorization": f"Bearer {token_for('acme', 'ann', ())}"})

    assert accepted.status_code == 202, accepted.body
    job_id = json.loads(accepted.body)["id"]
    assert as_user(client).wait_for(job_id)["state"] == "SUCCESS"
    assert (replayed.status_code, json.loads(replayed.body)) == (403, REFUSED)
    assert missing.status_code == 401
    assert json.loads(missing.body)["error"]["code"] == "unauthorized"
    assert (garbage.status_code, json.loads(garbage.body)) == (403, REFUSED)
    assert by_header.status_code == 202


def test_every_bad_credential_is_refused_the_same_way_and_logged_without_its_secret(
    client: Client, aws: Provisioned, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    key = mint_key(as_user(client))
    key_id, secret = key["key"].split("-")
    token = as_user(client).request("POST", "/auth/tokens", {}).body["token"]
    wrong_secret = f"{key_id}-{'A' * 64}"
    bad = {
        "basic not base64": "Basic %%%",
        "basic no colon": "Basic " + base64.b64encode(b"nocolon").decode(),
        "basic not utf-8": "Basic " + base64.b64encode(b"ann:\xff\xfe").decode(),
        "basic wrong password": basic("ann", "hunter2"),
        "unknown scheme": f"Digest {key['key']}",
        "key too short": f"Bearer {key_id}-{secret[:-1]}",
        "key with a symbol": f"Bearer {key_id}-{secret[:-1]}!",
        "no such id": f"Bearer 1234567890123456-{secret}",
        "wrong secret": f"Bearer {wrong_secret}",
        "wrong secret by basic": basic("ann", wrong_secret),
        "token altered": f"Token {token[:-1]}{'B' if token[-1] != 'B' else 'C'}",
        "token kind changed": f"Token jts_{token[4:]}",
        "token as basic user": "Basic " + base64.b64encode(f"{token}:x".encode()).decode(),
        "empty token": "Token ",
        "huge": "Bearer " + "a" * 10000,
    }

    answers = {name: with_header(client, header).request("GET", "/jobs")
               for name, header in bad.items()}

    assert {name: (a.status, a.body) for name, a in answers.items()} == {
        name: (403, REFUSED) for name in bad}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert secret not in logged and token not in logged and "A" * 64 not in logged
    assert token[4:20] not in logged  # not even a part of one


def test_no_such_key_and_a_wrong_secret_do_the_same_aws_work(client: Client,
                                                             aws: Provisioned) -> None:
    key = mint_key(as_user(client))
    key_id, secret = key["key"].split("-")
    recorder = CallRecorder(services().clients.dynamodb, api_only=True)

    def calls_for(header: str) -> list[tuple[str, Any]]:
        recorder.clear()
        assert with_header(client, header).request("GET", "/methods").status == 403
        return [(name, params.get("ConsistentRead")) for name, params in recorder.calls]

    unknown = calls_for(f"Bearer 1234567890123456-{secret}")
    wrong = calls_for(f"Bearer {key_id}-{'A' * 64}")
    unknown_again, wrong_again = (calls_for(f"Bearer 1234567890123456-{secret}"),
                                  calls_for(f"Bearer {key_id}-{'A' * 64}"))

    assert unknown == wrong == [("GetItem", True)]  # one consistent read each
    assert unknown_again == wrong_again == []  # both remembered alike


def test_a_jwt_costs_no_read_and_a_key_at_most_one(client: Client, aws: Provisioned) -> None:
    key = mint_key(as_user(client))["key"]
    single = as_user(client).request("POST", "/auth/tokens", {"single_use": True}).body["token"]
    recorder = CallRecorder(services().clients.dynamodb, api_only=True)

    def calls_for(header: str) -> list[str]:
        recorder.clear()
        assert with_header(client, header).request("GET", "/methods").status == 200
        return recorder.names()

    assert calls_for(f"Bearer {token_for('acme', 'ann', ())}") == []
    assert calls_for(f"Bearer {key}") == ["GetItem"]
    assert calls_for(f"Bearer {key}") == []  # remembered
    assert calls_for(f"Token {single}") == ["DeleteItem"]


def test_the_authorizer_remembers_a_key_for_60_seconds_at_most(client: Client,
                                                               aws: Provisioned) -> None:
    """The deployed window, on a clock the test moves: a revoked key works
    until 60 s after it was read, and not a moment longer."""
    key = mint_key(as_user(client))
    now = [time.time()]
    authenticator = Authenticator(TokenVerifier(TokenSettings.from_env()),
                                  CredentialSettings(table_name=aws.credentials_table,
                                                     secret=LOCAL_CREDENTIAL_SECRET.encode()),
                                  lambda: services().credential_table, lambda: now[0])
    presented = from_header(f"Bearer {key['key']}")
    assert authenticator.caller(presented).user_id == "ann"  # read, and remembered

    assert as_user(client).request("DELETE", f"/api_keys/{key['id']}").status == 200
    now[0] += 59.9
    remembered = authenticator.caller(presented).user_id
    now[0] += 0.1
    with pytest.raises(InvalidToken):
        authenticator.caller(presented)

    assert remembered == "ann"


@pytest.mark.parametrize(("method", "path", "body", "named"), [
    ("POST", "/api_keys", {}, "name"),
    ("POST", "/api_keys", {"name": ""}, "name"),
    ("POST", "/api_keys", {"name": "x", "roles": ["ROOT"]}, "roles"),
    ("POST", "/api_keys", {"name": "x", "roles": "USER"}, "roles"),
    ("POST", "/api_keys", {"name": "x", "expires_at": "tomorrow"}, "expires_at"),
    ("POST", "/api_keys", {"name": "x", "expires_at": 1e400}, "finite"),
    ("POST", "/api_keys", {"name": "x", "secret": "mine"}, "unknown field"),
    ("POST", "/api_keys", [1], "object"),
    ("POST", "/auth/tokens", {"ttl": "long"}, "ttl"),
    ("POST", "/auth/tokens", {"ttl": 60, "single_use": "yes please"}, "single_use"),
    ("POST", "/auth/tokens", {"audience": "x"}, "unknown field"),
    ("GET", "/api_keys?limit=0", None, "limit"),
    ("GET", "/api_keys?next_token=forged", None, "next_token"),
    ("GET", "/api_keys?colour=red", None, "unknown field"),
    ("DELETE", "/api_keys/abc", None, "decimal"),
    ("DELETE", "/api_keys/0012", None, "decimal"),
    ("DELETE", "/api_keys/99999999999999999999", None, "decimal"),
])
def test_bad_credential_requests_are_400s_naming_the_problem_and_store_nothing(
    client: Client, aws: Provisioned, method: str, path: str, body: Any, named: str
) -> None:
    raw = json.dumps(body) if body is not None else None
    if body == {"name": "x", "expires_at": 1e400}:
        raw = '{"name": "x", "expires_at": 1e400}'

    answer = as_user(client).request(method, path, raw=raw)

    assert answer.status == 400, answer.body
    assert named in json.dumps(answer.body), answer.body
    assert stored_items(aws) == []
