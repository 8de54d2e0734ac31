"""`make token`: a bearer token for the local server (HS256, signed with the
local secret, or JOBS_JWT_SECRET when set).

    make token TENANT=acme USER=ann ROLE=TENANT_ADMIN
    python -m local.token --tenant acme --user ann --role USER --hours 1
"""

from __future__ import annotations

import argparse
import os

from chalicelib.authn import mint
from chalicelib.caller import Role
from local.emulated import LOCAL_JWT_SECRET


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", default="default")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--role", action="append", choices=[r.value for r in Role],
                        help="repeatable; none: a plain user")
    parser.add_argument("--hours", type=float, default=12)
    args = parser.parse_args(argv)
    secret = os.environ.get("JOBS_JWT_SECRET") or LOCAL_JWT_SECRET
    print(mint(secret, args.tenant, args.user, args.role or [], int(args.hours * 3600)))


if __name__ == "__main__":
    main()
