"""The jobs table, split by what each part serves. Every state change is one
conditional write, so the record in DynamoDB is always the truth.

    table        the shared helpers: the update builder, keys, and the one
                 translation of botocore's ClientError into domain errors
    records      create (with a lock), get, join, delete
    transitions  mark running, progress, finish, abort, release (conditions from
                 states.ALLOWED_TRANSITIONS)
    fanin        children, the parent's wait token, the one wake
    files        a download's offer, claim and new link; an upload's wait and arrival
    index        listing pages, the sweeper's windows of active entries and
                 its cursors, finished ids
    numbers      blocks of job numbers, and a job found by its number

`JobStore` is all of them over one client and table; a caller that needs
one part may take that part alone (each is built the same way).
"""

from __future__ import annotations

from chalicelib.store.fanin import FanIn
from chalicelib.store.files import Files
from chalicelib.store.index import (
    ActiveEntry,
    ActiveWindow,
    IndexEntry,
    IndexPage,
    IndexReads,
    KeyRange,
)
from chalicelib.store.numbers import NumberBlocks
from chalicelib.store.records import Records
from chalicelib.store.table import DuplicateJob, LockHeld
from chalicelib.store.transitions import Transitions

__all__ = [
    "ActiveEntry", "ActiveWindow", "DuplicateJob", "FanIn", "Files", "IndexEntry", "IndexPage",
    "IndexReads", "JobStore", "KeyRange", "LockHeld", "NumberBlocks", "Records", "Transitions",
]


class JobStore(Records, Transitions, FanIn, Files, IndexReads, NumberBlocks):
    """The whole store: `JobStore(client, table_name)`."""
