"""Job numbers: every job gets an integer unique within its tenant, which
TrueNAS clients need as its id (and ArangoDB's face shows as a string).

A counter written once per job would add a write to every job; instead each
process reserves a block of BLOCK numbers at a time (one atomic ADD) and
hands them out from memory, so numbers cost about 1/BLOCK of a write per
job. Numbers increase within a process but are not contiguous: a process
that ends leaves the rest of its block unused.
"""

from __future__ import annotations

import threading
from typing import Protocol

BLOCK = 100


class Reserves(Protocol):
    def reserve(self, tenant_id: str, size: int) -> int: ...


class JobNumbers:
    def __init__(self, blocks: Reserves, block: int = BLOCK) -> None:
        self._blocks = blocks
        self._block = block
        self._free: dict[str, tuple[int, int]] = {}  # tenant -> [next, end)
        self._lock = threading.Lock()

    def take(self, tenant_id: str, count: int = 1) -> list[int]:
        """`count` fresh numbers of `tenant_id`, in increasing order."""
        with self._lock:
            start, end = self._free.get(tenant_id, (0, 0))
            if end - start < count:
                # A fan-out of many children reserves them all in one call.
                size = max(self._block, count)
                start = self._blocks.reserve(tenant_id, size)
                end = start + size
            self._free[tenant_id] = (start + count, end)
            return list(range(start, start + count))
