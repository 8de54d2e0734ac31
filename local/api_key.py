"""`make api-key`: an API key from the running local server (`make run`),
minted with a bearer token signed by the local secret (or JOBS_JWT_SECRET).

    make api-key NAME=backup TENANT=acme USER=ann ROLE=TENANT_ADMIN
    python -m local.api_key --name backup --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import os
import sys

import requests

from chalicelib.authn import mint
from chalicelib.caller import Role
from local.emulated import LOCAL_JWT_SECRET


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
    parser.add_argument("--name", default="local key")
    parser.add_argument("--tenant", default="default")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--role", action="append", choices=[r.value for r in Role],
                        help="repeatable; none: a plain user")
    args = parser.parse_args(argv)
    secret = os.environ.get("JOBS_JWT_SECRET") or LOCAL_JWT_SECRET
    token = mint(secret, args.tenant, args.user, args.role or [], 300)
    answer = requests.post(f"{args.url}/api_keys", json={"name": args.name}, timeout=30,
                           headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 201:
        sys.exit(f"{answer.status_code}: {answer.text}")
    print(answer.json()["key"])


if __name__ == "__main__":
    main()
