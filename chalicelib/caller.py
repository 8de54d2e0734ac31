"""Who is calling: the principal every service call is scoped by."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    request_id: str | None = None


DEFAULT_TENANT = "default"
