"""Each Lambda function's cold path, run in a fresh interpreter: `import app`,
then what the function's first call loads and builds before its first AWS
request (modules imported, boto3 clients created). The authorizer's first
call with a JWT is made for real (it needs no AWS); its first call with an
API key needs one read, so it is taken up to that read: the container's
Authenticator, the key parsed and its secret hashed, the credentials table
and the DynamoDB client it reads with. The others build their services.

No network call is made: the settings point at names that do not exist,
and nothing here sends a request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from local.emulated import FAKE_CREDENTIALS, LOCAL_CREDENTIAL_SECRET, LOCAL_JWT_SECRET

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT = {
    "JOBS_TABLE": "jobs", "JOBS_BUCKET": "files",
    "JOBS_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:jobs",
    "JOBS_JWT_SECRET": LOCAL_JWT_SECRET, "AWS_DEFAULT_REGION": "us-east-1",
    "JOBS_CREDENTIALS_TABLE": "credentials", "JOBS_CREDENTIAL_SECRET": LOCAL_CREDENTIAL_SECRET,
    **FAKE_CREDENTIALS,
}
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/api/GET/jobs"
AUTHORIZE = ("app.credential_auth({'type': 'TOKEN', 'methodArn': '" + METHOD_ARN + "', "
             "'authorizationToken': 'Bearer ' + os.environ['PROBE_TOKEN']}, None)")
# An API key of the right shape (none exists: nothing is read).
PROBE_KEY = "1000000000000001-" + "A" * 64
# What the authorizer's first call with an API key does before its read
# (chalicelib.credentials.authenticator: Authenticator._key_caller).
AUTHORIZE_KEY = ("import app; from chalicelib.credentials.shapes import from_header; "
                 f"a = app.authenticator(); p = from_header('Bearer {PROBE_KEY}'); "
                 "s = app.services(); first = [a._hasher.digest(p.key_secret), "
                 "s.credential_table, s.clients.client('dynamodb')]")

# What each function runs first, and the clients that first call creates.
# The API's routes are in three modules (chalicelib.faces.native.*endpoints):
# its first request loads the one it needs.
def path(prefix: str, services: str, clients: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    statements = (f"{prefix}s = app.services(); first = [{services}] + "
                  f"[s.clients.client(n) for n in {clients!r}]")
    return statements, clients


PATHS: dict[str, tuple[str, tuple[str, ...]]] = {
    "authorizer": (f"import app; first = {AUTHORIZE}", ()),
    "authorizer, first API key (up to its read)": (AUTHORIZE_KEY, ("dynamodb",)),
    "API, first GET /jobs/{id}": path("import app; app.endpoints.get_job; ",
                                      "s.jobs, s.fanout", ("dynamodb",)),
    "API, first GET /jobs (a list)": path("import app; app.list_endpoints.list_all_jobs; ",
                                          "s.lister", ("dynamodb",)),
    "API, first POST /jobs": path("import app; app.endpoints.submit_job; ", "s.jobs",
                                  ("dynamodb", "stepfunctions")),
    "worker, first leaf job": path("import app; ", "s.worker", ("dynamodb", "s3")),
    "sweeper": path("import app; ", "s.sweeper", ("dynamodb", "stepfunctions")),
    "upload events": path("import app; ", "s.uploads", ("dynamodb", "s3", "stepfunctions")),
}


def floor(clients: tuple[str, ...]) -> str:
    """A bare Chalice function on boto3 and pydantic (the stack the brief fixes)
    that creates the same clients: the least a function making those AWS calls
    and validating with pydantic could load."""
    return ("import chalice, boto3; from pydantic import BaseModel; "
            f"s = boto3.session.Session(); first = [s.client(n) for n in {clients!r}]")


PROBE = """
import json, os, sys, time
started = time.perf_counter()
{statements}
elapsed = time.perf_counter() - started
print(json.dumps({{"seconds": elapsed, "modules": sorted(sys.modules),
                  "first": first if isinstance(first, dict) else None}}))
"""


def probe(statements: str, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `statements` in a fresh interpreter from the repo root, with
    `environment` (default ENVIRONMENT) as its only JOBS_* settings: the
    seconds they took, every module loaded afterwards, and the first call's
    answer when it is a plain dict (the authorizer's policy)."""
    from chalicelib.authn import mint

    token = mint(LOCAL_JWT_SECRET, "default", "prober", ["TENANT_ADMIN"])
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("JOBS_")}
    env = {**inherited, **(ENVIRONMENT if environment is None else environment),
           "PROBE_TOKEN": token}
    out = subprocess.run([sys.executable, "-c", PROBE.format(statements=statements)],
                         cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def packages(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}
