"""Job methods that exist only for the tests, registered the way a deployer
registers theirs. Gates let a test hold a handler at a known point."""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.context import JobContext
from chalicelib.registry import Retry, job_method

GATES: dict[str, threading.Event] = {}
ATTEMPTS: dict[str, int] = {}


def gate(name: str) -> threading.Event:
    return GATES.setdefault(name, threading.Event())


class GateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gate: str
    key: str = "k"


@job_method("test.stubborn", params=GateParams, abortable=True, long_running=True)
def stubborn(ctx: JobContext, params: GateParams) -> str:
    """Abortable, but never looks: it waits for its gate, whatever happens."""
    gate(params.gate).wait(60)
    return "finished anyway"


@job_method("test.blocking", params=GateParams)
def blocking(ctx: JobContext, params: GateParams) -> str:
    """Not abortable; waits for its gate."""
    gate(params.gate).wait(60)
    return "released"


@job_method("test.locked", params=GateParams, lock=lambda p: f"pool:{p.key}")
def locked(ctx: JobContext, params: GateParams) -> str:
    """Holds the lock pool:<key> until its gate opens."""
    gate(params.gate).wait(60)
    return "done"


class FlakyParams(BaseModel):
    name: str
    failures: int
    error: str = "ConnectionError"


@job_method("test.flaky", params=FlakyParams,
            retry=Retry(attempts=3, on=(ConnectionError,), delay=0.01))
def flaky(ctx: JobContext, params: FlakyParams) -> dict[str, int]:
    """Fails `failures` times with `error`, then succeeds."""
    ATTEMPTS[params.name] = ATTEMPTS.get(params.name, 0) + 1
    if ATTEMPTS[params.name] <= params.failures:
        raise {"ConnectionError": ConnectionError, "ValueError": ValueError}[params.error](
            f"attempt {ATTEMPTS[params.name]}"
        )
    return {"attempts": ATTEMPTS[params.name]}


class SizeParams(BaseModel):
    size: int


@job_method("test.big_result", params=SizeParams)
def big_result(ctx: JobContext, params: SizeParams) -> dict[str, str]:
    return {"blob": "x" * params.size}


class Unserialisable:
    def __repr__(self) -> str:
        return "<Unserialisable>"


@job_method("test.unserialisable", params=SizeParams)
def unserialisable(ctx: JobContext, params: SizeParams) -> Any:
    return {"value": Unserialisable()}


class DiskFull(OSError):
    def __init__(self) -> None:
        super().__init__(28, "No space left on device")
        self.extra = {"pool": "tank", "free_bytes": 0}


@job_method("test.disk_full", params=SizeParams)
def disk_full(ctx: JobContext, params: SizeParams) -> None:
    raise DiskFull()


class StormParams(BaseModel):
    reports: int
    seconds: float


@job_method("test.progress_storm", params=StormParams)
def progress_storm(ctx: JobContext, params: StormParams) -> int:
    """Reports progress `reports` times, spread over `seconds`."""
    import time

    pause = params.seconds / params.reports
    for n in range(params.reports):
        ctx.set_progress(100 * n // params.reports, f"report {n}")
        if n % 100 == 0:
            time.sleep(pause * 100)
    return params.reports


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@job_method("test.spawns_unannounced", params=NoParams)
def spawns_unannounced(ctx: JobContext, params: NoParams) -> None:
    """Spawns a sub-job without registering spawns_children=True: runs on
    Express, which cannot wait for it, so the spawn must fail clearly."""
    ctx.spawn("demo.echo", {})


class RelayParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gates: list[str]


def _gates_opened(ctx: JobContext, params: RelayParams, children: Any) -> list[Any]:
    ctx.log.info("aggregating %d", children.summary.total)
    return [child.result for child in children]


@job_method("test.relay", params=RelayParams, aggregate=_gates_opened, abortable=True,
            on_child_failure="continue")
def relay(ctx: JobContext, params: RelayParams) -> str:
    """Spawns one test.stubborn child per gate; its result lists theirs.
    Its method's default policy is `continue`."""
    ctx.log.info("spawning %d", len(params.gates))
    for name in params.gates:
        ctx.spawn("test.stubborn", {"gate": name}, weight=len(name))
    return "spawned"


class LateRelayParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gate: str
    gates: list[str]


@job_method("test.late_relay", params=LateRelayParams, aggregate=_gates_opened, abortable=True)
def late_relay(ctx: JobContext, params: LateRelayParams) -> str:
    """test.relay that spawns only once `gate` opens: a cancel can read it
    RUNNING with no wait token, which it stores right after."""
    gate(params.gate).wait(60)
    for name in params.gates:
        ctx.spawn("test.stubborn", {"gate": name})
    return "spawned"


@job_method("test.export_short_window", params=NoParams, writes_file=True, download_window=1)
def export_short_window(ctx: JobContext, params: NoParams) -> str:
    """Writes a small file whose download window is 1 s."""
    with ctx.output() as out:
        out.write(b"nobody will fetch this")
    return "written"


@job_method("test.forgets_its_file", params=NoParams, writes_file=True)
def forgets_its_file(ctx: JobContext, params: NoParams) -> str:
    return "no file"


class ExportFailure(Exception):
    pass


@job_method("test.export_then_fail", params=NoParams, writes_file=True)
def export_then_fail(ctx: JobContext, params: NoParams) -> None:
    """Writes more than a part, then fails: nothing may be left behind."""
    out = ctx.output()
    out.write(b"x" * (9 * 1024 * 1024))
    ctx.log.info("wrote a part")
    raise ExportFailure("failed half-way")


@job_method("test.slow_export", params=GateParams, writes_file=True, long_running=True)
def slow_export(ctx: JobContext, params: GateParams) -> None:
    """Waits (at most 10 s) for its gate before writing its file."""
    gate(params.gate).wait(10)
    with ctx.output() as out:
        out.write(b"finally")


class ChattyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: int = 10
    fail: bool = False


@job_method("test.chatty", params=ChattyParams)
def chatty(ctx: JobContext, params: ChattyParams) -> int:
    """Logs `lines` numbered lines, and fails after them if asked."""
    for n in range(params.lines):
        ctx.log.info("line %d of %d", n, params.lines)
    if params.fail:
        try:
            raise ValueError("the last straw")
        except ValueError:
            ctx.log.exception("giving up")
            raise
    return params.lines


@job_method("test.gated_express", params=GateParams)
def gated_express(ctx: JobContext, params: GateParams) -> str:
    """A short job (Express) that waits (at most 30 s) for its gate."""
    gate(params.gate).wait(30)
    return "through"


class AnyParams(BaseModel):
    model_config = ConfigDict(extra="allow")


@job_method("test.read_with_params", params=AnyParams, reads_file=True)
def read_with_params(ctx: JobContext, params: AnyParams) -> int:
    """Reads its uploaded file; takes any params (as a deployer's method may)."""
    return len(ctx.upload.read())


class ResourceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resources: list[dict[str, Any]]


@job_method("test.names_resources", params=ResourceParams)
def names_resources(ctx: JobContext, params: ResourceParams) -> int:
    """Names the resources it was given, as they are, from its handler."""
    ctx.add_resources(*params.resources)
    return len(ctx.job.resources)
