"""Credentials (issue 16): the AWS calls the authorizer makes for each kind of
credential, and those of the routes that make, list and revoke them.

Everything runs in-process against moto (bench.local_aws), with the call
counter (bench.counting) on the app's own clients: the authorizer's
credentials table is built on `services().clients`, so its calls are counted
like any other. The authorizer is called as API Gateway calls it: `app.credential_auth`
with a TOKEN event, on the container's one Authenticator
(chalicelib.wiring.authenticator()), so what it remembers between calls
(RecentReads) is what a warm authorizer container remembers. The routes go
through the Chalice test client with a JWT, whose authorizer makes no call,
so every call counted there is the route's.

The issue's budget: a JWT costs no read; an API key or a multi-use token at
most one (consistent) read, remembered up to 60 s; a single-use token one
conditional delete, never remembered. "No such key" and "wrong secret" must
cost the same calls. A key used once a second for 120 s on a simulated clock
(same table, same code, an Authenticator of its own) checks the model the
cost section prices: one read per 60 requests.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.calls import operation_figures
from bench.counting import Call, CallCounter
from bench.dynamo_units import TableShape
from bench.local_aws import LocalAws, bench_auth, local_aws
from bench.section import Check, Section, Table

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/jobs"
CREDENTIALS_TABLE = "CredentialsTable"  # infra/template.yaml
# A script using one key: requests per second, and how long the simulation runs.
SCRIPT_RATE = 1.0
SCRIPT_SECONDS = 120
OTHER_SECRET = "Wr0ngSecret" * 5 + "Wr0ngSecr"  # 64 letters and digits, never issued
UNKNOWN_KEY_ID = 10**15 - 1  # below every id ever drawn (chalicelib.credentials.shapes)


def cached_reads_per_request(rate: float, cache_seconds: float) -> float:
    """Reads per request of one client using one key at `rate` requests per
    second, evenly spaced, on one warm container that remembers a read for
    `cache_seconds` (RecentReads: a hit while `now - read < cache_seconds`).
    The read at t=0 serves the requests at k/rate for k < rate*T: the next
    read is request ceil(rate*T); slower than once per T, every request reads."""
    if cache_seconds <= 0 or rate <= 0:
        return 1.0
    # (less a hair: 0.1 x 600 is 60.00000000000001 in floating point)
    per_read = max(1, math.ceil(rate * cache_seconds - 1e-9))
    return 1.0 / per_read


def signature(calls: list[Call]) -> list[tuple[str, str, bool]]:
    """What a case did, call by call, to compare two cases: service, operation,
    and whether the read was consistent."""
    return [(call.service, call.operation, call.consistent_read) for call in calls]


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    budget: str
    # Given the case's figures and whether it was accepted: is the budget met?
    meets: Callable[[dict[str, Any], bool], bool]
    accepted: bool  # what the authorizer must answer


def _reads(n: int, accepted: bool = True) -> Callable[[dict[str, Any], bool], bool]:
    def meets(f: dict[str, Any], ok: bool) -> bool:
        return (ok is accepted and f["total_calls"] == f["dynamodb_reads"] <= n
                and f["consistent_reads"] == f["dynamodb_reads"])
    return meets


def _one_delete(accepted: bool) -> Callable[[dict[str, Any], bool], bool]:
    def meets(f: dict[str, Any], ok: bool) -> bool:
        return (ok is accepted and f["total_calls"] == 1
                and f["calls_by_name"] == {"DeleteItem": 1})
    return meets


CASES = (
    Case("jwt", "JWT (Bearer)", "0 calls", _reads(0), True),
    Case("api_key_first", "API key (Bearer), first use: not remembered",
         "<= 1 consistent read", _reads(1), True),
    Case("api_key_again", "API key, again within 60 s: remembered", "0 calls", _reads(0), True),
    Case("basic_first", "Basic user:API key, first use", "<= 1 consistent read", _reads(1), True),
    Case("token_multi_first", "multi-use token (jtm_), first use", "<= 1 consistent read",
         _reads(1), True),
    Case("token_multi_again", "multi-use token, again: remembered", "0 calls", _reads(0), True),
    Case("token_single_first", "single-use token (jts_), its one use",
         "1 conditional delete, no read", _one_delete(True), True),
    Case("token_single_replay", "single-use token, replayed: refused",
         "1 conditional delete, no read", _one_delete(False), False),
    Case("wrong_secret", "wrong secret for an existing key id (not remembered)",
         "<= 1 consistent read, refused", _reads(1, False), False),
    Case("unknown_id", "unknown key id (not remembered)", "<= 1 consistent read, refused",
         _reads(1, False), False),
    Case("wrong_secret_again", "wrong secret again: remembered", "0 calls, refused",
         _reads(0, False), False),
    Case("unknown_id_again", "unknown key id again: remembered (its absence)",
         "0 calls, refused", _reads(0, False), False),
    Case("revoked_remembered", "API key revoked (DELETE /api_keys) while remembered",
         "0 calls; accepted until its entry is 60 s old (documented)", _reads(0), True),
)

ROUTES = (
    ("create_key", "POST /api_keys", "1 conditional PutItem (key id not taken)",
     lambda f: f["total_calls"] == 1 and f["calls_by_name"] == {"PutItem": 1}),
    ("list_keys", "GET /api_keys", "1 Query (by_owner index)",
     lambda f: f["total_calls"] == 1 and f["calls_by_name"] == {"Query": 1}),
    ("revoke_key", "DELETE /api_keys/{id}", "1 conditional DeleteItem",
     lambda f: f["total_calls"] == 1 and f["calls_by_name"] == {"DeleteItem": 1}),
    ("create_token", "POST /auth/tokens", "1 PutItem",
     lambda f: f["total_calls"] == 1 and f["calls_by_name"] == {"PutItem": 1}),
)


def run(context: Any) -> Section:
    with local_aws() as aws:
        from local.provision import load_template

        shape = TableShape.from_template(load_template(), CREDENTIALS_TABLE)
        counter = CallCounter(aws.app_clients(), images=aws.raw.dynamodb, key_names=shape.keys)
        with counter.attached():
            routes, made = make_credentials(aws, counter)
            outcomes, calls = authorize_cases(aws, counter, made, routes)
            simulated = script_at_rate(counter, made["api_key_script"])
    route_figures = {key: operation_figures(found, shape) for key, found in routes.items()}
    figures = {key: {**operation_figures(found, shape), "consistent_reads":
                     sum(c.operation == "GetItem" and c.consistent_read for c in found)}
               for key, found in calls.items()}
    same = signature(calls["wrong_secret"]) == signature(calls["unknown_id"])
    return build_section(route_figures, figures, outcomes, same, simulated)


# -- making the credentials (the routes) ------------------------------------------


def request(aws: LocalAws, method: str, path: str, body: Any = None,
            authorization: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json",
               "Authorization": authorization or bench_auth()["Authorization"]}
    response = aws.http.http.request(method, path, headers=headers,
                                     body=json.dumps(body) if body is not None else b"")
    text = response.body.decode() if response.body else ""
    return response.status_code, json.loads(text) if text else None


def expect(status: int, wanted: int, answer: Any, what: str) -> None:
    if status != wanted:
        raise RuntimeError(f"{what} answered {status}: {answer}")


def make_credentials(aws: LocalAws, counter: CallCounter
                     ) -> tuple[dict[str, list[Call]], dict[str, str]]:
    """Each route once, counted; the keys and tokens the cases use."""
    routes: dict[str, list[Call]] = {}
    counter.clear()
    with counter.phase("create_key"):
        status, created = request(aws, "POST", "/api_keys", {"name": "bench bearer"})
    expect(status, 201, created, "POST /api_keys")
    routes["create_key"] = counter.calls("create_key")
    made = {"api_key": created["key"], "api_key_id": str(created["id"])}
    for name in ("api_key_basic", "api_key_wrong", "api_key_script"):
        status, other = request(aws, "POST", "/api_keys", {"name": f"bench {name}"})
        expect(status, 201, other, "POST /api_keys")
        made[name] = other["key"]
    counter.clear()
    with counter.phase("list_keys"):
        status, listed = request(aws, "GET", "/api_keys")
    expect(status, 200, listed, "GET /api_keys")
    if len(listed["records"]) != 4:
        raise RuntimeError(f"GET /api_keys listed {len(listed['records'])} keys, not 4")
    routes["list_keys"] = counter.calls("list_keys")
    counter.clear()
    with counter.phase("create_token"):
        status, token = request(aws, "POST", "/auth/tokens", {"ttl": 600})
    expect(status, 201, token, "POST /auth/tokens")
    routes["create_token"] = counter.calls("create_token")
    made["token_multi"] = token["token"]
    status, single = request(aws, "POST", "/auth/tokens", {"ttl": 60, "single_use": True})
    expect(status, 201, single, "POST /auth/tokens (single use)")
    made["token_single"] = single["token"]
    return routes, made


# -- the authorizer -----------------------------------------------------------------


def authorize(header: str) -> bool:
    """One call of the authorizer as API Gateway makes it; whether it allowed."""
    import app

    policy = app.credential_auth({"type": "TOKEN", "methodArn": METHOD_ARN,
                           "authorizationToken": header}, None)
    return bool((policy.get("context") or {}).get("tenant_id"))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def authorize_cases(aws: LocalAws, counter: CallCounter, made: dict[str, str],
                    routes: dict[str, list[Call]]
                    ) -> tuple[dict[str, bool], dict[str, list[Call]]]:
    """Every case in CASES, in order, on the container's one Authenticator;
    the key the last case presents is revoked just before it (that route's
    calls go to `routes`)."""
    wrong_id = made["api_key_wrong"].partition("-")[0]
    headers = {
        "jwt": bench_auth()["Authorization"],
        "api_key_first": f"Bearer {made['api_key']}",
        "api_key_again": f"Bearer {made['api_key']}",
        "basic_first": basic("bench", made["api_key_basic"]),
        "token_multi_first": f"Token {made['token_multi']}",
        "token_multi_again": f"Token {made['token_multi']}",
        "token_single_first": f"Token {made['token_single']}",
        "token_single_replay": f"Token {made['token_single']}",
        "wrong_secret": f"Bearer {wrong_id}-{OTHER_SECRET}",
        "unknown_id": f"Bearer {UNKNOWN_KEY_ID}-{OTHER_SECRET}",
        "wrong_secret_again": f"Bearer {wrong_id}-{OTHER_SECRET}",
        "unknown_id_again": f"Bearer {UNKNOWN_KEY_ID}-{OTHER_SECRET}",
        "revoked_remembered": f"Bearer {made['api_key']}",
    }
    outcomes: dict[str, bool] = {}
    calls: dict[str, list[Call]] = {}
    for case in CASES:  # (the refusals log a warning each: expected here)
        if case.key == "revoked_remembered":
            routes["revoke_key"] = revoke_calls(aws, counter, made["api_key_id"])
        counter.clear()
        with counter.phase(case.key):
            outcomes[case.key] = authorize(headers[case.key])
        calls[case.key] = counter.calls(case.key)
    return outcomes, calls


def revoke_calls(aws: LocalAws, counter: CallCounter, key_id: str) -> list[Call]:
    counter.clear()
    with counter.phase("revoke_key"):
        status, answer = request(aws, "DELETE", f"/api_keys/{key_id}")
    expect(status, 200, answer, "DELETE /api_keys/{id}")
    return counter.calls("revoke_key")


class SteppedClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def script_at_rate(counter: CallCounter, key: str) -> dict[str, Any]:
    """A client using one key SCRIPT_RATE times a second for SCRIPT_SECONDS, on
    one warm container: a fresh Authenticator like the container's, on the same
    table and client, with a clock the loop steps."""
    from chalicelib import wiring
    from chalicelib.authn import InvalidToken
    from chalicelib.credentials.authenticator import Authenticator, CredentialSettings
    from chalicelib.credentials.shapes import from_header

    settings = CredentialSettings.from_env()
    clock = SteppedClock()
    checker = Authenticator(wiring.verifier(), settings,
                            lambda: wiring.services().credential_table, clock)
    requests = round(SCRIPT_RATE * SCRIPT_SECONDS)
    counter.clear()
    with counter.phase("script"):
        for n in range(requests):
            clock.now += 0 if n == 0 else 1 / SCRIPT_RATE
            checker.caller(from_header(f"Bearer {key}"))
    found = counter.calls("script")
    reads = sum(call.operation == "GetItem" for call in found)
    # Then the key is revoked: remembered until 60 s after the last read, then refused.
    last_read = clock.now - (requests - 1) % round(SCRIPT_RATE * settings.cache_seconds)
    key_id = key.partition("-")[0]
    wiring.services().credential_table.delete_key(int(key_id), None, None)
    revoked = {}
    for label, at in (("just before", settings.cache_seconds - 0.5),
                      ("at", settings.cache_seconds)):
        clock.now = last_read + at
        counter.clear()
        with counter.phase("revoked"):
            try:
                checker.caller(from_header(f"Bearer {key}"))
                accepted = True
            except InvalidToken:
                accepted = False
        revoked[label] = {"seconds_after_read": at, "accepted": accepted,
                          "calls": [c.operation for c in counter.calls("revoked")]}
    return {"requests": requests, "rate_per_second": SCRIPT_RATE,
            "cache_seconds": settings.cache_seconds, "reads": reads,
            "other_calls": len(found) - reads,
            "model_reads": requests * cached_reads_per_request(SCRIPT_RATE,
                                                               settings.cache_seconds),
            "revoked": revoked}


# -- the report ----------------------------------------------------------------------


def build_section(routes: dict[str, dict[str, Any]], figures: dict[str, dict[str, Any]],
                  outcomes: dict[str, bool], same: bool, simulated: dict[str, Any]) -> Section:
    rows, checks = [], []
    for case in CASES:
        f, ok = figures[case.key], outcomes[case.key]
        met = case.meets(f, ok) and ok is case.accepted
        rows.append({"case": case.label, "answer": "allowed" if ok else "refused",
                     "calls": call_list(f), "reads_writes":
                     f"{f['dynamodb_reads']} / {f['dynamodb_writes']}",
                     "units": units(f), "budget": case.budget, "met": met, "key": case.key})
        checks.append(Check(f"authorizer: {case.label}", case.budget,
                            f"{call_list(f)}, {'allowed' if ok else 'refused'}", met))
    side = side_by_side(figures, outcomes)
    checks.append(Check("no such key vs wrong secret: the same calls",
                        "identical call by call (service, operation, consistency)",
                        "identical" if same else "different", same))
    route_rows = []
    for key, label, budget, meets in ROUTES:
        f = routes[key]
        met = meets(f)
        route_rows.append({"route": label, "calls": call_list(f),
                           "reads_writes": f"{f['dynamodb_reads']} / {f['dynamodb_writes']}",
                           "units": units(f), "budget": budget, "met": met, "key": key})
        checks.append(Check(f"route: {label}", budget, call_list(f), met))
    model_ok = (simulated["reads"] == simulated["model_reads"]
                and simulated["other_calls"] == 0)
    checks.append(Check(
        f"a key at {SCRIPT_RATE:g} request/s for {SCRIPT_SECONDS} s on one container",
        f"{simulated['model_reads']:g} reads (the cost model: one per "
        f"{simulated['cache_seconds']:g} s)", f"{simulated['reads']} reads", model_ok))
    before, at = simulated["revoked"]["just before"], simulated["revoked"]["at"]
    bound_ok = (before["accepted"] and before["calls"] == [] and not at["accepted"]
                and at["calls"] == ["GetItem"])
    checks.append(Check(
        "a revoked key stops within the cache bound",
        f"accepted {before['seconds_after_read']:g} s after its read, refused at "
        f"{at['seconds_after_read']:g} s", f"{'accepted' if before['accepted'] else 'refused'}"
        f" ({len(before['calls'])} calls), then {'accepted' if at['accepted'] else 'refused'}"
        f" ({', '.join(at['calls']) or 'no call'})", bound_ok))
    return Section(
        name="credentials",
        title="Credentials: calls per authorizer check and per key/token route",
        how=("botocore hooks on the app's clients (bench/counting.py); the authorizer called "
             "as API Gateway calls it (`app.credential_auth` with a TOKEN event) on the "
             "container's one Authenticator, in the order of the rows (what it remembers "
             "carries over); "
             "routes through the Chalice test client with a JWT; moto in-process; request "
             "units modelled from the items (bench/dynamo_units.py, CredentialsTable's "
             "by_owner index)."),
        tables=[
            Table({"case": "credential presented to the authorizer", "answer": "answer",
                   "calls": "AWS calls", "reads_writes": "DynamoDB reads / writes",
                   "units": "request units (model)", "budget": "budget (issue 16)",
                   "met": "met"}, rows, "The authorizer, per check (cases run in this order)"),
            Table({"measure": "measure", "wrong_secret": "wrong secret, existing key id",
                   "unknown_id": "unknown key id"}, side,
                  "A wrong secret and an unknown key id, side by side"),
            Table({"route": "route", "calls": "AWS calls",
                   "reads_writes": "DynamoDB reads / writes", "units": "request units (model)",
                   "budget": "floor", "met": "met"}, route_rows,
                  "The routes (their authorizer: a JWT, no call)"),
        ],
        notes=[
            "A remembered read is the container's own (RecentReads, "
            f"JOBS_CREDENTIAL_CACHE_SECONDS, at most {simulated['cache_seconds']:g} s): each "
            "warm authorizer container reads a key once per 60 s at most, so N containers "
            "busy with one key read it up to N times a minute.",
            "The absence of a key is remembered too: repeated guesses at one unknown id cost "
            "one read per container per 60 s (each new id costs its read, as in any "
            "design). The same holds for a wrong secret against a real id, since what is "
            "remembered is the table's answer, not the verdict: every check still hashes "
            "the presented secret and compares in constant time.",
            "A single-use token is never remembered: its replay costs the same conditional "
            "delete (refused by its condition; DynamoDB bills a failed conditional write "
            "1 WRU too).",
            f"Simulated script: {simulated['requests']} checks of one key "
            f"{1 / SCRIPT_RATE:g} s apart on a stepped clock: {simulated['reads']} reads "
            f"(model: {simulated['model_reads']:g}), {simulated['other_calls']} other calls.",
            "A revoked key keeps working on a container that remembers it until its entry is "
            f"{simulated['cache_seconds']:g} s old (the documented bound: the last row of the "
            "first table, and on the stepped clock after the script, revoked: "
            f"{'accepted' if before['accepted'] else 'refused'} "
            f"{before['seconds_after_read']:g} s after the last read with "
            f"{len(before['calls'])} calls, "
            f"{'accepted' if at['accepted'] else 'refused'} at {at['seconds_after_read']:g} s "
            f"with {', '.join(at['calls']) or 'no call'}); a container that has not read it "
            "refuses it at once (the read is consistent).",
        ],
        checks=checks,
        data={"authorizer": {key: {**f, "accepted": outcomes[key]} for key, f in figures.items()},
              "routes": routes, "no_such_key_same_as_wrong_secret": same,
              "script": simulated},
    )


def side_by_side(figures: dict[str, dict[str, Any]], outcomes: dict[str, bool]
                 ) -> list[dict[str, Any]]:
    """A wrong secret and an unknown key id, measure by measure."""
    rows = []
    for measure, suffix, show in (
        ("calls", "", call_list),
        ("consistent reads", "", lambda f: str(f["consistent_reads"])),
        ("request units (model)", "", units),
        ("answer", "", None),
        ("again: calls (remembered)", "_again", call_list),
        ("again: answer", "_again", None),
    ):
        row: dict[str, Any] = {"measure": measure}
        for case in ("wrong_secret", "unknown_id"):
            key = case + suffix
            row[case] = (show(figures[key]) if show is not None
                         else "allowed" if outcomes[key] else "refused")
        rows.append(row)
    return rows


def call_list(f: dict[str, Any]) -> str:
    names = f["dynamodb_operations"] + f["stepfunctions_operations"]
    if f["s3_calls"]:
        names += ["S3"] * f["s3_calls"]
    if not names:
        return "none"
    parts = []
    for name in dict.fromkeys(names):
        count = names.count(name)
        parts.append(f"{count} {name}")
    return ", ".join(parts)


def units(f: dict[str, Any]) -> str:
    parts = []
    if f["read_units"]:
        parts.append(f"{f['read_units']:g} RRU")
    if f["write_units"]:
        by_index = f["write_units_by_index"]
        extra = f" ({', '.join(f'{n} {i}' for i, n in by_index.items())} in indexes)" \
            if by_index else ""
        parts.append(f"{f['write_units']} WRU{extra}")
    if f["calls_by_name"].get("Query"):
        parts.append("Query: by page size")
    return ", ".join(parts) or "0"
