"""Run by .venv-aiotruenas's Python 3.13 (aiotruenas 1.7.0, unchanged):
logs in with an API key, subscribes to core.get_jobs, runs demo.sleep as
a job and waits for it (`call(..., job=True)`: aiotruenas polls
core.get_jobs), reads the job back with a filter, and prints as JSON the
result, the record, and the collection_update notifications it received
for that job."""

import asyncio
import json
import sys

from aiotruenas import TrueNASClient


async def drain(queue: asyncio.Queue, into: list) -> None:
    while True:
        into.append(await queue.get())


async def jobs(port: int, key: str) -> dict[str, object]:
    client = TrueNASClient("127.0.0.1", key, use_tls=False, port=port, query_timeout=30)
    await client.connect()
    try:
        subscription, queue = await client.subscribe("core.get_jobs")
        notes: list = []
        reader = asyncio.create_task(drain(queue, notes))
        result = await client.call("demo.sleep", [{"seconds": 1.5, "steps": 5}], job=True)
        (job,) = await client.call("core.get_jobs", [[["method", "=", "demo.sleep"]],
                                                     {"order_by": ["-id"], "limit": 1}])
        for _ in range(100):  # the job's end reaches the subscription shortly after
            if any(n.get("params", {}).get("fields", {}).get("state") == "SUCCESS"
                   and n["params"]["id"] == job["id"] for n in notes):
                break
            await asyncio.sleep(0.1)
        reader.cancel()
        await client.unsubscribe(subscription)
        mine = [n["params"] for n in notes if n.get("params", {}).get("id") == job["id"]]
        return {"result": result, "job": job, "notifications": mine}
    finally:
        await client.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(jobs(int(sys.argv[1]), sys.argv[2]))))
