"""Who may see what (issue 8), as one matrix run through any transport: the
Chalice test client (tests/functional) or the local server over HTTP
(tests/e2e). Every route x {owner, another user of the tenant, the tenant's
admin, another tenant's admin, a full admin, no token, a bad signature, an
expired token}, and the same principals by API key (Bearer and Basic) and by
short-lived token (issue 16), with revoked, wrong and malformed ones; then
every answer is scanned for other tenants' job ids, ann's API key ids and the
secret canary."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.helpers import token_for

CANARY = "canary-s3cr3t-value-7f3a9c"
TENANT, OTHER_TENANT = "acme", "globex"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    text: str


# (method, path, Authorization header or None, JSON body or None, extra headers or None)
Call = Callable[[str, str, str | None, Any, dict[str, str] | None], Reply]


def bearer(token: str) -> str:
    return f"Bearer {token}"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# The JWT principals; run_matrix adds the API key and token ones it mints.
IDENTITIES: dict[str, str | None] = {
    "owner": bearer(token_for(TENANT, "ann", ())),
    "same_tenant_user": bearer(token_for(TENANT, "bob", ("USER",))),
    "tenant_admin": bearer(token_for(TENANT, "tina", ("TENANT_ADMIN",))),
    "other_tenant_admin": bearer(token_for(OTHER_TENANT, "olga", ("TENANT_ADMIN",))),
    "full_admin": bearer(token_for("ops", "root", ("FULL_ADMIN",))),
    "no_token": None,
    "bad_signature": bearer(token_for(TENANT, "ann", (), secret="another-stage-secret-" * 3)),
    "expired": bearer(token_for(TENANT, "ann", (), seconds=-3600)),
}
# Each credential principal: whose credential, and how it is sent.
BY_CREDENTIAL = {
    "owner_key_by_basic": "owner", "owner_token": "owner", "tenant_admin_key": "tenant_admin",
    "full_admin_key": "full_admin", "same_tenant_user_token": "same_tenant_user",
    "other_tenant_admin_key": "other_tenant_admin",
}
SEES_ANNS_JOBS = {"owner", "tenant_admin", "full_admin", "owner_key_by_basic", "owner_token",
                  "tenant_admin_key", "full_admin_key"}
OUTSIDERS = {"same_tenant_user", "other_tenant_admin", "same_tenant_user_token",
             "other_tenant_admin_key"}
REFUSED = {"no_token": 401, "bad_signature": 403, "expired": 403, "revoked_key": 403,
           "wrong_key_secret": 403, "malformed_basic": 403, "unknown_scheme": 403}
TOKENS = {"owner_token", "same_tenant_user_token"}  # may not mint credentials


@dataclass
class Matrix:
    call: Call
    answers: list[tuple[str, str, Reply]] = field(default_factory=list)
    owned: set[str] = field(default_factory=set)  # the ids of ann's jobs and API keys
    identities: dict[str, str | None] = field(default_factory=lambda: dict(IDENTITIES))
    secrets: set[str] = field(default_factory=set)  # every credential's secret part

    def ask(self, who: str, method: str, path: str, body: Any = None,
            headers: dict[str, str] | None = None) -> Reply:
        reply = self.call(method, path, self.identities[who], body, headers)
        self.answers.append((who, f"{method} {path}", reply))
        return reply

    def submit(self, who: str, method: str, params: dict[str, Any]) -> str:
        reply = self.ask(who, "POST", "/jobs", {"method": method, "params": params})
        assert reply.status == 202, reply.text
        if who == "owner":
            self.owned.add(str(reply.body["id"]))
        return str(reply.body["id"])

    def wait(self, job_id: str, states: tuple[str, ...] = ("SUCCESS", "FAILED")) -> Any:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = self.call("GET", f"/jobs/{job_id}", self.identities["owner"], None,
                            None).body
            if job["state"] in states:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never reached {states}")


def expected(who: str, visible: int = 200) -> int:
    if who in REFUSED:
        return REFUSED[who]
    return visible if who in SEES_ANNS_JOBS else 404


def add_credentials(m: Matrix) -> None:
    """Each JWT principal mints an API key or a token and joins the matrix by
    it (BY_CREDENTIAL); plus a revoked key, a wrong secret and malformed ones."""
    for who, maker in BY_CREDENTIAL.items():
        if who in TOKENS:
            minted = m.ask(maker, "POST", "/auth/tokens", {"ttl": 600})
            assert minted.status == 201, minted.text
            m.identities[who] = f"Token {minted.body['token']}"
            m.secrets.add(minted.body["token"])
            continue
        minted = m.ask(maker, "POST", "/api_keys", {"name": f"matrix {who}"})
        assert minted.status == 201, minted.text
        key = minted.body["key"]
        m.identities[who] = basic("ann", key) if who.endswith("_by_basic") else bearer(key)
        m.secrets.add(key)
        if maker == "owner":
            m.owned.add(str(minted.body["id"]))
    revoked = m.ask("owner", "POST", "/api_keys", {"name": "matrix revoked"}).body
    m.owned.add(str(revoked["id"]))
    assert m.ask("owner", "DELETE", f"/api_keys/{revoked['id']}").status == 200
    m.identities["revoked_key"] = bearer(revoked["key"])
    m.identities["wrong_key_secret"] = bearer(f"{revoked['id']}-{'x' * 64}")
    m.identities["malformed_basic"] = "Basic " + revoked["key"]  # not base64
    m.identities["unknown_scheme"] = f"Digest {revoked['key']}"
    m.secrets.add(revoked["key"])
    m.secrets |= {str(header).split(" ", 1)[1] for header in m.identities.values() if header}


def check_credentials(m: Matrix) -> None:
    """/api_keys and /auth/tokens: everyone lists only what they may see,
    nobody outside ann's scope revokes her key, and a token mints nothing."""
    anns_key = m.ask("owner", "POST", "/api_keys", {"name": "matrix target"}).body
    m.owned.add(str(anns_key["id"]))
    m.secrets.add(anns_key["key"])
    for who in m.identities:
        listed = m.ask(who, "GET", f"/api_keys?tenant_id={TENANT}")
        if who in REFUSED:
            assert listed.status == REFUSED[who], (who, listed.text)
            continue
        visible = anns_key["id"] in {key["id"] for key in listed.body.get("records", [])}
        assert listed.status == (200 if who not in {"other_tenant_admin",
                                                    "other_tenant_admin_key"} else 404), who
        assert visible == (who in SEES_ANNS_JOBS), (who, listed.text)
        minted = m.ask(who, "POST", "/auth/tokens", {"ttl": 5})
        assert minted.status == (403 if who in TOKENS else 201), (who, minted.text)
        if minted.status == 201:
            m.secrets.add(minted.body["token"])
    for who in [*OUTSIDERS, *REFUSED]:
        revoked = m.ask(who, "DELETE", f"/api_keys/{anns_key['id']}")
        assert revoked.status == expected(who), (who, revoked.text)
    still = m.call("GET", "/methods", bearer(anns_key["key"]), None, None)
    assert still.status == 200, still.text


