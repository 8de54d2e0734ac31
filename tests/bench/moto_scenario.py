"""A fixed run of DynamoDB, Step Functions and S3 calls against moto, printed
as JSON: every answer (less request ids and dates) or error, and the table's
final items. `python -m tests.bench.moto_scenario [--speedups]` runs it with
or without local/moto_speedups.py; test_moto_speedups.py checks that both
print the same, so the speed-ups change nothing an API caller can see.

It covers what the patches touch: update expressions of every kind (SET with
arithmetic, functions and nested paths, REMOVE with list indexes, ADD,
DELETE), their validation errors, conditions that fail (with and without the
old item), transactions that commit and that are cancelled (rolled back),
items at the 400 KB limit, reads, batches, queries on an index, and the
JSON/XML responses of the other services.
"""

from __future__ import annotations

import datetime
import json
import sys
from typing import Any

from local.emulated import use_fake_credentials

TABLE = "scenario"
BIG = "x" * 200_000


def main(argv: list[str]) -> int:
    use_fake_credentials()
    if "--speedups" in argv:
        from local import moto_speedups
        moto_speedups.install()
    import boto3
    from moto import mock_aws

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        out: list[Any] = []
        for step in steps(ddb):
            out.append(call(*step))
        items = ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
        out.append(sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=plain)))
        out.extend(other_services())
    print(json.dumps(out, indent=1, sort_keys=True, default=plain))
    return 0


def call(fn: Any, kwargs: dict[str, Any]) -> Any:
    try:
        answer = fn(**kwargs)
    except Exception as exc:  # the error is part of what a caller sees
        response = getattr(exc, "response", {})
        response.pop("ResponseMetadata", None)
        return {"error": type(exc).__name__, "message": str(exc), "response": response}
    answer.pop("ResponseMetadata", None)
    return answer


def plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return "<date>"
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return repr(value)


