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
WEBSOCKET_FUNCTIONS = ("WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect")
EVENT_FUNCTIONS = {"JobEvents", *WEBSOCKET_FUNCTIONS}


def _functions(packaged: dict[str, Any]) -> list[str]:
    return [name for name, resource in packaged["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"]


def _role_of(packaged: dict[str, Any], function: str) -> str:
    """The role name (jobapi-${Stage}-...) a packaged function runs as."""
    role: str = packaged["Resources"][function]["Properties"]["Role"]["Fn::Sub"]
    return role.rsplit("/", 1)[1]


def _infra_roles(infra: dict[str, Any]) -> dict[str, str]:
    """Role name (jobapi-${Stage}-...) -> its logical id in infra/template.yaml."""
    return {resource["Properties"]["RoleName"]["Fn::Sub"]: name
            for name, resource in infra.items() if resource["Type"] == "AWS::IAM::Role"}


def _statements(infra: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [statement for policy in infra[role]["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _named(resource: Any) -> str:
    """A policy resource as text: !GetAtt JobsTable.Arn -> "JobsTable.Arn"."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return ".".join(resource["Fn::GetAtt"])
    return json.dumps(resource)


def _actions_on(infra: dict[str, Any], role: str, resource: str) -> set[str]:
    """The actions `role` allows on anything that names `resource`
    ("CredentialsTable", "JobsTable.Arn", "JobsTable.StreamArn", ...)."""
    found: set[str] = set()
    for statement in _statements(infra, role):
        if any(resource in _named(r) for r in _listed(statement["Resource"])):
            found |= set(_listed(statement["Action"]))
    return found


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
             for r in ("ApiRole", "WorkerRole", "SweeperRole", "UploadsRole", "AuthorizerRole",
                       "EventsRole", "WebsocketRole")}
    functions = _functions(packaged)
    assert sorted(functions) == ["APIHandler", "CredentialAuth", "JobEvents", "Sweep",
                                 "UploadLanded", "WebsocketConnect", "WebsocketDisconnect",
                                 "WebsocketMessage", "Worker"]
    for name in functions:
        function = packaged["Resources"][name]["Properties"]
        variables = function["Environment"]["Variables"]

        assert variables["JOBS_TABLE"] == {"Fn::Sub": table}
        assert "stateMachine:jobapi-${Stage}-jobs" in variables["JOBS_STATE_MACHINE_ARN"]["Fn::Sub"]
        assert function["Role"]["Fn::Sub"].rsplit("/", 1)[1] in roles
    authorizer = packaged["Resources"]["CredentialAuth"]["Properties"]["Environment"]["Variables"]
    assert "jwt-secret" in authorizer["JOBS_JWT_SECRET"]["Fn::Sub"]
    assert _role_of(packaged, "JobEvents") == "jobapi-${Stage}-events"
    for name in WEBSOCKET_FUNCTIONS:
        assert _role_of(packaged, name) == "jobapi-${Stage}-websocket", name
        variables = packaged["Resources"][name]["Properties"]["Environment"]["Variables"]
        # Authentication as the authorizer's, and a snapshot's next_token.
        assert "jwt-secret" in variables["JOBS_JWT_SECRET"]["Fn::Sub"], name
        assert "token-secret" in variables["JOBS_TOKEN_SECRET"]["Fn::Sub"], name


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


def test_binary_answers_reach_clients_that_accept_anything(packaged: dict[str, Any]) -> None:
    """API Gateway decodes a base64 answer (an inline /_download) only when
    the request's first Accept type is a binary media type: TrueNAS clients
    send `Accept: */*`, so `*/*` must be one (Chalice decodes the base64
    request bodies this also brings)."""
    definition = packaged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    binary = definition["x-amazon-apigateway-binary-media-types"]

    assert {"*/*", "application/octet-stream", "multipart/form-data"} <= set(binary)


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
    # The WebSocket functions authenticate watchers as the authorizer does.
    assert holders == {"APIHandler": "jobapi-${Stage}-api",
                       "CredentialAuth": "jobapi-${Stage}-authorizer",
                       **{name: "jobapi-${Stage}-websocket" for name in WEBSOCKET_FUNCTIONS}}

    def actions_on_credentials(role: str) -> set[str]:
        return _actions_on(infra, role, "CredentialsTable")

    assert actions_on_credentials("AuthorizerRole") == {"dynamodb:GetItem",
                                                        "dynamodb:DeleteItem"}
    assert actions_on_credentials("WebsocketRole") == {"dynamodb:GetItem",
                                                       "dynamodb:DeleteItem"}
    assert actions_on_credentials("ApiRole") == {"dynamodb:GetItem", "dynamodb:PutItem",
                                                 "dynamodb:DeleteItem", "dynamodb:Query"}
    for role in ("WorkerRole", "SweeperRole", "UploadsRole", "EventsRole"):
        assert actions_on_credentials(role) == set(), role
    # /_upload checks its own credential (it takes ?auth_token=): the API needs the JWT key.
    api = packaged["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert "jwt-secret" in api["JOBS_JWT_SECRET"]["Fn::Sub"]


def test_only_the_routes_that_check_their_credential_themselves_are_open_to_api_gateway(
    packaged: dict[str, Any],
) -> None:
    """The native routes but three have the authorizer; the ArangoDB face's
    (/_api/..., and every route under /_db/<database>/) check the
    credential themselves, to refuse it in arangod's body (issue 19)."""
    paths = packaged["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    routes = {f"{verb.upper()} {path}": bool(operation.get("security"))
              for path, verbs in paths.items() for verb, operation in verbs.items()
              if isinstance(operation, dict)}
    # NetApp's and CloudSigma's faces check their credential themselves too
    # (their own error shapes), and are not served under /_db/; nor is the
    # dashboard, whose page and files need none (its calls carry the user's).
    others = {route: guarded for route, guarded in routes.items()
              if route.split(" ")[1].startswith(("/v2.1/", "/api/2.0/", "/ui"))}
    native = {route: guarded for route, guarded in routes.items() if route not in others
              and not route.split(" ")[1].startswith(("/_api/", "/_db/"))}
    face = {route: guarded for route, guarded in routes.items()
            if route not in native and route not in others}

    assert sorted(route for route, guarded in native.items() if not guarded) == [
        "GET /_download/{job_id}", "GET /docs", "GET /docs/docs.js", "GET /health",
        "GET /openapi.json", "POST /_upload"]
    assert not any(face.values()) and not any(others.values())
    assert sorted(route for route in others if " /ui" in route) == ["GET /ui", "GET /ui/{name}"]
    in_database = {route.replace("/_db/{database}", "", 1) for route in face
                   if "/_db/{database}/" in route and "/_api/" not in route}
    assert in_database == set(native)  # every native route, under /_db/ too


def test_job_events_reads_the_jobs_stream_the_infra_stack_exports_in_order(
    packaged: dict[str, Any],
) -> None:
    """Issue 17: the stream's ARN is not derivable from the stage, so the
    infra stack exports it and the app's mapping imports it. A job's events
    reach its watchers in revision order: one batch per shard at a time, a
    failed batch retried whole (no bisecting) a bounded number of times."""
    template = load_template()
    infra = template["Resources"]
    jobs = infra["JobsTable"]["Properties"]
    assert jobs["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    exported = template["Outputs"]["JobsStreamArn"]
    assert exported["Value"] == {"Fn::GetAtt": ["JobsTable", "StreamArn"]}

    mapping = packaged["Resources"]["JobEvents"]["Properties"]["Events"]
    assert list(mapping) == ["JobEventsDynamodbEventSource"]
    source = mapping["JobEventsDynamodbEventSource"]
    assert source["Type"] == "DynamoDB"
    settings = source["Properties"]
    assert settings["Stream"] == {"Fn::ImportValue": exported["Export"]["Name"]}
    assert exported["Export"]["Name"] == {"Fn::Sub": "jobapi-${Stage}-jobs-stream"}
    assert settings["ParallelizationFactor"] == 1
    assert settings["BisectBatchOnFunctionError"] is False
    assert 0 < settings["MaximumRetryAttempts"] <= 10
    assert settings["StartingPosition"] == "LATEST"
    # A batch given up on is recorded (shard, sequence numbers) in the infra
    # stack's queue, which only the events role may send to.
    dropped = template["Outputs"]["DroppedEventsQueueArn"]
    assert settings["DestinationConfig"] == {"OnFailure": {
        "Type": "SQS", "Destination": {"Fn::ImportValue": dropped["Export"]["Name"]}}}
    assert dropped["Value"] == {"Fn::GetAtt": ["DroppedEventsQueue", "Arn"]}
    for role in _infra_roles(infra).values():
        sending = _actions_on(infra, role, "DroppedEventsQueue.Arn")
        assert sending == ({"sqs:SendMessage"} if role == "EventsRole" else set()), role

    # The mapping polls as the function's role: the jobs stream, and only it.
    reading = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
               "dynamodb:ListStreams"}
    for role in _infra_roles(infra).values():
        on_stream = _actions_on(infra, role, "JobsTable.StreamArn")
        assert on_stream == (reading if role == "EventsRole" else set()), role
        for statement in _statements(infra, role):
            if reading & set(_listed(statement["Action"])):
                assert statement["Resource"] == {"Fn::GetAtt": ["JobsTable", "StreamArn"]}, role


def test_only_job_events_and_the_websocket_functions_manage_connections(
    packaged: dict[str, Any],
) -> None:
    """Posting to (or closing) any watcher's connection is for the functions
    that serve watchers: JobEvents sends, the WebSocket functions answer and
    close a refused connection."""
    infra = load_template()["Resources"]
    roles = _infra_roles(infra)

    def manage(role: str) -> list[str]:
        return [json.dumps(resource) for statement in _statements(infra, role)
                if "execute-api:ManageConnections" in _listed(statement["Action"])
                for resource in _listed(statement["Resource"])]

    holders = {name for name in _functions(packaged) if manage(roles[_role_of(packaged, name)])}
    assert holders == EVENT_FUNCTIONS
    assert {role for role in roles.values() if manage(role)} == {"EventsRole", "WebsocketRole"}
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:*/api/"
    assert manage("EventsRole") == [json.dumps({"Fn::Sub": prefix + "POST/@connections/*"})]
    assert sorted(manage("WebsocketRole")) == sorted(
        json.dumps({"Fn::Sub": prefix + verb + "/@connections/*"}) for verb in ("POST", "DELETE"))
    for role in roles.values():  # execute-api is granted by that statement alone
        for statement in _statements(infra, role):
            actions = _listed(statement["Action"])
            assert not any(a.startswith("execute-api:") for a in actions) or \
                actions == ["execute-api:ManageConnections"], role


def test_the_watchers_table_is_reached_by_the_event_functions_alone(
    packaged: dict[str, Any],
) -> None:
    infra = load_template()["Resources"]
    table = infra["WatchersTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    holders = {}
    for name in _functions(packaged):
        variables = packaged["Resources"][name]["Properties"]["Environment"]["Variables"]
        if "JOBS_WATCHERS_TABLE" in variables:
            assert variables["JOBS_WATCHERS_TABLE"] == table["TableName"], name
            holders[name] = _role_of(packaged, name)
    assert set(holders) == EVENT_FUNCTIONS

    roles = _infra_roles(infra)
    reaching = {role: _actions_on(infra, role, "WatchersTable") for role in roles.values()}
    assert {role for role, actions in reaching.items() if actions} == \
        {roles[role] for role in holders.values()} == {"EventsRole", "WebsocketRole"}
    # Delivery reads a tenant's subscriptions and forgets gone connections.
    assert reaching["EventsRole"] == {"dynamodb:GetItem", "dynamodb:Query",
                                      "dynamodb:BatchWriteItem"}
    # The sockets keep connections and subscriptions (one at a time) and
    # forget a closed connection's in batches.
    assert reaching["WebsocketRole"] == {"dynamodb:GetItem", "dynamodb:PutItem",
                                         "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                         "dynamodb:BatchWriteItem"}
    # JobEvents reads no job (a stream record carries it); a snapshot reads
    # one page of GET /jobs, never the sweeper's by_active index.
    assert _actions_on(infra, "EventsRole", "JobsTable.Arn") == set()
    assert _actions_on(infra, "WebsocketRole", "JobsTable.Arn") == {
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
    assert _actions_on(infra, "WebsocketRole", "by_active") == set()


def test_events_are_sent_to_the_packaged_websocket_apis_stage(packaged: dict[str, Any]) -> None:
    resources = packaged["Resources"]
    stage = next(resource["Properties"] for resource in resources.values()
                 if resource["Type"] == "AWS::ApiGatewayV2::Stage")
    assert stage["ApiId"] == {"Ref": "WebsocketAPI"}
    assert resources["WebsocketAPI"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    # The management API is the stage's URL, over https.
    watchers_url = packaged["Outputs"]["WebsocketConnectEndpointURL"]["Value"]["Fn::Sub"]
    expected = "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + \
        stage["StageName"]
    assert watchers_url.replace("wss://", "https://").rstrip("/") == expected
    for name in EVENT_FUNCTIONS:
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["JOBS_EVENTS_ENDPOINT"] == {"Fn::Sub": expected}, name
    # The roles' ManageConnections is scoped to this stage name.
    infra = load_template()["Resources"]
    for role in ("EventsRole", "WebsocketRole"):
        for statement in _statements(infra, role):
            if "execute-api:ManageConnections" in _listed(statement["Action"]):
                for resource in _listed(statement["Resource"]):
                    assert f":*/{stage['StageName']}/" in resource["Fn::Sub"], role
