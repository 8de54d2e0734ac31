"""The credentials benchmark's arithmetic (issue 16): how often a remembered
key is read, the credentials table's request units, and the dollars per
authorized request. Pure arithmetic: no moto, no timing."""

from __future__ import annotations

import pytest

from bench import prices
from bench.cost import (
    AUTHORIZER_MEMORY_GB,
    AUTHORIZER_READ_SECONDS,
    AUTHORIZER_SECONDS,
    add_authorization,
    authorization_rows,
    authorization_steps,
)
from bench.counting import Call
from bench.credentials import cached_reads_per_request, signature
from bench.dynamo_units import TableShape, item_size, read_units, write_units
from bench.section import Section
from local.provision import load_template

CREDENTIALS = TableShape.from_template(load_template(), "CredentialsTable")
KEY_ITEM = {
    "id": {"S": "key#7073224263327010"}, "kind": {"S": "api_key"},
    "key_id": {"N": "7073224263327010"}, "name": {"S": "bench"},
    "tenant_id": {"S": "default"}, "user_id": {"S": "bench"},
    "roles": {"L": [{"S": "TENANT_ADMIN"}]}, "secret_hash": {"S": "f" * 64},
    "created_at": {"N": "1790000000.123"},
    "owner_key": {"S": "bench#2026-09-21T14:13:20.123Z#7073224263327010"},
}
TOKEN_ITEM = {
    "id": {"S": "token#" + "e" * 64}, "kind": {"S": "token"}, "tenant_id": {"S": "default"},
    "user_id": {"S": "bench"}, "roles": {"L": [{"S": "TENANT_ADMIN"}]},
    "expires_at": {"N": "1790000600.123"}, "single_use": {"BOOL": True},
}


@pytest.mark.parametrize(
    ("rate", "seconds", "reads_per_request"),
    [
        (1.0, 60.0, 1 / 60),  # the cost model's script: 1 read per 60 requests
        (2.0, 60.0, 1 / 120),
        (0.5, 60.0, 1 / 30),
        (0.1, 600.0, 1 / 60),  # 60.00000000000001 in floating point: still 60
        (1 / 60, 60.0, 1.0),  # one request a minute: the entry is exactly 60 s old
        (0.01, 60.0, 1.0),  # slower than the cache: every request reads
        (1.0, 0.0, 1.0),  # no cache
        (0.7, 60.0, 1 / 42),  # ceil(0.7 x 60): requests 0..41 share one read
    ],
)
def test_reads_per_request_of_a_remembered_key(rate: float, seconds: float,
                                               reads_per_request: float) -> None:
    assert cached_reads_per_request(rate, seconds) == reads_per_request


def test_the_script_of_the_benchmark_reads_twice_in_120_requests() -> None:
    assert 120 * cached_reads_per_request(1.0, 60.0) == 2


def test_credentials_table_shape_and_units() -> None:
    assert CREDENTIALS.keys == ("id",)
    assert [index.name for index in CREDENTIALS.indexes] == ["by_owner"]

    put_key = write_units(None, KEY_ITEM, CREDENTIALS)
    delete_key = write_units(KEY_ITEM, None, CREDENTIALS)
    put_token = write_units(None, TOKEN_ITEM, CREDENTIALS)
    consume_token = write_units(TOKEN_ITEM, None, CREDENTIALS)

    # A key is listed (by_owner); a token has no owner_key, so the index never sees it.
    assert (put_key.table, put_key.indexes, put_key.actions) == (1, {"by_owner": 1},
                                                                  {"by_owner": "put"})
    assert delete_key.total == 2 and delete_key.actions == {"by_owner": "delete"}
    assert (put_token.total, put_token.indexes) == (1, {})
    assert (consume_token.total, consume_token.indexes) == (1, {})
    # A refused (conditional) delete of a token already gone still bills 1 WRU.
    assert write_units(None, None, CREDENTIALS).total == 1
    # Small items: one consistent read each, found or not.
    assert item_size(KEY_ITEM) < 1024 and item_size(TOKEN_ITEM) < 1024
    assert read_units(KEY_ITEM, consistent=True) == 1.0
    assert read_units(None, consistent=True) == 1.0