def steps(ddb: Any) -> list[tuple[Any, dict[str, Any]]]:
    key = {"id": {"S": "a"}}
    names = {"#s": "state", "#c": "count", "#l": "list", "#m": "map", "#i": "inner"}

    def update(expression: str, values: dict[str, Any] | None = None, item: str = "a",
               **extra: Any) -> tuple[Any, dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": TABLE, "Key": {"id": {"S": item}}, "UpdateExpression": expression,
            "ReturnValues": "ALL_NEW", **extra}
        used = {name: attr for name, attr in names.items() if name in expression + str(extra)}
        if used:
            request["ExpressionAttributeNames"] = used
        if values:
            request["ExpressionAttributeValues"] = values
        return ddb.update_item, request

    table = {
        "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                 {"AttributeName": "kind", "AttributeType": "S"},
                                 {"AttributeName": "at", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "by_kind", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"},
                          {"AttributeName": "at", "KeyType": "RANGE"}]}],
    }
    item = {"id": {"S": "a"}, "kind": {"S": "k"}, "at": {"N": "1"}, "state": {"S": "NEW"},
            "count": {"N": "1"}, "list": {"L": [{"S": "x"}, {"N": "2"}, {"S": "z"}]},
            "map": {"M": {"inner": {"M": {"deep": {"S": "d"}}}, "n": {"N": "5"}}},
            "tags": {"SS": ["p", "q"]}, "bin": {"B": b"\x00\x01"}, "flag": {"BOOL": True},
            "none": {"NULL": True}}
    return [
        (ddb.create_table, table),
        (ddb.put_item, {"TableName": TABLE, "Item": item}),
        update("SET #s = :s, #c = #c + :one", {":s": {"S": "RUNNING"}, ":one": {"N": "1"}}),
        update("SET #l = list_append(#l, :more), #m.#i.deep = :d, #m.n = #m.n - :one",
               {":more": {"L": [{"S": "w"}]}, ":d": {"S": "D"}, ":one": {"N": "1"}}),
        update("SET fresh = if_not_exists(fresh, :v), #l[1] = :v", {":v": {"N": "7"}}),
        update("REMOVE #l[2], #l[0], #m.#i"),
        update("ADD #c :five, tags :t DELETE tags :p",
               {":five": {"N": "5"}, ":t": {"SS": ["r"]}, ":p": {"SS": ["p"]}}),
        update("SET #s = :s", {":s": {"S": "DONE"}, ":w": {"S": "RUNNING"}},
               ConditionExpression="#s = :w", ReturnValuesOnConditionCheckFailure="ALL_OLD"),
        update("SET #s = :s", {":s": {"S": "DONE"}, ":w": {"S": "NEW"}},
               ConditionExpression="#s IN (:w)"),
        update("SET #s = :s, #s = :s", {":s": {"S": "X"}}),  # overlapping paths
        update("SET #c = :v SET #s = :v", {":v": {"S": "X"}}),  # two SET clauses
        update("SET nope.deeper = :v", {":v": {"S": "X"}}),  # a path that does not exist
        update("SET #c = #c + :v", {":v": {"S": "not a number"}}),
        update("SET #s = :undefined"),
        update("SET = :v", {":v": {"S": "X"}}),  # a syntax error
        update("SET created = :v", {":v": {"S": "new item"}}, item="b"),
        update("SET big = :v", {":v": {"S": BIG}}, item="c"),
        update("SET big2 = :v", {":v": {"S": BIG}}, item="c"),
        update("SET big3 = :v", {":v": {"S": "z" * 5_000}}, item="c"),  # over 400 KB
        (ddb.put_item, {"TableName": TABLE, "Item": {
            "id": {"S": "d"}, "one": {"S": BIG}, "two": {"S": BIG}, "three": {"S": BIG}}}),
        (ddb.put_item, {"TableName": TABLE, "Item": {  # 405,000 bytes: just fits
            "id": {"S": "e"}, "one": {"S": BIG}, "two": {"S": "y" * 204_991}}}),
        (ddb.put_item, {"TableName": TABLE, "Item": {  # one byte more
            "id": {"S": "e2"}, "one": {"S": BIG}, "two": {"S": "y" * 204_992}}}),
        (ddb.transact_write_items, {"TransactItems": [
            {"Update": {"TableName": TABLE, "Key": key, "UpdateExpression": "SET #s = :s",
                        "ExpressionAttributeNames": {"#s": "state"},
                        "ExpressionAttributeValues": {":s": {"S": "T1"}}}},
            {"Put": {"TableName": TABLE, "Item": {"id": {"S": "f"}, "v": {"N": "1"}}}},
            {"Update": {"TableName": TABLE, "Key": {"id": {"S": "b"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}}]}),
        (ddb.transact_write_items, {"TransactItems": [  # cancelled: nothing changes
            {"Update": {"TableName": TABLE, "Key": key, "UpdateExpression": "SET #s = :s",
                        "ExpressionAttributeNames": {"#s": "state"},
                        "ExpressionAttributeValues": {":s": {"S": "T2"}}}},
            {"Put": {"TableName": TABLE, "Item": {"id": {"S": "g"}, "v": {"N": "1"}}}},
            {"Delete": {"TableName": TABLE, "Key": {"id": {"S": "f"}}}},
            {"Update": {"TableName": TABLE, "Key": {"id": {"S": "b"}},
                        "UpdateExpression": "ADD n :one", "ConditionExpression": "n > :ten",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":ten": {"N": "10"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}]}),
        (ddb.get_item, {"TableName": TABLE, "Key": key, "ConsistentRead": True}),
        (ddb.get_item, {"TableName": TABLE, "Key": key, "ProjectionExpression": "#m.n, tags",
                        "ExpressionAttributeNames": {"#m": "map"}}),
        (ddb.batch_write_item, {"RequestItems": {TABLE: [
            {"PutRequest": {"Item": {"id": {"S": f"q{n}"}, "kind": {"S": "k"},
                                     "at": {"N": str(n)}, "m": {"M": {"n": {"N": str(n)}}}}}}
            for n in range(10)]}}),
        (ddb.batch_get_item, {"RequestItems": {TABLE: {
            "Keys": [{"id": {"S": f"q{n}"}} for n in range(0, 10, 3)]}}}),
        (ddb.query, {"TableName": TABLE, "IndexName": "by_kind", "Limit": 4,
                     "KeyConditionExpression": "kind = :k AND #at > :a",
                     "ExpressionAttributeNames": {"#at": "at"},
                     "ExpressionAttributeValues": {":k": {"S": "k"}, ":a": {"N": "2"}},
                     "ScanIndexForward": False}),
        (ddb.describe_table, {"TableName": TABLE}),
    ]


def other_services() -> list[Any]:
    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    role = "arn:aws:iam::123456789012:role/r"
    return [
        call(sfn.create_state_machine, {"name": "m", "definition": definition, "roleArn": role}),
        call(sfn.describe_state_machine, {
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}),
        call(sfn.list_state_machines, {}),
        call(sfn.describe_execution, {
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:none"}),
        call(s3.create_bucket, {"Bucket": "scenario-bucket"}),
        call(s3.put_object, {"Bucket": "scenario-bucket", "Key": "k", "Body": b"body"}),
        call(s3.list_objects_v2, {"Bucket": "scenario-bucket"}),
        call(s3.head_object, {"Bucket": "scenario-bucket", "Key": "k"}),
        call(s3.get_bucket_location, {"Bucket": "scenario-bucket"}),
    ]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