def run_matrix(call: Call) -> Matrix:
    """Runs every check; returns the matrix for the leak scan."""
    m = Matrix(call)
    add_credentials(m)
    secret_job = m.submit("owner", "demo.secret", {"username": "ann", "password": CANARY})
    m.wait(secret_job)
    parent = m.submit("owner", "demo.fanout", {"count": 2})
    m.wait(parent)
    children = m.ask("owner", "GET", f"/jobs/{parent}/children").body["records"]
    assert len(children) == 2  # else the scan below would check fewer ids than it should
    m.owned |= {child["id"] for child in children}
    ann_jobs = {secret_job, parent}

    for who in m.identities:
        for path in (f"/jobs/{secret_job}", f"/jobs/{secret_job}/result",
                     f"/jobs/{secret_job}/logs", f"/jobs/{parent}/children",
                     f"/jobs/{parent}?children=tree&depth=2"):
            assert m.ask(who, "GET", path).status == expected(who), (who, path)
        listed = m.ask(who, "GET", f"/jobs?tenant_id={TENANT}&limit=100")
        if who in REFUSED:
            assert listed.status == REFUSED[who]
        else:
            ids = {job["id"] for job in listed.body["records"]}
            assert (ann_jobs <= ids) == (who in SEES_ANNS_JOBS), (who, ids)
            assert who in SEES_ANNS_JOBS or not ids & ann_jobs
        for path in ("/methods", "/jobs/schema"):
            assert m.ask(who, "GET", path).status == (REFUSED.get(who) or 200), (who, path)

    check_arangodb(m, secret_job)
    check_other_faces(m, secret_job)
    check_writes(m, ann_jobs)
    check_credentials(m)
    check_idempotency_keys(m)
    check_token_replay(m)
    check_raw_result(m, secret_job)
    return m


