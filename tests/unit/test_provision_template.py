"""The local provisioner reads the same template the AWS deploy uses."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from chalicelib import keys
from local.provision import as_defaults, load_template


def test_the_template_declares_every_index_the_code_queries() -> None:
    table = load_template()["Resources"]["JobsTable"]["Properties"]
    declared = {index["IndexName"] for index in table["GlobalSecondaryIndexes"]}

    assert declared == {
        keys.BY_TENANT, keys.BY_TENANT_STATE, keys.BY_TENANT_METHOD,
        keys.BY_TENANT_USER, keys.BY_PARENT, keys.BY_ACTIVE, keys.BY_NUMBER,
        keys.BY_TENANT_RESOURCE,
    }


# Issue 23's indexes: the order README.md ("Changing the indexes of a
# deployed stack") moves a stack deployed before through.
MIGRATED = ("ByActiveIndex", "ByTenantIndex", "ByTenantStateIndex", "ByTenantMethodIndex",
            "ByTenantUserIndex", "ByParentIndex", "ByTenantResourceIndex")
PREVIOUS = {  # name: (keys, projected), as the stack deployed before has them
    "by_tenant": (["tenant_id", "created_key"], ["method", "state", "transient", "abortable",
                  "user_id", "parent_id", "root_id", "time_created", "time_started",
                  "time_finished", "expires_at", "description"]),
    "by_active": (["active_shard", "created_key"], ["state", "tenant_id", "abort_deadline",
                  "time_started", "runner", "wait_deadline"]),
}


def indexes(**parameters: str) -> dict[str, dict[str, object]]:
    table = as_defaults(load_template(as_written=True), **parameters)
    properties = table["Resources"]["JobsTable"]["Properties"]
    defined = {a["AttributeName"] for a in properties["AttributeDefinitions"]}
    found = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}
    used = {k["AttributeName"] for index in found.values() for k in index["KeySchema"]}
    assert used | {"id"} == defined  # DynamoDB refuses a definition no key uses
    return found


def test_each_step_of_the_index_migration_creates_or_deletes_one_index() -> None:
    steps = [{name: "previous" for name in MIGRATED}]
    for name in MIGRATED:
        steps.append({**steps[-1], name: "both"})
    code_deployed = len(steps) - 1  # every _v2 index exists: the app moves to them
    for name in MIGRATED:
        steps.append({**steps[-1], name: "current"})
    layouts = [indexes(**step) for step in steps]

    for before, after in pairwise(layouts):
        assert len(set(before) ^ set(after)) == 1
        assert all(before[name] == after[name] for name in set(before) & set(after))
    first = layouts[0]
    for name, (key, projected) in PREVIOUS.items():
        assert [k["AttributeName"] for k in first[name]["KeySchema"]] == key
        assert first[name]["Projection"]["NonKeyAttributes"] == projected
    assert not any(name.endswith("_v2") for name in first)
    queried = {keys.BY_TENANT, keys.BY_TENANT_STATE, keys.BY_TENANT_METHOD, keys.BY_TENANT_USER,
               keys.BY_PARENT, keys.BY_ACTIVE, keys.BY_TENANT_RESOURCE, keys.BY_NUMBER}
    assert queried <= set(layouts[code_deployed]) and set(layouts[-1]) == queried
    assert layouts[-1] == indexes()  # the defaults: what a new stack gets


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


def test_the_express_machine_is_the_standard_one_without_its_waits() -> None:
    resources = load_template()["Resources"]
    standard = resources["JobsStateMachine"]["Properties"]
    express = resources["ExpressJobsStateMachine"]["Properties"]

    assert express["StateMachineType"] == "EXPRESS"
    assert express["Definition"]["States"]["Run"]["TimeoutSeconds"] < 300
    leaf_only = json.loads(json.dumps(standard["Definition"]))
    for state in ("WaitChildren", "Finish", "WaitUpload", "WaitDownload"):
        del leaf_only["States"][state]
    run = leaf_only["States"]["Run"]
    run["Catch"] = [c for c in run["Catch"] if c["ErrorEquals"] == ["States.ALL"]]
    run["TimeoutSeconds"] = express["Definition"]["States"]["Run"]["TimeoutSeconds"]
    assert express["Definition"] == leaf_only
    assert express["DefinitionSubstitutions"] == standard["DefinitionSubstitutions"]


def test_a_parent_waits_on_a_task_token_with_its_own_deadline() -> None:
    states = load_template()["Resources"]["JobsStateMachine"]["Properties"]["Definition"][
        "States"]

    assert states["Run"]["Catch"][0] == {
        "ErrorEquals": ["WaitForChildren"], "ResultPath": "$.spawned", "Next": "WaitChildren"}
    wait = states["WaitChildren"]
    assert wait["Resource"].endswith(":lambda:invoke.waitForTaskToken")
    assert wait["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    assert wait["TimeoutSecondsPath"] == "$.children_timeout"
    assert wait["Next"] == "Finish" and states["Finish"]["End"] is True


def test_a_job_with_a_file_waits_for_it_on_a_task_token_with_its_window() -> None:
    states = load_template()["Resources"]["JobsStateMachine"]["Properties"]["Definition"][
        "States"]
    catches = {c["ErrorEquals"][0]: c["Next"] for c in states["Run"]["Catch"]}

    assert catches["WaitForUpload"] == "WaitUpload"
    assert catches["WaitForDownload"] == "WaitDownload"
    assert list(catches)[-1] == "States.ALL"  # the specific errors are caught first
    upload, download = states["WaitUpload"], states["WaitDownload"]
    for wait, action in ((upload, "wait_upload"), (download, "wait_download")):
        assert wait["Resource"].endswith(":lambda:invoke.waitForTaskToken")
        assert wait["Parameters"]["Payload"]["action"] == action
        assert wait["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
        assert wait["Catch"][0]["Next"] == "RecordCrash"  # a timeout ends the job
    assert upload["TimeoutSecondsPath"] == "$.upload_window" and upload["Next"] == "Run"
    assert download["TimeoutSecondsPath"] == "$.download_window" and download["End"] is True


def test_the_files_bucket_sends_its_events_to_eventbridge() -> None:
    bucket = load_template()["Resources"]["FilesBucket"]["Properties"]

    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True}


def test_no_job_outlives_its_files_and_no_file_its_job_by_more_than_a_day() -> None:
    from chalicelib.settings import MAX_RETENTION_SECONDS

    rules = load_template()["Resources"]["FilesBucket"]["Properties"][
        "LifecycleConfiguration"]["Rules"]
    days = next(rule["ExpirationInDays"] for rule in rules if rule.get("Prefix") == "jobs/")

    assert MAX_RETENTION_SECONDS < days * 86400 <= MAX_RETENTION_SECONDS + 86400


def test_a_method_cannot_be_kept_longer_than_its_files() -> None:
    from pydantic import BaseModel

    from chalicelib.registry import JobMethod

    with pytest.raises(ValueError, match="retention_seconds must be 1 to 604800"):
        JobMethod("m", lambda ctx, p: None, BaseModel, retention_seconds=8 * 86400)


def test_the_deployment_is_hardened_where_checkov_cannot_see_intent() -> None:
    resources = load_template()["Resources"]
    table = resources["JobsTable"]["Properties"]
    statement = resources["FilesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    roles = [name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"]

    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for name in roles:  # no role may do everything to everything
        for policy in resources[name]["Properties"].get("Policies", []):
            for rule in policy["PolicyDocument"]["Statement"]:
                actions = rule["Action"] if isinstance(rule["Action"], list) else [rule["Action"]]
                assert not any(action.endswith(":*") or action == "*" for action in actions)
    skipped = [skip for r in resources.values()
               for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", [])]
    assert skipped and all(len(skip["comment"]) > 40 for skip in skipped)  # each justified
