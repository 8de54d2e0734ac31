"""One-time download links: /_download/{job_id}?auth_token=T (TrueNAS).

The token is 256 random bits, shown once (in the answer to the submit) and
kept only as its SHA-256: a leaked table or log gives nobody a link. Tokens
are compared in constant time; the claim's conditional write compares the
hashes again, which tells an attacker nothing about the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from urllib.parse import quote

TOKEN_BYTES = 32
TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_")
MAX_TOKEN_CHARS = 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    if not stored_hash:
        return False
    return hmac.compare_digest(token_hash(token), stored_hash)


def well_formed(token: str | None) -> bool:
    """Could this be one of our tokens? Anything else is refused before any read."""
    return (token is not None and TOKEN_BYTES <= len(token) <= MAX_TOKEN_CHARS
            and set(token) <= TOKEN_CHARS)


def download_path(job_id: str, token: str) -> str:
    return f"/_download/{quote(job_id)}?auth_token={token}"