def _call(operation: str, consistent: bool) -> Call:
    return Call(service="dynamodb", operation=operation, label="x", thread="t", started=0.0,
                seconds=0.0, status=200, consistent_read=consistent)


def test_signature_tells_kind_and_consistency_apart() -> None:
    assert signature([_call("GetItem", True)]) == signature([_call("GetItem", True)])
    assert signature([_call("GetItem", True)]) != signature([_call("GetItem", False)])
    assert signature([_call("GetItem", True)]) != signature([_call("DeleteItem", False)])
    assert signature([]) != signature([_call("GetItem", True)])


MEASURED = {
    "authorizer": {
        "jwt": {"read_units": 0.0, "write_units": 0},
        "api_key_first": {"read_units": 1.0, "write_units": 0},
        "token_multi_first": {"read_units": 1.0, "write_units": 0},
        "token_single_first": {"read_units": 0.0, "write_units": 1},
    },
    "routes": {"create_token": {"read_units": 0.0, "write_units": 1}},
    "script": {"cache_seconds": 60.0},
}
LAMBDA_REQUEST = 0.20  # $ per million
GB_SECOND = prices.LAMBDA_GB_SECOND.dollars * 1e6  # $ per million GB-seconds
RRU, WRU = 0.125, 0.625  # $ per million


def _authorizer(seconds: float) -> float:
    return LAMBDA_REQUEST + AUTHORIZER_MEMORY_GB * seconds * GB_SECOND


def test_authorization_dollars_per_million_requests() -> None:
    rows = authorization_rows(authorization_steps(MEASURED, 60.0), requests_per_job=3)
    totals = [row["total"] for row in rows]

    jwt = _authorizer(AUTHORIZER_SECONDS)
    uncached = _authorizer(AUTHORIZER_READ_SECONDS) + RRU
    cached = _authorizer(AUTHORIZER_SECONDS + (AUTHORIZER_READ_SECONDS - AUTHORIZER_SECONDS)
                         / 60) + RRU / 60
    single = _authorizer(AUTHORIZER_READ_SECONDS) + WRU
    mint = (3.50 + LAMBDA_REQUEST + prices.API_MEMORY_GB * prices.API_BILLED_SECONDS
            * GB_SECOND + jwt + WRU)
    assert totals == pytest.approx([jwt, uncached, cached, uncached, single, single + mint],
                                   rel=1e-12)
    # With 128 MB and the assumed durations, to the cent's hundredth.
    assert [round(t, 4) for t in totals[:5]] == [0.2104, 0.3563, 0.2128, 0.3563, 0.8563]
    assert [row["rru"] for row in rows] == [0, 1, 1 / 60, 1, 0, 0]
    assert [row["wru"] for row in rows] == [0, 0, 0, 0, 1, 2]
    assert rows[0]["over_jwt"] == 0
    for row in rows:
        assert row["over_jwt"] == pytest.approx(row["total"] - jwt, rel=1e-12, abs=1e-15)
        assert row["per_leaf_job"] == pytest.approx(3 * row["over_jwt"], rel=1e-12,
                                                    abs=1e-15)


def test_authorization_rows_leave_the_leaf_job_alone() -> None:
    section = Section(name="cost", title="", how="", data={"totals": {"ours": 12.34}})
    measured = Section(name="credentials", title="", how="", data=MEASURED)

    add_authorization(section, measured, 12.34)

    assert section.data["totals"] == {"ours": 12.34}
    assert len(section.tables) == 1 and len(section.tables[0].rows) == 6
    assert section.data["authorization"]["cache_seconds"] == 60.0
