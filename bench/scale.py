"""Scale: what grows with the number of jobs, reports and children.

Two measurements here (list pages live in bench/listing.py, fan-outs of
children in bench/trees.py):
  - progress writes for a handler reporting 10,000 times (in-process moto,
    the app's default interval), counted with hooks on the app's client;
  - local end-to-end throughput of demo.echo: the real local server
    (`python -m local.server`, what `make run` runs) over HTTP.
To add a measurement: a function measuring it and one building its row(s),
called from `run`.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

from bench import methods
from bench.counting import CallCounter
from bench.e2e import CLIENT_THREADS, SEQUENTIAL_JOBS, end_to_end
from bench.floors import even_reports, progress_floor
from bench.local_aws import local_aws
from bench.section import Check, Section, Table

PROGRESS_INTERVAL = 1.0  # the app's default
STORM_REPORTS = 10_000
STORM_SECONDS = 3.0


def run(context: Any) -> Section:
    storm = progress_storm(STORM_REPORTS, STORM_SECONDS)
    e2e = end_to_end(jobs=40 if context.quick else 100)
    rows = [
        storm_row(storm),
        *e2e_rows(e2e),
    ]
    return Section(
        name="scale",
        title="Scale",
        how=(f"progress: one `bench.progress_storm` job ({STORM_REPORTS:,} set_progress calls "
             f"evenly over {STORM_SECONDS:g} s, interval {PROGRESS_INTERVAL:g} s) in-process, "
             "writes counted by hooks on the app's client; throughput: `python -m local.server` "
             f"subprocess, {CLIENT_THREADS} client threads POST, end times from the executions "
             "(see bench/e2e.py), then every job read back through the API."),
        tables=[Table({"measure": "measure", "value": "measured", "floor": "floor",
                       "ratio": "ratio", "target": "target", "met": "met"}, rows)],
        notes=[
            "Throughput and latency are of one local process (moto server, state machine "
            "interpreter and worker sharing one GIL): they say nothing about AWS, only catch "
            f"regressions of the local stack. All jobs SUCCESS through GET: "
            f"{e2e['all_succeeded']} ({e2e['states']}).",
            f"Progress writes happened at {', '.join(f'{t:.2f}' for t in storm['write_times'])} s"
            f" after the first report; the smallest gap was {storm['min_gap']:.2f} s.",
        ],
        checks=[
            Check("progress writes", "<= 1 write per second",
                  f"{storm['writes']} writes in {storm['seconds']:.2f} s "
                  f"(smallest gap {storm['min_gap']:.2f} s)", storm["met"]),
            Check("local end-to-end demo.echo", "every job SUCCESS",
                  f"{e2e['jobs_per_second']:.1f} jobs/s, {e2e['states']}", e2e["all_succeeded"]),
        ],
        data={"progress_storm": storm, "end_to_end": e2e},
    )


# -- progress storm ----------------------------------------------------------


def progress_storm(reports: int, seconds: float) -> dict[str, Any]:
    with local_aws(progress_interval=PROGRESS_INTERVAL) as aws:
        counter = CallCounter(aws.app_clients())
        counter.default_label = "claim"
        finishers: list[int] = []

        def on_handler(event: str) -> None:
            if event == methods.HANDLER_STARTED:
                counter.default_label = "progress"
            else:
                finishers.append(threading.get_ident())
                counter.label_thread(finishers[-1], "finish")

        methods.listen(on_handler)
        try:
            with counter.attached():
                job_id = aws.submit("bench.progress_storm",
                                    {"reports": reports, "seconds": seconds})
                status = aws.wait_for_execution(job_id)
        finally:
            methods.listen(None)
            for ident in finishers:
                counter.unlabel_thread(ident)
        item = aws.item(job_id) or {}
    result = json.loads(item["result"]["S"]) if "result" in item else {}
    writes = [call for call in counter.calls("progress") if call.is_write]
    times = [call.started - writes[0].started for call in writes] if writes else []
    gaps = [b - a for a, b in itertools.pairwise(times)]
    elapsed = float(result.get("seconds", seconds))
    min_gap = min(gaps) if gaps else float("inf")
    return {
        "reports": reports, "execution": status, "writes": len(writes), "seconds": elapsed,
        "writes_per_second": len(writes) / elapsed if elapsed else None,
        # On the planned schedule: the measured one overruns by microseconds, which
        # would flip the floor between two values from run to run.
        "floor": progress_floor(even_reports(reports, seconds), seconds, PROGRESS_INTERVAL),
        "write_times": times,
        "min_gap": min_gap if gaps else None,
        # Coalescing holds if no two writes are closer than the interval (timers fire late,
        # never early; allow 2% for clock granularity).
        "met": status == "SUCCEEDED" and (not gaps or min_gap >= 0.98 * PROGRESS_INTERVAL),
        "finish_writes": sum(call.is_write for call in counter.calls("finish")),
    }


def storm_row(storm: dict[str, Any]) -> dict[str, Any]:
    return {
        "measure": f"progress writes for {storm['reports']:,} reports",
        "value": f"{storm['writes']} writes in {storm['seconds']:.2f} s "
                 f"({storm['writes_per_second']:.2f}/s) + the finish",
        "floor": f"{storm['floor']} (offline minimum, bench/floors.py)",
        "ratio": storm["writes"] / storm["floor"] if storm["floor"] else None,
        "target": "<= 1 write per second",
        "met": storm["met"],
    }


def e2e_rows(e2e: dict[str, Any]) -> list[dict[str, Any]]:
    plain = {"floor": "-", "ratio": None, "target": "-", "met": None}
    return [
        {"measure": f"local end-to-end throughput ({e2e['jobs']} demo.echo, "
                    f"{CLIENT_THREADS} clients)",
         "value": f"{e2e['jobs_per_second']:.1f} jobs/s", **plain},
        {"measure": "POST -> SUCCESS latency under that load (median / p90)",
         "value": f"{e2e['latency_median_ms']:.0f} / {e2e['latency_p90_ms']:.0f} ms", **plain},
        {"measure": f"POST -> SUCCESS latency, one job at a time (median of {SEQUENTIAL_JOBS})",
         "value": f"{e2e['alone_latency_median_ms']:.0f} ms", **plain},
    ]