def check_arangodb(m: Matrix, secret_job: str) -> None:
    """The ArangoDB face (issue 19) names a job by its number within the
    caller's own tenant (`_system`, or the tenant's id under /_db/): ann's
    tenant sees it, nobody else finds it, not even a full admin of another
    tenant, and nobody outside her scope fetches, cancels or deletes it. The
    face refuses every untrusted credential with arangod's 401 body."""
    number = m.ask("owner", "GET", f"/jobs/{secret_job}").body["number"]
    sees = SEES_ANNS_JOBS - {"full_admin", "full_admin_key"}
    for who in m.identities:
        visible = arango_refusal(m, who, "GET", f"/_api/job/{number}") or \
            (200 if who in sees else 404)
        for path in (f"/_api/job/{number}", f"/_db/_system/_api/job/{number}",
                     f"/_db/{TENANT}/_api/job/{number}"):
            assert m.ask(who, "GET", path).status == visible, (who, path)
        done = m.ask(who, "GET", "/_api/job/done")
        assert done.status == (401 if who in REFUSED else 200), who
        if who not in REFUSED:
            assert (str(number) in done.body) == (who in sees), (who, done.text)
    for who in [*OUTSIDERS, *REFUSED, "full_admin", "full_admin_key"]:
        for method, path in (("PUT", f"/_api/job/{number}"),
                             ("PUT", f"/_api/job/{number}/cancel"),
                             ("DELETE", f"/_api/job/{number}")):
            assert m.ask(who, method, path).status == (401 if who in REFUSED else 404), \
                (who, method, path)
        assert m.ask(who, "DELETE", "/_api/job/all").status == \
            (401 if who in REFUSED else 200), who
    assert m.ask("owner", "GET", f"/_api/job/{number}").status == 200
    check_native_routes_in_databases(m, secret_job)


def arango_refusal(m: Matrix, who: str, method: str, path: str) -> int | None:
    """401 in arangod's body for an untrusted credential, else None."""
    if who not in REFUSED:
        return None
    reply = m.ask(who, method, path)
    assert reply.body == {"error": True, "errorNum": 401, "code": 401,
                          "errorMessage": "not authorized to execute this request"}, \
        (who, reply.text)
    return 401


def check_native_routes_in_databases(m: Matrix, secret_job: str) -> None:
    """Every native route under /_db/<database>/ keeps its scope: `_system`
    and the caller's tenant are the caller's own; another tenant's name is
    no database (404, errorNum 1228), even for a full admin."""
    for who in m.identities:
        own = 401 if who in REFUSED else (200 if who in SEES_ANNS_JOBS else 404)
        for database in ("_system", TENANT):
            reply = m.ask(who, "GET", f"/_db/{database}/jobs/{secret_job}")
            mine = database == "_system" or who in REFUSED or \
                tenant_of(who) == TENANT
            expected_status = own if mine else 404
            assert reply.status == expected_status, (who, database, reply.text)
            if not mine:
                assert reply.body["errorNum"] == 1228, (who, reply.text)
        listed = m.ask(who, "GET", "/_db/_system/jobs?limit=100")
        if who not in REFUSED:
            assert listed.status == 200
            # a full admin lists its own tenant unless it names another
            in_list = SEES_ANNS_JOBS - {"full_admin", "full_admin_key"}
            assert (secret_job in listed.text) == (who in in_list), who


def tenant_of(who: str) -> str:
    tenants = {"other_tenant_admin": OTHER_TENANT, "full_admin": "ops"}
    return tenants.get(BY_CREDENTIAL.get(who, who), TENANT)


