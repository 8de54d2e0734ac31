"""All the table keeps of a secret: HMAC-SHA256 under the stage's credential
key (JOBS_CREDENTIAL_SECRET). A key's secret is 64 random letters and digits
(about 380 bits), so a fast hash is right: no password stretching is needed,
and the authorizer pays microseconds. The keyed hash means a copy of the
table alone cannot even confirm a guessed secret."""

from __future__ import annotations

import hashlib
import hmac


class SecretHasher:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise RuntimeError("JOBS_CREDENTIAL_SECRET must be at least 16 bytes")
        self._key = key

    def digest(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

    def matches(self, secret: str, stored: str) -> bool:
        """Constant time in the secret: the same work whether `stored` is a
        real record's hash or the stand-in for a missing one."""
        return hmac.compare_digest(self.digest(secret), stored)


# Compared against when there is no record, so "no such key" and "wrong
# secret" do the same work.
NO_RECORD_HASH = "0" * 64
