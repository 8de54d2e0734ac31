"""Creates what infra/template.yaml declares, through the service APIs.

moto's CloudFormation cannot be used for this (with execution on, a state
machine it creates is not registered, and it ignores TimeToLiveSpecification),
so this reads the same template the AWS deploy uses and makes each resource
with the matching API call. The template stays the single source of truth:
table keys, indexes, TTL, bucket settings and the state machine definition
all come from it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
APP_NAME = "jobapi"


@dataclass(frozen=True)
class Provisioned:
    table_name: str
    bucket_name: str
    state_machine_arn: str
    express_state_machine_arn: str
    worker_function: str
    credentials_table: str = ""
    # The jobs table's stream (DynamoDB Streams), read by local/streams.py the
    # way Lambda's event source mapping reads it; "" while the template
    # declares none.
    jobs_stream_arn: str = ""
    watchers_table: str = ""

    def environment(self) -> dict[str, str]:
        return {
            "JOBS_TABLE": self.table_name,
            "JOBS_CREDENTIALS_TABLE": self.credentials_table,
            "JOBS_WATCHERS_TABLE": self.watchers_table,
            "JOBS_BUCKET": self.bucket_name,
            "JOBS_STATE_MACHINE_ARN": self.state_machine_arn,
            "JOBS_EXPRESS_STATE_MACHINE_ARN": self.express_state_machine_arn,
        }


def load_template(path: Path = TEMPLATE, as_written: bool = False) -> dict[str, Any]:
    """The template; the jobs template as a new stack gets it (each `!If` of
    its Conditions decided by the parameters' defaults: the _v2 indexes),
    unless `as_written`."""
    template: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)
    if path == TEMPLATE and not as_written:
        template = as_defaults(template)
    return template


def as_defaults(template: dict[str, Any], **parameters: str) -> dict[str, Any]:
    """`template` with every Fn::If decided as CloudFormation would with the
    parameters' defaults (or `parameters`), and AWS::NoValue dropped.
    Conditions may use Fn::Equals, Fn::Not, Fn::And, Fn::Or and Ref to a
    parameter."""
    defaults = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    defaults.update(parameters)
    conditions = template.get("Conditions", {})

    def value(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in defaults:
            return defaults[node["Ref"]]
        return node

    def holds(node: Any) -> bool:
        if isinstance(node, str):
            return holds(conditions[node])
        ((name, args),) = node.items()
        if name == "Fn::Equals":
            return bool(value(args[0]) == value(args[1]))
        if name == "Fn::Not":
            return not holds(args[0])
        if name == "Fn::And":
            return all(holds(arg) for arg in args)
        if name == "Fn::Or":
            return any(holds(arg) for arg in args)
        if name == "Condition":
            return holds(conditions[args])
        raise ValueError(f"cannot decide the condition {node!r} locally")

    def decided(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, then, otherwise = node["Fn::If"]
                return decided(then if holds(name) else otherwise)
            return {key: decided(item) for key, item in node.items()
                    if not _no_value(decided(item))}
        if isinstance(node, list):
            return [decided(item) for item in node if not _no_value(decided(item))]
        return node

    return {key: decided(part) for key, part in template.items() if key != "Conditions"}


def _no_value(node: Any) -> bool:
    return node == {"Ref": "AWS::NoValue"}


def provision(
    clients: Any,
    stage: str = "local",
    region: str = "us-east-1",
    account: str = "123456789012",
) -> Provisioned:
    """Create the tables, bucket, role and state machines for `stage`."""
    template = load_template()
    resources = template["Resources"]
    names = _Substitution(stage=stage, region=region, account=account)
    table, stream_arn = _create_table(clients.dynamodb, resources["JobsTable"]["Properties"],
                                      names)
    credentials, _ = _create_table(clients.dynamodb,
                                   resources["CredentialsTable"]["Properties"], names)
    watchers = ""
    if "WatchersTable" in resources:
        watchers, _ = _create_table(clients.dynamodb, resources["WatchersTable"]["Properties"],
                                    names)
    bucket = _create_bucket(clients.s3, resources["FilesBucket"]["Properties"], names)
    role = resources["StateMachineRole"]["Properties"]
    role_arn = _create_role(clients.client("iam"), role, names)
    machines = {
        name: _create_state_machine(clients.stepfunctions, resource["Properties"], names, role_arn)
        for name, resource in resources.items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    }
    return Provisioned(table, bucket, machines["JobsStateMachine"],
                       machines["ExpressJobsStateMachine"], f"{APP_NAME}-{stage}-worker",
                       credentials, stream_arn, watchers)


def _create_table(dynamodb: Any, props: dict[str, Any],
                  names: _Substitution) -> tuple[str, str]:
    """Create the table; returns its name and its stream's ARN ("" if none)."""
    name = names.resolve(props["TableName"])
    indexes = [
        {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
        for index in props.get("GlobalSecondaryIndexes", [])
    ]
    stream = {}
    if "StreamSpecification" in props:
        # CloudFormation's StreamSpecification has only the view type; the API
        # also wants StreamEnabled.
        stream = {"StreamSpecification": {
            "StreamEnabled": True,
            "StreamViewType": props["StreamSpecification"]["StreamViewType"]}}
    answer = dynamodb.create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        # moto (and DynamoDB) refuse an empty list of indexes.
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
        **stream,
    )
    ttl = props["TimeToLiveSpecification"]
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )
    return name, str(answer["TableDescription"].get("LatestStreamArn", ""))


def _create_bucket(s3: Any, props: dict[str, Any], names: _Substitution) -> str:
    name = names.resolve(props["BucketName"])
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]}}
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]},
    )
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
    )
    notifications = props.get("NotificationConfiguration", {})
    if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
        # moto records it; local/seam.py delivers the events it would send.
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}})
    return name


def _create_role(iam: Any, props: dict[str, Any], names: _Substitution) -> str:
    role = iam.create_role(
        RoleName=names.resolve(props["RoleName"]),
        AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
    )
    return str(role["Role"]["Arn"])


def _create_state_machine(
    sfn: Any, props: dict[str, Any], names: _Substitution, role_arn: str
) -> str:
    substitutions = {
        key: names.resolve(value) for key, value in props["DefinitionSubstitutions"].items()
    }
    definition = json.dumps(props["Definition"])
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", value)
    answer = sfn.create_state_machine(
        name=names.resolve(props["StateMachineName"]),
        definition=definition,
        roleArn=role_arn,
        type=props.get("StateMachineType", "STANDARD"),
    )
    return str(answer["stateMachineArn"])


class _Substitution:
    """Resolves the few intrinsic functions the provisioned properties use."""

    def __init__(self, stage: str, region: str, account: str) -> None:
        self._values = {
            "Stage": stage,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
        }

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._values[m.group(1)], value["Fn::Sub"])
        raise ValueError(f"cannot resolve {value!r} locally")


class _CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that reads CloudFormation's short tags (!Sub, !Ref, ...)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)
