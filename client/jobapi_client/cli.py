"""`jobapi`: the job API from a shell. Configured by JOBAPI_URL and
JOBAPI_TOKEN (a bearer token or an API key), which `make run` prints.

    jobapi submit demo.sleep seconds=5 steps=10 --wait
    jobapi watch <id>          a live tree of a parent, its children and the roll-up
    jobapi ls --state RUNNING --filter '["method","^","demo."]' --select id,state
    jobapi upload config.db --method demo.checksum --wait
    jobapi submit demo.export size=1000 --download out.bin;  jobapi download <id> -o out.bin
    jobapi get|cancel|result|logs [--follow] <id>, jobapi methods

Exit codes: 0 success; 1 the job ended FAILED or ABORTED; 2 a usage or API
error; 130 interrupted (waiting stops, the job does not).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from jobapi_client.calls import TERMINAL
from jobapi_client.errors import ApiError
from jobapi_client.sync import JobsClient

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
out = Console()
err = Console(stderr=True)
FAILED_EXIT, ERROR_EXIT, INTERRUPTED_EXIT = 1, 2, 130
STATE_STYLES = {"SUCCESS": "green", "FAILED": "red", "ABORTED": "yellow", "RUNNING": "cyan",
                "WAITING": "dim"}


def client() -> JobsClient:
    url = os.environ.get("JOBAPI_URL")
    if not url:
        err.print("set JOBAPI_URL (make run prints it) and JOBAPI_TOKEN")
        raise typer.Exit(ERROR_EXIT)
    return JobsClient(url, token=os.environ.get("JOBAPI_TOKEN"))


@contextmanager
def api_errors() -> Iterator[None]:
    """An API error as its message and exit code 2; Ctrl-C as 130."""
    try:
        yield
    except ApiError as error:
        err.print(f"[red]{error.status} {error.code}[/red]: {error.message}")
        if error.details:
            err.print(json.dumps(error.details, indent=2))
        raise typer.Exit(ERROR_EXIT) from None


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; a value that is JSON is read as JSON (5, true, [1])."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r}: expected key=value")
        try:
            params[name] = json.loads(text)
        except ValueError:
            params[name] = text
    return params


def show(value: Any, as_json: bool = True) -> None:
    out.print_json(json.dumps(value)) if as_json else out.print(value)


def outcome_exit(job: dict[str, Any]) -> int:
    return 0 if job["state"] == "SUCCESS" else FAILED_EXIT


@app.command()
def submit(method: str, params: Annotated[list[str] | None, typer.Argument()] = None,
           wait: Annotated[bool, typer.Option("--wait", "-w", help="follow it to its end")] = False,
           description: str | None = None,
           download: Annotated[Path | None, typer.Option(
               "--download", "-o", help="the file the job writes, saved here (once)")] = None
           ) -> None:
    """Submit METHOD with key=value params; --wait shows its progress and result."""
    with api_errors(), client() as jobs:
        job = jobs.submit(method, parse_params(params or []), description=description,
                          download={"filename": download.name} if download else None)
        if download is not None:
            err.print(f"job {job['id']}: {jobs.download(job, download)} bytes to {download}")
        finish(jobs, job, wait)


@app.command()
def upload(file: Path, method: Annotated[str, typer.Option("--method", "-m")],
           params: Annotated[list[str] | None, typer.Argument()] = None,
           wait: Annotated[bool, typer.Option("--wait", "-w")] = False) -> None:
    """Submit METHOD with FILE for its handler to read (small files by form,
    big ones straight to S3)."""
    with api_errors(), client() as jobs:
        finish(jobs, jobs.upload(file, method, parse_params(params or [])), wait)


@app.command()
def download(job_id: str, output: Annotated[Path, typer.Option("--output", "-o")]) -> None:
    """The job's file, once, to OUTPUT (a new link: one given before stops working)."""
    with api_errors(), client() as jobs:
        err.print(f"{jobs.download(job_id, output)} bytes to {output}")


def finish(jobs: JobsClient, job: dict[str, Any], wait: bool) -> None:
    if not wait:
        show(job)
        return
    err.print(f"job {job['id']} (number {job.get('number')})")
    done = follow(jobs, job)
    show(done.get("result") if done["state"] == "SUCCESS" else done.get("error"))
    raise typer.Exit(outcome_exit(done))


