"""Who is calling: the principal every service call is scoped by, and what
each role may see (TrueNAS: users see their own jobs; NetApp: tenants)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.models import Job


class Role(StrEnum):
    FULL_ADMIN = "FULL_ADMIN"  # every job of every tenant
    TENANT_ADMIN = "TENANT_ADMIN"  # every job of its tenant
    USER = "USER"  # its own jobs (the same as no role)


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    request_id: str | None = None
    # What proved it: "jwt", "api_key" or "token" (chalicelib.credentials). A
    # short-lived token may not mint credentials that outlive it.
    via: str = "jwt"

    @property
    def is_full_admin(self) -> bool:
        return Role.FULL_ADMIN in self.roles

    @property
    def sees_whole_tenant(self) -> bool:
        return self.is_full_admin or Role.TENANT_ADMIN in self.roles

    def may_see(self, job: Job) -> bool:
        if self.is_full_admin:
            return True
        if job.tenant_id != self.tenant_id:
            return False
        return self.sees_whole_tenant or job.user_id == self.user_id

