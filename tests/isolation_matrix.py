"""Who may see what (issue 8), as one matrix run through any transport: the
Chalice test client (tests/functional) or the local server over HTTP
(tests/e2e). Every route x {owner, another user of the tenant, the tenant's
admin, another tenant's admin, a full admin, no token, a bad signature, an
expired token}; then every answer is scanned for other tenants' job ids and
for the secret canary."""

from __future__ import annotations

import json
import time
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


# (method, path, token or None, JSON body or None) -> Reply
Call = Callable[[str, str, str | None, Any], Reply]


IDENTITIES: dict[str, str | None] = {
    "owner": token_for(TENANT, "ann", ()),
    "same_tenant_user": token_for(TENANT, "bob", ("USER",)),
    "tenant_admin": token_for(TENANT, "tina", ("TENANT_ADMIN",)),
    "other_tenant_admin": token_for(OTHER_TENANT, "olga", ("TENANT_ADMIN",)),
    "full_admin": token_for("ops", "root", ("FULL_ADMIN",)),
    "no_token": None,
    "bad_signature": token_for(TENANT, "ann", (), secret="another-stage-secret-" * 3),
    "expired": token_for(TENANT, "ann", (), seconds=-3600),
}
SEES_ANNS_JOBS = {"owner", "tenant_admin", "full_admin"}
OUTSIDERS = {"same_tenant_user", "other_tenant_admin"}
REFUSED = {"no_token": 401, "bad_signature": 403, "expired": 403}


@dataclass
class Matrix:
    call: Call
    answers: list[tuple[str, str, Reply]] = field(default_factory=list)
    owned: set[str] = field(default_factory=set)  # the ids of ann's jobs

    def ask(self, who: str, method: str, path: str, body: Any = None) -> Reply:
        reply = self.call(method, path, IDENTITIES[who], body)
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
            job = self.call("GET", f"/jobs/{job_id}", IDENTITIES["owner"], None).body
            if job["state"] in states:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never reached {states}")


def expected(who: str, visible: int = 200) -> int:
    if who in REFUSED:
        return REFUSED[who]
    return visible if who in SEES_ANNS_JOBS else 404


def run_matrix(call: Call) -> Matrix:
    """Runs every check; returns the matrix for the leak scan."""
    m = Matrix(call)
    secret_job = m.submit("owner", "demo.secret", {"username": "ann", "password": CANARY})
    m.wait(secret_job)
    parent = m.submit("owner", "demo.fanout", {"count": 2})
    m.wait(parent)
    children = m.ask("owner", "GET", f"/jobs/{parent}/children").body["records"]
    assert len(children) == 2  # else the scan below would check fewer ids than it should
    m.owned |= {child["id"] for child in children}
    ann_jobs = {secret_job, parent}

    for who in IDENTITIES:
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

    check_writes(m, ann_jobs)
    check_raw_result(m, secret_job)
    return m


def check_writes(m: Matrix, ann_jobs: set[str]) -> None:
    """Cancel and delete by anyone outside the scope find nothing and change
    nothing; DELETE /jobs only ever reaches the caller's own scope."""
    running = m.submit("owner", "demo.sleep", {"seconds": 30, "steps": 300})
    m.wait(running, ("RUNNING",))
    for who in [*OUTSIDERS, *REFUSED]:
        assert m.ask(who, "POST", f"/jobs/{running}/cancel").status == expected(who), who
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
    for who in IDENTITIES:  # everyone may submit; the job is theirs
        status = m.ask(who, "POST", "/jobs", {"method": "demo.echo", "params": {}}).status
        assert status == (REFUSED.get(who) or 202), who


def check_raw_result(m: Matrix, secret_job: str) -> None:
    """raw_result is honoured for FULL_ADMIN only; everyone else gets it redacted."""
    for who in ("owner", "tenant_admin"):
        body = m.ask(who, "GET", f"/jobs/{secret_job}?raw_result=true").body
        assert body["result"]["password_used"] == "********", who
    raw = m.call("GET", f"/jobs/{secret_job}?raw_result=true", IDENTITIES["full_admin"], None)
    assert raw.body["result"]["password_used"] == CANARY  # not scanned: it is the point


def leaks(m: Matrix) -> list[str]:
    """Answers that show the canary, or one of ann's job ids to someone outside
    her scope (an id the request itself named may be echoed back)."""
    found = []
    for who, request, reply in m.answers:
        if CANARY in reply.text:
            found.append(f"{who} {request}: the secret canary")
        shown = {job_id for job_id in m.owned if job_id in reply.text and job_id not in request}
        if who not in SEES_ANNS_JOBS and shown:
            found.append(f"{who} {request}: ann's jobs {sorted(shown)}")
    return found


def as_text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)