def follow(jobs: JobsClient, job: dict[str, Any]) -> dict[str, Any]:
    """A live progress bar until the job ends; Ctrl-C stops waiting only."""
    columns = (TextColumn("{task.fields[state]:<8}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("", total=100, state=job["state"])

        def moved(seen: dict[str, Any]) -> None:
            progress = seen.get("progress") or {}
            bar.update(task, completed=progress.get("percent") or 0, state=seen["state"],
                       description=progress.get("description") or "")
        try:
            return jobs.wait(job["id"], on_progress=moved)
        except KeyboardInterrupt:
            bar.stop()
            err.print(f"stopped waiting; job {job['id']} goes on "
                      f"(jobapi cancel {job['id']} stops it)")
            raise typer.Exit(INTERRUPTED_EXIT) from None


@app.command()
def get(job_id: str) -> None:
    """The job's record."""
    with api_errors(), client() as jobs:
        show(jobs.get(job_id))


@app.command()
def cancel(job_id: str) -> None:
    """Cancel a job (its record as it is after the cancel)."""
    with api_errors(), client() as jobs:
        show(jobs.cancel(job_id))


@app.command()
def result(job_id: str, consume: bool = typer.Option(False, help="remove the job as it is read")
           ) -> None:
    """The job's result (or error)."""
    with api_errors(), client() as jobs:
        show(jobs.result(job_id, consume=consume))


@app.command()
def logs(job_id: str, follow_: Annotated[bool, typer.Option("--follow", "-f")] = False) -> None:
    """The job's log; --follow prints it again as it grows, until the job ends."""
    with api_errors(), client() as jobs:
        printed = 0
        while True:
            text = jobs.logs(job_id)
            sys.stdout.write(text[printed:])
            sys.stdout.flush()
            printed = len(text)
            if not follow_ or jobs.get(job_id)["state"] in TERMINAL:
                return
            time.sleep(1)


@app.command()
def methods() -> None:
    """The registered job methods."""
    with api_errors(), client() as jobs:
        table = Table("method", "abortable", "description")
        for method in jobs.methods():
            table.add_row(method["name"], str(method.get("abortable", "")),
                          method.get("description") or "")
        out.print(table)


@app.command("ls")
def list_jobs(state: str | None = None, method: str | None = None,
              filter_: Annotated[list[str] | None, typer.Option(
                  "--filter", help='a [field, op, value] filter, as JSON')] = None,
              select: str | None = None, limit: int = typer.Option(50, help="jobs at most"),
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List jobs, newest first, as a table (--json for scripts)."""
    filters = [json.loads(text) for text in filter_ or []]
    with api_errors(), client() as jobs:
        records = []
        for record in jobs.list(filters or None, state=state, method=method, select=select,
                                limit=min(limit, 100)):
            records.append(record)
            if len(records) >= limit:
                break
    if as_json:
        show(records)
        return
    columns = select.split(",") if select else ["id", "method", "state", "progress.percent",
                                                "time_created"]
    table = Table(*columns)
    for record in records:
        table.add_row(*(cell(record, column) for column in columns))
    out.print(table)


def cell(record: dict[str, Any], dotted: str) -> str:
    value: Any = record
    for step in dotted.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    text = "" if value is None else str(value)
    style = STATE_STYLES.get(text) if dotted == "state" else None
    return f"[{style}]{text}[/{style}]" if style else text


@app.command()
def watch(job_id: str, refresh: float = typer.Option(1.0, help="seconds between reads")) -> None:
    """A live tree of a job and its children, with their bars and the roll-up."""
    with api_errors(), client() as jobs:
        try:
            with Live(console=out, auto_refresh=False) as live:
                while True:
                    job = jobs.get(job_id)
                    live.update(job_tree(job, list(jobs.children(job_id, limit=100))),
                                refresh=True)
                    if job["state"] in TERMINAL:
                        raise typer.Exit(outcome_exit(job))
                    time.sleep(refresh)
        except KeyboardInterrupt:
            err.print(f"stopped watching; job {job_id} goes on")
            raise typer.Exit(INTERRUPTED_EXIT) from None


def job_tree(job: dict[str, Any], children: list[dict[str, Any]]) -> Tree:
    tree = Tree(line(job))
    summary = job.get("children_summary")
    if summary:
        tree.add(f"[dim]{json.dumps(summary)}[/dim]")
    for child in children:
        tree.add(line(child))
    return tree


def line(job: dict[str, Any]) -> str:
    percent = (job.get("progress") or {}).get("percent") or 0
    filled = percent // 5
    style = STATE_STYLES.get(job["state"], "")
    description = escape((job.get("progress") or {}).get("description") or "")
    return (f"[{style}]{job['state']:<8}[/{style}] {'█' * filled}{'░' * (20 - filled)} "
            f"{percent:>3}% {escape(job['method'])} {job['id']} {description}")


def main() -> None:
    app()
