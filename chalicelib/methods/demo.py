"""Built-in demo methods: small, documented, and used by the tests.

Params models use defer_build, so a method's validator is built the first
time that method is used, not at every cold start.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote_plus

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from chalicelib.context import Children, JobContext
from chalicelib.models import RESOURCE_ID
from chalicelib.redaction import ParamsOf
from chalicelib.registry import job_method


class EchoParams(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


@job_method("demo.echo", params=EchoParams)
def echo(ctx: JobContext, params: EchoParams) -> dict[str, Any]:
    """Returns its params unchanged."""
    return params.model_dump()


class SleepParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    seconds: float = Field(1.0, ge=0, le=900, description="total time to sleep")
    steps: int = Field(10, ge=1, le=10_000, description="progress reports along the way")


@job_method("demo.sleep", params=SleepParams, abortable=True, long_running=True)
def sleep(ctx: JobContext, params: SleepParams) -> dict[str, Any]:
    """Sleeps `seconds` in `steps`, reporting progress after each; honours cancel."""
    pause = params.seconds / params.steps
    for step in range(1, params.steps + 1):
        ctx.check_cancelled()
        time.sleep(pause)
        ctx.set_progress(100 * step // params.steps, f"step {step} of {params.steps}")
    return {"slept": params.seconds, "steps": params.steps}


class FailParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    message: str = Field("demo failure", max_length=1000)


class DemoFailure(Exception):
    pass


@job_method("demo.fail", params=FailParams)
def fail(ctx: JobContext, params: FailParams) -> None:
    """Raises DemoFailure with `message`."""
    raise DemoFailure(params.message)


class SecretParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    username: str = Field(max_length=200)
    password: SecretStr = Field(description="never shown in any answer, log or error")
    fail: bool = Field(False, description="fail with an error that mentions the password")


class LoginRefused(PermissionError):
    def __init__(self, message: str, extra: dict[str, Any]) -> None:
        super().__init__(message)
        self.extra = extra  # becomes exc_info.extra


@job_method("demo.secret", params=SecretParams)
def secret(ctx: JobContext, params: SecretParams) -> dict[str, Any]:
    """Uses a password and tries to leak it everywhere (log, progress, error,
    traceback, result), as it is and as repr, JSON and a URL write it, to show
    that redaction catches every one."""
    password = params.password.get_secret_value()
    body = json.dumps({"username": params.username, "password": password})
    url = f"https://login.example/?user={quote_plus(params.username)}&pw={quote_plus(password)}"
    ctx.log.info("logging in as %s with password %s", params.username, password)
    ctx.log.info("POST %s %s (password %r, %s)", url, body, password,
                 json.dumps(password, ensure_ascii=False))
    ctx.set_progress(50, f"authenticated {params.username} with {password}",
                     extra={"request": body, "url": url})
    if params.fail:
        raise LoginRefused(f"login refused for {params.username} with password {password}",
                           extra={"request": body, "url": url, "password": repr(password)})
    return {"username": params.username, "password_used": password, "login": "ok",
            "request": body, "url": url}


class FanoutParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    count: int = Field(10, ge=0, le=10_000, description="how many sub-jobs to spawn")
    method: str = Field("demo.echo", max_length=200, description="what each sub-job runs")
    # The sub-jobs' params: their method's secret fields are this job's secrets too.
    params: Annotated[dict[str, Any], ParamsOf("method")] = Field(
        default_factory=dict, description="params of each sub-job; `index` is added for "
        "demo.echo")
    fail_every: int = Field(0, ge=0, description="make every n-th sub-job demo.fail (0: none)")


def _fanout_total(ctx: JobContext, params: FanoutParams, children: Children) -> dict[str, Any]:
    """Adds up the indexes its demo.echo children echoed back."""
    results = children.results()
    indexes = [r["index"] for r in results if isinstance(r, dict) and "index" in r]
    return {"children": children.summary.model_dump(), "succeeded": len(results),
            "index_sum": sum(indexes)}


@job_method("demo.fanout", params=FanoutParams, aggregate=_fanout_total, abortable=True)
def fanout(ctx: JobContext, params: FanoutParams) -> None:
    """Spawns `count` sub-jobs, then sums what they return (an aggregate)."""
    for index in range(params.count):
        if params.fail_every and (index + 1) % params.fail_every == 0:
            ctx.spawn("demo.fail", {"message": f"sub-job {index} failed on purpose"})
        elif params.method == "demo.echo":
            ctx.spawn("demo.echo", {**params.params, "index": index})
        else:
            ctx.spawn(params.method, params.params)


class GroupParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


@job_method("demo.group", params=GroupParams, abortable=True)
def group(ctx: JobContext, params: GroupParams) -> None:
    """Does nothing itself: a parent for the sub-jobs declared in its request."""
    return None


class ExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    size: int = Field(1024, ge=0, le=10 * 1024**3, description="bytes to write")
    seed: str = Field("demo", max_length=100, description="what the content is made from")


EXPORT_CHUNK = 1024 * 1024


def export_bytes(size: int, seed: str) -> Iterator[bytes]:
    """The content demo.export writes, in chunks: SHA-256 blocks chained from
    `seed`, so a client can check a download against the same function."""
    block = hashlib.sha256(seed.encode()).digest()
    left = size
    while left > 0:
        want = min(EXPORT_CHUNK, left)  # a multiple of the 32-byte block but the last
        chunk = bytearray()
        while len(chunk) < want:
            block = hashlib.sha256(block).digest()
            chunk += block
        yield bytes(chunk[:want])
        left -= want


@job_method("demo.export", params=ExportParams, writes_file=True, abortable=True)
def export(ctx: JobContext, params: ExportParams) -> dict[str, Any]:
    """Writes a file of `size` bytes for its one download (submit it with
    "download": {"filename": ...}); returns the size and SHA-256 written."""
    digest = hashlib.sha256()
    with ctx.output() as out:
        for piece in export_bytes(params.size, params.seed):
            out.write(piece)
            digest.update(piece)
            ctx.set_progress(100 * out.size // max(1, params.size), f"{out.size} bytes written")
    ctx.log.info("exported %d bytes", params.size)
    return {"bytes": params.size, "sha256": digest.hexdigest()}


class ChecksumParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


@job_method("demo.checksum", params=ChecksumParams, reads_file=True)
def checksum(ctx: JobContext, params: ChecksumParams) -> dict[str, Any]:
    """Reads the uploaded files (POST /_upload, up to 5, or "upload" and a
    PUT) and returns the SHA-256 and size of the first, and with several,
    `files`: every file's, in order."""
    uploads = ctx.uploads
    total = max(1, sum(upload.size for upload in uploads))
    done = 0
    sums = []
    for upload in uploads:
        digest = hashlib.sha256()
        size = 0
        with upload.open() as stream:
            for piece in iter(lambda: stream.read(EXPORT_CHUNK), b""):
                digest.update(piece)
                size += len(piece)
                ctx.set_progress(100 * (done + size) // total, f"{done + size} bytes read")
        done += size
        ctx.log.info("read %s: %d bytes", upload.filename, size)
        sums.append({"filename": upload.filename, "size": size, "sha256": digest.hexdigest()})
    return {**sums[0], "files": sums} if len(sums) > 1 else sums[0]


# Jobs that act on resources (CloudSigma's drive_clone and server_clone,
# NetApp's object_*): nothing is cloned, but the jobs name what they act on,
# report progress, and a server's drives are cloned as its sub-jobs.

ResourceId = Annotated[str, Field(min_length=1, max_length=200, pattern=RESOURCE_ID)]
CLONE_NAMESPACE = uuid.UUID("9b0c1c52-3a5e-4d0b-8f43-5c1d2b8f6e01")


def clone_id(job_id: str, of: str) -> str:
    """The new resource's id: derived from the job, so a retried run (or a
    re-spawned child) names the same clone."""
    return str(uuid.uuid5(CLONE_NAMESPACE, f"{job_id}:{of}"))


class DriveCloneParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    drive: ResourceId = Field(description="the drive to clone")
    name: str | None = Field(None, max_length=200, description="the clone's name")
    clone: ResourceId | None = Field(None, description="the clone's id (default: derived)")
    seconds: float = Field(1.0, ge=0, le=900, description="how long the copy takes")
    fail: bool = Field(False, description="fail halfway (to show a partial failure)")


@job_method("demo.drive_clone", params=DriveCloneParams, abortable=True)
def drive_clone(ctx: JobContext, params: DriveCloneParams) -> dict[str, Any]:
    """Clones a drive: acts on it and on its clone (both named as the job's
    resources), reporting progress as the copy goes."""
    new_id = params.clone or clone_id(ctx.job_id, params.drive)
    name = params.name or f"clone of {params.drive}"
    # A parent that spawned this job named both already: no write then.
    ctx.add_resources({"type": "drive", "id": params.drive, "action": "clone"},
                      {"type": "drive", "id": new_id, "name": name, "action": "create"})
    steps = 4
    for step in range(1, steps + 1):
        ctx.check_cancelled()
        time.sleep(params.seconds / steps)
        if params.fail and step == steps // 2:
            raise DemoFailure(f"copying drive {params.drive} failed halfway")
        ctx.set_progress(100 * step // steps, f"copied {step} of {steps} parts")
    return {"uuid": new_id, "name": name, "cloned_from": params.drive}


class ServerCloneParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    server: ResourceId = Field(description="the server to clone")
    name: str | None = Field(None, max_length=200, description="the clone's name")
    drives: list[ResourceId] = Field(default_factory=list, max_length=100,
                                     description="its drives, each cloned as a sub-job")
    seconds: float = Field(1.0, ge=0, le=900, description="how long each drive's copy takes")
    fail_drives: list[ResourceId] = Field(default_factory=list, max_length=100, description=(
        "drives whose copy fails (the server's clone then ends with partial failures)"))


@job_method("demo.server_clone", params=ServerCloneParams, abortable=True,
            spawns_children=True, on_child_failure="continue")
def server_clone(ctx: JobContext, params: ServerCloneParams) -> dict[str, Any]:
    """Clones a server: acts on it and its clone, and clones each of its
    drives as a sub-job (demo.drive_clone), which names its own drives."""
    new_id = clone_id(ctx.job_id, params.server)
    name = params.name or f"clone of {params.server}"
    ctx.add_resources({"type": "server", "id": params.server, "action": "clone"},
                      {"type": "server", "id": new_id, "name": name, "action": "create"})
    for drive in params.drives:
        copy = clone_id(ctx.job_id, drive)
        ctx.spawn("demo.drive_clone", {
            "drive": drive, "clone": copy, "seconds": params.seconds,
            "fail": drive in params.fail_drives,
        }, description=f"clone drive {drive}", resources=[
            {"type": "drive", "id": drive, "action": "clone"},
            {"type": "drive", "id": copy, "action": "create"}])
    return {"uuid": new_id, "name": name, "cloned_from": params.server,
            "drives": [clone_id(ctx.job_id, drive) for drive in params.drives]}