def check_other_faces(m: Matrix, secret_job: str) -> None:
    """The NetApp and CloudSigma faces, each in a module of its own (they
    import this one's names, hence the imports here)."""
    from tests.isolation_cloudsigma import check_cloudsigma
    from tests.isolation_netapp import check_netapp

    check_netapp(m, secret_job)
    check_cloudsigma(m, secret_job)


def check_writes(m: Matrix, ann_jobs: set[str]) -> None:
    """Cancel and delete by anyone outside the scope find nothing and change
    nothing; DELETE /jobs only ever reaches the caller's own scope."""
    running = m.submit("owner", "demo.sleep", {"seconds": 30, "steps": 300})
    m.wait(running, ("RUNNING",))
    for who in [*OUTSIDERS, *REFUSED]:
        assert m.ask(who, "POST", f"/jobs/{running}/cancel").status == expected(who), who
        assert m.ask(who, "POST", f"/jobs/{running}/download_link").status == expected(who), \
            who
        assert m.ask(who, "DELETE", f"/jobs/{running}").status == expected(who), who
        deleted_all = m.ask(who, "DELETE", "/jobs")
        assert deleted_all.status == (REFUSED.get(who) or 200), who
    assert m.ask("owner", "GET", f"/jobs/{running}").body["state"] == "RUNNING"
    for job_id in ann_jobs:
        assert m.ask("owner", "GET", f"/jobs/{job_id}").status == 200
    for who in ("owner", "tenant_admin", "full_admin"):
        job_id = m.submit("owner", "demo.sleep", {"seconds": 30, "steps": 300})
        m.wait(job_id, ("RUNNING",))
        assert m.ask(who, "POST", f"/jobs/{job_id}/cancel").status == 200, who
        assert m.ask(who, "DELETE", f"/jobs/{job_id}").status == 200, who
    assert m.ask("owner", "POST", f"/jobs/{running}/cancel").status == 200
    for who in m.identities:  # everyone may submit; the job is theirs
        status = m.ask(who, "POST", "/jobs", {"method": "demo.echo", "params": {}}).status
        assert status == (REFUSED.get(who) or 202), who


def check_raw_result(m: Matrix, secret_job: str) -> None:
    """raw_result is honoured for FULL_ADMIN only, on every route that renders
    a job (lists, get=true, a parent's children, its tree, the children list,
    the result); everyone else gets it redacted."""
    parent = m.submit("owner", "demo.fanout", {
        "count": 1, "method": "demo.secret", "params": {"username": "ann", "password": CANARY}})
    m.wait(parent)
    children = m.ask("owner", "GET", f"/jobs/{parent}/children").body["records"]
    m.owned |= {child["id"] for child in children}
    # Each route, and where its answer holds the results: one job, a list, a parent's children.
    routes = {
        f"/jobs/{secret_job}?raw_result=true": None,
        f"/jobs/{secret_job}/result?raw_result=true": None,
        f"/jobs?raw_result=true&method=demo.secret&tenant_id={TENANT}": "records",
        f"/jobs?raw_result=true&get=true&method=demo.secret&tenant_id={TENANT}": None,
        f"/jobs?raw_result=true&select=id,result&method=demo.secret&tenant_id={TENANT}":
            "records",
        f"/jobs/{parent}?raw_result=true": "children",
        f"/jobs/{parent}?raw_result=true&children=tree&depth=2": "children",
        f"/jobs/{parent}/children?raw_result=true": "records",
    }
    for who in ("owner", "tenant_admin"):
        for path, within in routes.items():
            reply = m.ask(who, "GET", path)
            assert reply.status == 200, (who, path, reply.text)
            results = [job["result"] for job in (reply.body[within] if within else [reply.body])]
            assert results and all(r["password_used"] == "********" for r in results), \
                (who, path, results)
    raw = m.call("GET", f"/jobs/{secret_job}?raw_result=true", m.identities["full_admin"],
                 None, None)
    assert raw.body["result"]["password_used"] == CANARY  # not scanned: it is the point


