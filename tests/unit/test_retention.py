"""A job's deadlines: its expiry once finished, the stop of a cancelled run,
and the bounds of its execution's waits."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chalicelib import retention
from chalicelib.clock import from_iso, iso
from chalicelib.models import DownloadInfo, UploadInfo
from chalicelib.registry import JobMethod, MethodRegistry
from chalicelib.settings import Settings
from chalicelib.states import JobState
from tests.unit.samples import a_job

NOW = 1_800_000_000.75
SETTINGS = Settings(table_name="jobs", bucket_name="files", state_machine_arn="arn",
                    retention_seconds=3000, transient_retention_seconds=60,
                    abort_grace_seconds=30, children_timeout_seconds=900,
                    upload_grace_seconds=300)


class NoParams(BaseModel):
    pass


def methods(**kept: int | None) -> MethodRegistry:
    """A registry of methods named after their retention_seconds."""
    registry = MethodRegistry()
    for name, seconds in kept.items():
        registry.register(JobMethod(name, lambda ctx, params: None, NoParams,
                                    retention_seconds=seconds))
    return registry


def test_a_finished_job_is_kept_for_the_stage_s_retention() -> None:
    job = a_job(method="plain")

    assert retention.retention_deadline(job, methods(plain=None), SETTINGS, NOW) == \
        1_800_003_000


def test_a_method_s_own_retention_wins_over_the_stage_s() -> None:
    job = a_job(method="kept")

    assert retention.retention_deadline(job, methods(kept=120), SETTINGS, NOW) == 1_800_000_120


def test_a_transient_job_is_kept_briefly_whatever_its_method_says() -> None:
    job = a_job(method="kept", transient=True)

    assert retention.retention_deadline(job, methods(kept=120), SETTINGS, NOW) == 1_800_000_060


def test_a_job_of_a_method_gone_from_the_deployment_keeps_the_stage_s_retention() -> None:
    job = a_job(method="gone")

    assert retention.retention_deadline(job, methods(), SETTINGS, NOW) == 1_800_003_000


def test_a_job_cancelled_while_running_is_stopped_after_the_grace() -> None:
    job = a_job(state=JobState.RUNNING)

    assert retention.stop_deadline(job, SETTINGS, NOW) == iso(NOW + 30)


def test_a_job_cancelled_before_it_ran_has_nothing_to_stop() -> None:
    assert retention.stop_deadline(a_job(state=JobState.WAITING), SETTINGS, NOW) is None


def test_an_execution_waits_for_children_as_long_as_the_stage_says() -> None:
    assert retention.execution_waits(a_job(), SETTINGS, NOW) == {"children_timeout": 900}


def test_a_job_s_own_children_timeout_wins() -> None:
    waits = retention.execution_waits(a_job(children_timeout=45), SETTINGS, NOW)

    assert waits == {"children_timeout": 45}


def test_a_download_waits_for_its_window() -> None:
    job = a_job(download=DownloadInfo(filename="out.bin", window_seconds=75))

    assert retention.execution_waits(job, SETTINGS, NOW)["download_window"] == 75


def upload(**fields: Any) -> UploadInfo:
    return UploadInfo(filename="in.bin", size=10, **fields)


def test_an_upload_waits_until_its_url_expires_and_a_grace_after() -> None:
    expires = iso(NOW + 600.4)
    job = a_job(upload=upload(url_expires_at=expires))

    waits = retention.execution_waits(job, SETTINGS, NOW)

    assert waits["upload_window"] == int(from_iso(expires) - NOW) + 300 == 900


def test_an_upload_whose_url_is_long_expired_still_waits_a_second() -> None:
    job = a_job(upload=upload(url_expires_at=iso(NOW - 3600)))

    assert retention.execution_waits(job, SETTINGS, NOW)["upload_window"] == 1


def test_an_upload_without_a_url_sets_no_upload_window() -> None:
    job = a_job(upload=upload())

    assert "upload_window" not in retention.execution_waits(job, SETTINGS, NOW)
