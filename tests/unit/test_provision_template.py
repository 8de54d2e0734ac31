"""The local provisioner reads the same template the AWS deploy uses."""

from __future__ import annotations

import json

from chalicelib import keys
from local.provision import load_template


def test_the_template_declares_every_index_the_code_queries() -> None:
    table = load_template()["Resources"]["JobsTable"]["Properties"]
    declared = {index["IndexName"] for index in table["GlobalSecondaryIndexes"]}

    assert declared == {
        keys.BY_TENANT, keys.BY_TENANT_STATE, keys.BY_TENANT_METHOD,
        keys.BY_TENANT_USER, keys.BY_PARENT, keys.BY_ACTIVE,
    }


def test_ttl_is_enabled_on_expires_at() -> None:
    table = load_template()["Resources"]["JobsTable"]["Properties"]

    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_state_machine_names_the_execution_input_it_passes_the_worker() -> None:
    machine = load_template()["Resources"]["JobsStateMachine"]["Properties"]
    run = machine["Definition"]["States"]["Run"]

    assert run["Parameters"] == {
        "action": "run", "job_id.$": "$$.Execution.Name", "tenant_id.$": "$.tenant_id",
    }
    assert "${WorkerArn}" in json.dumps(machine["Definition"])


def test_the_bucket_is_private_and_encrypted() -> None:
    bucket = load_template()["Resources"]["FilesBucket"]["Properties"]

    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]


def test_the_express_machine_runs_the_same_definition_within_its_five_minutes() -> None:
    resources = load_template()["Resources"]
    standard = resources["JobsStateMachine"]["Properties"]
    express = resources["ExpressJobsStateMachine"]["Properties"]

    assert express["StateMachineType"] == "EXPRESS"
    assert express["Definition"]["States"]["Run"]["TimeoutSeconds"] < 300
    same = json.loads(json.dumps(express["Definition"]))
    same["States"]["Run"]["TimeoutSeconds"] = standard["Definition"]["States"]["Run"][
        "TimeoutSeconds"]
    assert same == standard["Definition"]
    assert express["DefinitionSubstitutions"] == standard["DefinitionSubstitutions"]
