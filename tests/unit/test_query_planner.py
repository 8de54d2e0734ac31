"""Which index a listing reads (issue 23): finished states from the sparse
by_tenant_state, unfinished ones from the tenant's key range of by_active."""

from __future__ import annotations

from chalicelib import keys
from chalicelib.query.filters import parse_filters
from chalicelib.query.planner import plan


def test_a_finished_state_reads_the_sparse_state_index() -> None:
    chosen = plan("acme", parse_filters([["state", "=", "FAILED"]]), ())

    assert (chosen.index, chosen.partition_value) == (keys.BY_TENANT_STATE, "acme#FAILED")
    assert chosen.sort_attribute == "created_key"
    assert (chosen.lower, chosen.upper) == (None, None)


def test_an_unfinished_state_reads_the_tenants_range_of_by_active() -> None:
    chosen = plan("acme", parse_filters([["state", "=", "RUNNING"]]), ())

    assert chosen.index == keys.BY_ACTIVE
    assert chosen.partition_value == keys.active_shard("acme")
    assert chosen.sort_attribute == "active_key"
    assert (chosen.lower, chosen.upper) == ("acme#", "acme$")
    assert all(chosen.lower <= "acme#" + key <= chosen.upper
               for key in ("2026-01-01T00:00:00.000Z#a", "9999-12-31T23:59:59.999Z#zz"))
    assert not chosen.lower <= "acmf#2026" <= chosen.upper


def test_a_time_range_narrows_the_tenants_active_range() -> None:
    where = parse_filters([["state", "=", "WAITING"],
                           ["time_created", ">=", "2026-01-01T00:00:00Z"],
                           ["time_created", "<", "2026-02-01T00:00:00Z"]])

    chosen = plan("acme", where, ())

    assert chosen.lower == "acme#2026-01-01T00:00:00.000Z"
    assert chosen.upper == "acme#2026-02-01T00:00:00.000Z"


def test_parent_and_method_keep_their_indexes() -> None:
    assert plan("acme", parse_filters([["parent_id", "=", "p"], ["state", "=", "RUNNING"]]),
                ()).index == keys.BY_PARENT
    assert plan("acme", parse_filters([["method", "=", "m"]]), ()).index == \
        keys.BY_TENANT_METHOD
    assert plan("acme", parse_filters([]), ()).index == keys.BY_TENANT
