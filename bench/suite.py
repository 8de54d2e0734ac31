"""The benchmarks, in the order they run. To add one: write a module with
`run(context) -> Section` and add a line here (with `needs` if it reads
another benchmark's figures from `context.results`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bench import (
    arangodb,
    calls,
    cascade,
    cloudsigma,
    coldstart,
    cost,
    credentials,
    events,
    listing,
    netapp,
    overhead,
    scale,
    transitions,
    trees,
    truenas,
)
from bench.section import Section


@dataclass
class Context:
    quick: bool = False
    results: dict[str, Section] = field(default_factory=dict)


@dataclass(frozen=True)
class Benchmark:
    name: str
    run: Callable[[Context], Section]
    about: str
    needs: tuple[str, ...] = ()
    # Runs once every benchmark has run and the sections are merged: for a
    # section that reads others it does not need (from this run, from the
    # trees process, or kept by --merge).
    complete: Callable[[dict[str, Section]], None] | None = None


SUITE = (
    Benchmark("calls", calls.run, "AWS calls per operation, with floors and request units"),
    Benchmark("credentials", credentials.run,
              "AWS calls per authorizer check (JWT, API key, token) and per key/token route"),
    Benchmark("transitions", transitions.run, "billed state transitions per job"),
    Benchmark("coldstart", coldstart.run, "import time of app.py vs chalice + boto3"),
    Benchmark("overhead", overhead.run, "in-process request time vs the bare boto3 calls"),
    Benchmark("listing", listing.run, "items read per list page at 1,000 and 100,000 jobs"),
    Benchmark("scale", scale.run, "progress storm, local end-to-end throughput"),
    Benchmark("trees", trees.run, "fan-out of 1,000 and 10,000 children, a three-level tree"),
    Benchmark("cascade", cascade.run, "cancel of a parent with 1,000 running children"),
    Benchmark("events", events.run,
              "job events: records, events and sends per job; calls per batch and route; "
              "write-to-receipt time on the local stack"),
    Benchmark("truenas", truenas.run,
              "TrueNAS face: AWS calls per JSON-RPC job message; job numbers' reservations "
              "and by_number writes"),
    Benchmark("arangodb", arangodb.run,
              "ArangoDB face: AWS calls and request units per async-job request and replay"),
    Benchmark("netapp", netapp.run,
              "NetApp face: AWS calls of GET /v2.1/jobs/{id}, a page of GET /v2.1/jobs, POST"),
    Benchmark("cloudsigma", cloudsigma.run,
              "CloudSigma face: AWS calls of GET /api/2.0/jobs/{uuid}/, lists, schema; write "
              "units of a leaf job anchored to a resource"),
    Benchmark("cost", cost.run, "$ per million leaf jobs, ours vs naive; per authorized request",
              needs=("calls", "transitions", "credentials"), complete=cost.complete),
    Benchmark("prices", cost.prices_section, "the list prices the cost model uses"),
)
BY_NAME = {benchmark.name: benchmark for benchmark in SUITE}


def select(names: list[str] | None) -> list[Benchmark]:
    """The named benchmarks plus what they need, in suite order (all if no names)."""
    if not names:
        return list(SUITE)
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(BY_NAME[name].needs)
    return [benchmark for benchmark in SUITE if benchmark.name in wanted]
