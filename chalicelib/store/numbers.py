"""Job numbers in the jobs table: a tenant's counter of reserved numbers,
and the sparse by_number index that finds a job by its number.

A counter is one item per tenant ("numbers#<tenant>"); it has no method, so
no listing index and no event ever sees it (chalicelib.events.changes).
"""

from __future__ import annotations

import time

from chalicelib import keys
from chalicelib.store.table import Table

# by_number, like every global secondary index, is eventually consistent: a
# job created a moment ago may not be in it yet (typically well under a
# second). A number not found is looked up again after these pauses, so a
# client that polls the id it was just given finds it.
NOT_FOUND_PAUSES = (0.1, 0.3, 0.6)


class NumberBlocks(Table):
    def reserve(self, tenant_id: str, size: int) -> int:
        """Reserve `size` numbers of a tenant's sequence; answers the first.
        One atomic ADD: concurrent reservations get disjoint blocks."""
        with self._translated(keys.number_counter(tenant_id)):
            answer = self._client.update_item(
                TableName=self._table, Key={"id": {"S": keys.number_counter(tenant_id)}},
                UpdateExpression="ADD #last :size",
                ExpressionAttributeNames={"#last": "last_number"},
                ExpressionAttributeValues={":size": {"N": str(size)}},
                ReturnValues="UPDATED_NEW")
        last = int(answer["Attributes"]["last_number"]["N"])
        return last - size + 1

    def id_of_number(self, tenant_id: str, number: int) -> str | None:
        """The id of a tenant's job `number`: one Query of by_number, and a
        few more only while it is not found (see NOT_FOUND_PAUSES)."""
        found = self._query_number(tenant_id, number)
        for pause in NOT_FOUND_PAUSES:
            if found is not None:
                break
            time.sleep(pause)
            found = self._query_number(tenant_id, number)
        return found

    def _query_number(self, tenant_id: str, number: int) -> str | None:
        with self._translated(keys.tenant_number(tenant_id, number)):
            answer = self._client.query(
                TableName=self._table, IndexName=keys.BY_NUMBER,
                KeyConditionExpression="tenant_number = :key",
                ExpressionAttributeValues={":key": {"S": keys.tenant_number(tenant_id, number)}},
                Limit=1)
        found = answer.get("Items", [])
        return found[0]["id"]["S"] if found else None
