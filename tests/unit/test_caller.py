"""Who may see which job: a user its own, a tenant admin its tenant's, a
full admin every one."""

from __future__ import annotations

import pytest

from chalicelib.caller import Caller, Role
from tests.unit.samples import a_job

ALICE_JOB = a_job(tenant_id="acme", user_id="alice")
BOB_JOB = a_job(tenant_id="acme", user_id="bob")
OTHER_TENANT_JOB = a_job(tenant_id="globex", user_id="alice")
SYSTEM_JOB = a_job(tenant_id="acme", user_id=None)


def caller(*roles: Role, user: str | None = "alice") -> Caller:
    return Caller(tenant_id="acme", user_id=user, roles=frozenset(roles))


@pytest.mark.parametrize("who", [caller(), caller(Role.USER)], ids=["no role", "USER"])
def test_a_user_sees_its_own_jobs_only(who: Caller) -> None:
    assert who.may_see(ALICE_JOB)
    assert not who.may_see(BOB_JOB)
    assert not who.may_see(SYSTEM_JOB)
    assert not who.may_see(OTHER_TENANT_JOB)
    assert not who.sees_whole_tenant and not who.is_full_admin


def test_a_tenant_admin_sees_every_job_of_its_tenant_and_no_other() -> None:
    admin = caller(Role.TENANT_ADMIN, user="root")

    assert admin.may_see(ALICE_JOB) and admin.may_see(BOB_JOB) and admin.may_see(SYSTEM_JOB)
    assert not admin.may_see(OTHER_TENANT_JOB)
    assert admin.sees_whole_tenant and not admin.is_full_admin


def test_a_full_admin_sees_every_job_of_every_tenant() -> None:
    admin = caller(Role.FULL_ADMIN, user="root")

    assert admin.may_see(OTHER_TENANT_JOB) and admin.may_see(BOB_JOB)
    assert admin.sees_whole_tenant and admin.is_full_admin


def test_a_caller_without_a_user_sees_no_user_s_job() -> None:
    anonymous = caller(user=None)

    assert not anonymous.may_see(ALICE_JOB) and not anonymous.may_see(BOB_JOB)


def test_roles_are_named_as_tokens_carry_them() -> None:
    assert [role.value for role in Role] == ["FULL_ADMIN", "TENANT_ADMIN", "USER"]
    assert Role("TENANT_ADMIN") is Role.TENANT_ADMIN
