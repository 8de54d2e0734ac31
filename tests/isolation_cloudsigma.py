"""The CloudSigma face (issue 20) in the isolation matrix (tests/isolation_matrix.py):
ann's job, read by its uuid at /api/2.0/jobs/<uuid>/, is shown to whoever
may see it natively and is `notexist` (404) to everyone else; a list shows
it only to her tenant (a full admin lists its own tenant); every untrusted
credential, of any kind, is CloudSigma's 401 `permission` list."""

from __future__ import annotations

from tests.isolation_matrix import REFUSED, SEES_ANNS_JOBS, Matrix, Reply

API = "/api/2.0"
LISTS_ANNS_JOBS = SEES_ANNS_JOBS - {"full_admin", "full_admin_key"}


def check_cloudsigma(m: Matrix, secret_job: str) -> None:
    for who in m.identities:
        for path in (f"{API}/jobs/{secret_job}/", f"{API}/jobs/{secret_job}"):
            reply = m.ask(who, "GET", path)
            if who in REFUSED:
                assert_cloudsigma_error(reply, 401, "permission", who)
            elif who in SEES_ANNS_JOBS:
                assert reply.status == 200, (who, path, reply.text)
                assert reply.body["uuid"] == secret_job, (who, reply.text)
            else:
                assert_cloudsigma_error(reply, 404, "notexist", who)
        listed = m.ask(who, "GET", f"{API}/jobs/?limit=1000")
        schema = m.ask(who, "GET", f"{API}/jobs/schema/")
        if who in REFUSED:
            assert_cloudsigma_error(listed, 401, "permission", who)
            assert_cloudsigma_error(schema, 401, "permission", who)
            continue
        assert listed.status == 200 and schema.status == 200, (who, listed.text)
        uuids = {job["uuid"] for job in listed.body["objects"]}
        assert (secret_job in uuids) == (who in LISTS_ANNS_JOBS), (who, uuids)
        filtered = m.ask(who, "GET", f"{API}/jobs/?state=success,error&limit=1000")
        assert (secret_job in filtered.text) == (who in LISTS_ANNS_JOBS), who
    for who in ("owner", "same_tenant_user", *sorted(REFUSED)):
        reply = m.ask(who, "DELETE", f"{API}/jobs/{secret_job}/")
        assert reply.status == (401 if who in REFUSED else 405), (who, reply.text)
    assert m.ask("owner", "GET", f"{API}/jobs/{secret_job}/").status == 200


def assert_cloudsigma_error(reply: Reply, status: int, error_type: str, who: str) -> None:
    assert reply.status == status, (who, reply.status, reply.text)
    assert isinstance(reply.body, list) and len(reply.body) == 1, (who, reply.text)
    (error,) = reply.body
    assert set(error) == {"error_type", "error_message", "error_point"}, (who, error)
    assert error["error_type"] == error_type and error["error_point"] is None, (who, error)
