"""Run by .venv-aiotruenas's Python 3.13 (aiotruenas 1.7.0, unchanged):
connects to the local server's /api/current, logs in with an API key
(`auth.login_with_api_key`, what aiotruenas sends), calls core.ping, and
prints the answers as JSON; a refused key prints the error's class."""

import asyncio
import json
import sys

from aiotruenas import TrueNASAuthenticationError, TrueNASClient


async def session(port: int, key: str) -> dict[str, object]:
    client = TrueNASClient("127.0.0.1", key, use_tls=False, port=port, query_timeout=20)
    try:
        await client.connect()
    except TrueNASAuthenticationError as refused:
        return {"refused": type(refused).__name__}
    try:
        return {"ping": await client.call("core.ping")}
    finally:
        await client.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(session(int(sys.argv[1]), sys.argv[2]))))
