"""What `make deploy` produces, checked without AWS: the Chalice package merged
with infra/app-merge.json, linted by cfn-lint, and consistent with infra/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.provision import load_template

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("package") / "dev"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", "dev",
         "--merge-template", "infra/app-merge.json", str(out)],
        cwd=PROJECT_DIR, env=env, check=True, capture_output=True, timeout=300,
    )
    template = json.loads((out / "sam.json").read_text())
    template["_path"] = str(out / "sam.json")
    return template


def test_the_packaged_template_passes_cfn_lint(packaged: dict[str, Any]) -> None:
    lint = subprocess.run(
        [str(BIN / "cfn-lint"), packaged["_path"]], capture_output=True, text=True, timeout=300
    )

    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_state_machine_invokes_the_worker_the_package_deploys(
    packaged: dict[str, Any],
) -> None:
    machine = load_template()["Resources"]["JobsStateMachine"]["Properties"]
    invoked = machine["DefinitionSubstitutions"]["WorkerArn"]["Fn::Sub"]
    deployed = packaged["Resources"]["Worker"]["Properties"]["FunctionName"]["Fn::Sub"]

    assert invoked.endswith(":function:" + deployed)


def test_every_function_gets_the_resources_and_role_infra_creates(
    packaged: dict[str, Any],
) -> None:
    infra = load_template()["Resources"]
    table = infra["JobsTable"]["Properties"]["TableName"]["Fn::Sub"]
    roles = {infra[r]["Properties"]["RoleName"]["Fn::Sub"]
             for r in ("ApiRole", "WorkerRole", "SweeperRole", "UploadsRole", "AuthorizerRole")}
    functions = [name for name, resource in packaged["Resources"].items()
                 if resource["Type"] == "AWS::Serverless::Function"]
    assert sorted(functions) == ["APIHandler", "CredentialAuth", "Sweep", "UploadLanded", "Worker"]
    for name in functions:
        function = packaged["Resources"][name]["Properties"]
        variables = function["Environment"]["Variables"]

        assert variables["JOBS_TABLE"] == {"Fn::Sub": table}
        assert "stateMachine:jobapi-${Stage}-jobs" in variables["JOBS_STATE_MACHINE_ARN"]["Fn::Sub"]
        assert function["Role"]["Fn::Sub"].rsplit("/", 1)[1] in roles
    authorizer = packaged["Resources"]["CredentialAuth"]["Properties"]["Environment"]["Variables"]
    assert "jwt-secret" in authorizer["JOBS_JWT_SECRET"]["Fn::Sub"]


def test_only_the_files_buckets_upload_events_reach_upload_landed(
    packaged: dict[str, Any],
) -> None:
    infra = load_template()["Resources"]
    bucket = infra["FilesBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    events = packaged["Resources"]["UploadLanded"]["Properties"]["Events"]
    pattern = events["UploadLandedEvent"]["Properties"]["Pattern"]

    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Fn::Sub": bucket}]
    assert pattern["detail"]["object"]["key"] == [{"suffix": "/upload"}]


def test_api_gateways_own_answers_use_the_error_envelope(packaged: dict[str, Any]) -> None:
    definition = packaged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    answers = definition["x-amazon-apigateway-gateway-responses"]

    assert {"UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN",
            "DEFAULT_4XX", "DEFAULT_5XX"} <= set(answers)
    assert answers["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert answers["INVALID_SIGNATURE"] == answers["MISSING_AUTHENTICATION_TOKEN"]
    for kind, answer in answers.items():
        # API Gateway substitutes $context variables and runs no VTL. messageString
        # may quote request headers unescaped: a bearer token, or invalid JSON.
        template = answer["responseTemplates"]["application/json"]
        assert "messageString" not in template, kind
        body = json.loads(template.replace("$context.error.responseType", "THROTTLED"))
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, kind
        assert answer["responseParameters"]["gatewayresponse.header.Content-Type"] == \
            "'application/json'"


def test_the_authorizer_and_the_api_reach_the_credentials_table_and_no_one_else(
    packaged: dict[str, Any],
) -> None:
    """Issue 16: the authorizer checks keys and tokens (GetItem, and
    DeleteItem for a single-use token), the API mints, lists and revokes;
    no other function holds the credentials table or its secret."""
    infra = load_template()["Resources"]
    table = infra["CredentialsTable"]["Properties"]["TableName"]["Fn::Sub"]
    holders = {}
    for name, resource in packaged["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        variables = resource["Properties"]["Environment"]["Variables"]
        if "JOBS_CREDENTIALS_TABLE" in variables:
            assert variables["JOBS_CREDENTIALS_TABLE"] == {"Fn::Sub": table}
            assert "credential-secret" in variables["JOBS_CREDENTIAL_SECRET"]["Fn::Sub"]
            holders[name] = resource["Properties"]["Role"]["Fn::Sub"].rsplit("/", 1)[1]
    assert holders == {"APIHandler": "jobapi-${Stage}-api",
                       "CredentialAuth": "jobapi-${Stage}-authorizer"}

    def actions_on_credentials(role: str) -> set[str]:
        found: set[str] = set()
        for policy in infra[role]["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                if any("CredentialsTable" in json.dumps(r) for r in resources):
                    found |= set(statement["Action"])
        return found

    assert actions_on_credentials("AuthorizerRole") == {"dynamodb:GetItem",
                                                        "dynamodb:DeleteItem"}
    assert actions_on_credentials("ApiRole") == {"dynamodb:GetItem", "dynamodb:PutItem",
                                                 "dynamodb:DeleteItem", "dynamodb:Query"}
    for role in ("WorkerRole", "SweeperRole", "UploadsRole"):
        assert actions_on_credentials(role) == set(), role
    # /_upload checks its own credential (it takes ?auth_token=): the API needs the JWT key.
    api = packaged["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert "jwt-secret" in api["JOBS_JWT_SECRET"]["Fn::Sub"]


def test_upload_alone_is_open_to_api_gateway_and_checks_its_credential_itself(
    packaged: dict[str, Any],
) -> None:
    paths = packaged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    unguarded = sorted(f"{verb.upper()} {path}" for path, verbs in paths.items()
                       for verb, operation in verbs.items()
                       if isinstance(operation, dict) and not operation.get("security"))

    assert unguarded == ["GET /_download/{job_id}", "GET /health", "POST /_upload"]
