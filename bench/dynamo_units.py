"""DynamoDB request units for a measured call, including its indexes.

moto's ConsumedCapacity is a constant per operation (1.0 or 0.5), blind to
item size, read consistency and indexes, so the cost model prices each
measured call from the item images the counter recorded, by AWS's rules:

Item size: the sum over attributes of the name's UTF-8 length plus the
value's size (string: UTF-8 length; number: about 1 byte per 2 digits + 1;
boolean/null: 1; list/map: 3 + the elements + 1 per element).

Table write: ceil(size / 1 KB) write units, where size is the larger of the
item before and after (a new item: its size; a delete: the old item).

Index write, per global secondary index (from infra/template.yaml):
  - the item is in the index iff it has every index key attribute;
  - not in the index before nor after: nothing;
  - enters the index: one put; leaves it: one delete;
  - stays, and an index key attribute changed: a delete plus a put;
  - stays with the same key: one write if a projected attribute changed
    (ALL projects every attribute, so any change; KEYS_ONLY only the keys);
  - each of these costs ceil(entry size / 1 KB), where the entry is the
    table key + index key + projected attributes + 100 bytes of overhead.

Read: GetItem costs ceil(size / 4 KB) read units if strongly consistent,
half that if eventually consistent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
INDEX_ENTRY_OVERHEAD = 100

Item = dict[str, Any]  # DynamoDB JSON: {"name": {"S": "..."}}


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    @classmethod
    def from_template(cls, template: dict[str, Any], resource: str = "JobsTable") -> TableShape:
        props = template["Resources"][resource]["Properties"]
        indexes = tuple(
            Index(
                name=index["IndexName"],
                keys=tuple(key["AttributeName"] for key in index["KeySchema"]),
                projection=index["Projection"]["ProjectionType"],
                include=tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in props.get("GlobalSecondaryIndexes", [])
        )
        return cls(tuple(key["AttributeName"] for key in props["KeySchema"]), indexes)

    def without_indexes(self) -> TableShape:
        return TableShape(self.keys, ())


@dataclass
class WriteUnits:
    table: int
    indexes: dict[str, int] = field(default_factory=dict)
    # What happened in each index: "put", "delete", "delete+put", "update".
    actions: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.table + sum(self.indexes.values())

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "indexes": dict(self.indexes),
                "actions": dict(self.actions), "total": self.total}


# -- sizes -------------------------------------------------------------------


def value_size(value: dict[str, Any]) -> int:
    (kind, content), = value.items()
    if kind in ("S", "B"):
        return len(content.encode() if isinstance(content, str) else content)
    if kind == "N":
        return number_size(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_size(element) + 1 for element in content)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(element) + 1
                       for name, element in content.items())
    if kind in ("SS", "BS"):
        return sum(value_size({kind[0]: element}) for element in content)
    if kind == "NS":
        return sum(number_size(element) for element in content)
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def number_size(text: str) -> int:
    digits = Decimal(text).as_tuple().digits
    significant = len(digits) - next((i for i, d in enumerate(digits) if d), len(digits))
    return max(1, math.ceil(significant / 2)) + 1


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


# -- index entries -----------------------------------------------------------


def index_entry(item: Item | None, index: Index, table_keys: tuple[str, ...]) -> Item | None:
    """The item as the index stores it, or None if the item is not in the index."""
    if not item or any(key not in item for key in index.keys):
        return None
    if index.projection == "ALL":
        return dict(item)
    kept = set(table_keys) | set(index.keys)
    if index.projection == "INCLUDE":
        kept |= set(index.include)
    return {name: value for name, value in item.items() if name in kept}


def entry_units(entry: Item) -> int:
    return math.ceil((item_size(entry) + INDEX_ENTRY_OVERHEAD) / WRITE_UNIT_BYTES)


def index_write(before: Item | None, after: Item | None, index: Index,
                table_keys: tuple[str, ...]) -> tuple[int, str]:
    """(write units, action) for one index when the item goes from before to after."""
    old = index_entry(before, index, table_keys)
    new = index_entry(after, index, table_keys)
    if old is None and new is None:
        return 0, ""
    if old is None:
        assert new is not None
        return entry_units(new), "put"
    if new is None:
        return entry_units(old), "delete"
    if any(old[key] != new[key] for key in index.keys):
        return entry_units(old) + entry_units(new), "delete+put"
    if old != new:
        return max(entry_units(old), entry_units(new)), "update"
    return 0, ""


def write_units(before: Item | None, after: Item | None, shape: TableShape) -> WriteUnits:
    size = max(item_size(before), item_size(after))
    units = WriteUnits(table=max(1, math.ceil(size / WRITE_UNIT_BYTES)))
    for index in shape.indexes:
        cost, action = index_write(before, after, index, shape.keys)
        if cost:
            units.indexes[index.name] = cost
            units.actions[index.name] = action
    return units


def multi_write_units(operation: str, images: list[tuple[Item | None, Item | None]],
                      shape: TableShape) -> float:
    """A transaction's or a batch's items, each (before, after): a
    transaction's table writes cost double (AWS: two write units per KB
    written in a transaction), the index writes that follow as any other."""
    factor = 2 if operation == "TransactWriteItems" else 1
    total = 0.0
    for before, after in images:
        units = write_units(before, after, shape)
        total += factor * units.table + sum(units.indexes.values())
    return total


def read_units(item: Item | None, consistent: bool) -> float:
    whole = max(1, math.ceil(item_size(item) / READ_UNIT_BYTES))
    return float(whole) if consistent else whole / 2


def query_read_units(items: list[Item], consistent: bool) -> float:
    """A Query pays for the bytes of all it returns together, in 4 KB units."""
    whole = max(1, math.ceil(sum(item_size(item) for item in items) / READ_UNIT_BYTES))
    return float(whole) if consistent else whole / 2


def call_read_units(call: Any) -> float:
    """The read units of a recorded call (bench.counting.Call): a GetItem by
    its item, a BatchGetItem item by item (each rounded up on its own), a
    Query by all it returned; 0 for a write."""
    if call.operation == "GetItem":
        return read_units(call.item, call.consistent_read)
    if call.operation == "BatchGetItem":
        return sum(read_units(item, call.consistent_read) for item in call.items or [])
    if call.operation == "Query":
        return query_read_units(call.items or [], call.consistent_read)
    if call.is_read:
        raise ValueError(f"{call.operation} is not priced")
    return 0.0


def scan_read_units(total_bytes: int) -> float:
    """A Scan (eventually consistent) pays for every byte it reads, in 4 KB units."""
    return math.ceil(total_bytes / READ_UNIT_BYTES) / 2