def check_idempotency_keys(m: Matrix) -> None:
    """An Idempotency-Key belongs to its caller (tenant and user): anyone
    else who sends it, with any body, gets a job of their own, and nothing
    of the owner's (not her job, not her id, not a new link to her file)."""
    key, body = f"matrix-{uuid.uuid4()}", {"method": "demo.export",
                                          "params": {"size": 10}, "download": {"filename": "a"}}
    mine = m.ask("owner", "POST", "/jobs", body, {"Idempotency-Key": key})
    assert mine.status == 202, mine.text
    m.owned.add(str(mine.body["id"]))
    others = ["same_tenant_user", "tenant_admin", "other_tenant_admin", "full_admin"]
    for who in others:
        theirs = m.ask(who, "POST", "/jobs", body, {"Idempotency-Key": key})
        assert theirs.status == 202 and theirs.body["id"] != mine.body["id"], (who, theirs.text)
        changed = {**body, "params": {"size": 11}}
        conflict = m.ask(who, "POST", "/jobs", changed, {"Idempotency-Key": key})
        assert conflict.status == 409, (who, conflict.text)
        assert conflict.body["error"]["details"] == {"job_id": theirs.body["id"]}, who
        assert m.ask(who, "POST", "/jobs", changed, {"Idempotency-Key": key + "-x"}).status \
            == 202, who
    fetched = m.call("GET", mine.body["download_url"], None, None, None)
    assert fetched.status in (200, 302), fetched.text  # 302 here; 200 where redirects are followed
    again = m.ask("owner", "POST", "/jobs", body, {"Idempotency-Key": key})
    assert (again.status, again.body["id"]) == (200, mine.body["id"])
    # Someone else used a key first: the owner's submit with it is still hers.
    first = f"matrix-{uuid.uuid4()}"
    assert m.ask("same_tenant_user", "POST", "/jobs", {"method": "demo.echo", "params": {}},
                 {"Idempotency-Key": first}).status == 202
    hers = m.ask("owner", "POST", "/jobs", {"method": "demo.echo", "params": {}},
                 {"Idempotency-Key": first})
    assert hers.status == 202, hers.text
    m.owned.add(str(hers.body["id"]))
    assert m.ask("owner", "GET", f"/jobs/{hers.body['id']}").status == 200


def check_token_replay(m: Matrix) -> None:
    """A next_token works for the caller it was issued to, and only for them:
    anyone else (even on the same query, even an admin who sees more) gets a
    400 that says so."""
    path = f"/jobs?tenant_id={TENANT}&limit=1"
    tokens = {}
    for who in ("owner", "same_tenant_user", "tenant_admin", "full_admin"):
        page = m.ask(who, "GET", path)
        assert page.status == 200 and page.body["next_token"], (who, page.text)
        tokens[who] = page.body["next_token"]
        again = m.ask(who, "GET", f"{path}&next_token={tokens[who]}")
        assert again.status == 200, (who, again.text)
    for owner, token in tokens.items():
        for who in ("owner", "same_tenant_user", "tenant_admin", "other_tenant_admin",
                    "full_admin"):
            if who == owner:
                continue
            replayed = m.ask(who, "GET", f"{path}&next_token={token}")
            assert replayed.status == 400, (owner, who, replayed.text)
            assert "another caller" in replayed.body["error"]["message"], (owner, who)


def leaks(m: Matrix) -> list[str]:
    """Answers that show the canary or any credential's secret (but the one
    answer that mints it), or one of ann's job or key ids to someone outside
    her scope (an id the request itself named may be echoed back)."""
    found = []
    for who, request, reply in m.answers:
        if CANARY in reply.text:
            found.append(f"{who} {request}: the secret canary")
        minting = request.startswith(("POST /api_keys", "POST /auth/tokens"))
        shown_secrets = [s for s in m.secrets if s in reply.text]
        if shown_secrets and not (minting and len(shown_secrets) == 1):
            found.append(f"{who} {request}: a credential's secret")
        shown = {job_id for job_id in m.owned if job_id in reply.text and job_id not in request}
        if who not in SEES_ANNS_JOBS and shown:
            found.append(f"{who} {request}: ann's jobs {sorted(shown)}")
    return found


def as_text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)
