"""The NetApp face (issue 20) in the isolation matrix (tests/isolation_matrix.py):
a job by its UUID is seen by whoever sees it natively (a full admin too); by
its number, within the caller's own tenant only (numbers are per tenant);
a list shows ann's jobs to her scope alone, whatever tenant_id names; every
untrusted credential, of any kind, is refused with 401 in NetApp's envelope
(the face checks it itself), a submit too."""

from __future__ import annotations

from tests.isolation_matrix import (
    REFUSED,
    SEES_ANNS_JOBS,
    TENANT,
    Matrix,
    Reply,
)

NOT_AUTHORIZED = {"status": {"user_message": (
    "Unauthorized: send an Authorization header: Basic <user:API key>, "
    "Bearer <JWT or API key> or Token <token>"),
    "verbose_message": "unauthorized", "code": 401}, "result": {}}
FULL_ADMINS = {"full_admin", "full_admin_key"}


def check_netapp(m: Matrix, secret_job: str) -> None:
    number = m.ask("owner", "GET", f"/jobs/{secret_job}").body["number"]
    for who in m.identities:
        by_id = m.ask(who, "GET", f"/v2.1/jobs/{secret_job}")
        by_number = m.ask(who, "GET", f"/v2.1/jobs/{number}?wait=0")
        listed = m.ask(who, "GET", f"/v2.1/jobs?tenant_id={TENANT}&limit=100")
        if who in REFUSED:
            for reply in (by_id, by_number, listed):
                netapp_refusal(reply, who)
            continue
        assert by_id.status == (200 if who in SEES_ANNS_JOBS else 404), (who, by_id.text)
        assert by_number.status == (200 if who in SEES_ANNS_JOBS - FULL_ADMINS else 404), \
            (who, by_number.text)
        for reply in (by_id, by_number):
            assert reply.body["status"]["code"] == reply.status, (who, reply.text)
            if reply.status == 200:
                assert reply.body["result"]["records"][0]["id"] == secret_job, who
        assert listed.status == 200, (who, listed.text)
        ids = {record["id"] for record in listed.body["result"]["records"]}
        assert (secret_job in ids) == (who in SEES_ANNS_JOBS), (who, ids)
    for who in REFUSED:
        netapp_refusal(m.ask(who, "POST", "/v2.1/jobs", {"action": "demo.echo"}), who)


def netapp_refusal(reply: Reply, who: str) -> None:
    """Every untrusted credential (none, a bad signature, an expired token,
    a revoked or wrong key, a malformed one): 401, in NetApp's envelope."""
    assert reply.status == 401 and reply.body == NOT_AUTHORIZED, (who, reply.text)
