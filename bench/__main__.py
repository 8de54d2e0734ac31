"""`python -m bench` (what `make bench` runs): every benchmark, then
bench/results.md and bench/results.json.

    python -m bench                   # everything
    python -m bench --quick           # fewer samples, same rows
    python -m bench --only calls      # one benchmark (and what it needs); repeatable
    python -m bench --only cascade --merge   # replace its section in the results there

The sub-job trees benchmark (about two thirds of the time, all of it in one
process: moto's interpreter holds the GIL) runs in a process of its own on
the second core while the others run here; its figures are read back from
the results.json it writes. `--serial` runs everything here, one at a time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.section import Section, section_from_json
from bench.suite import BY_NAME, SUITE, Benchmark, Context, select
from local.emulated import use_fake_credentials

DEFAULT_OUT = Path(__file__).resolve().parent
ROOT = DEFAULT_OUT.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(BY_NAME), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BY_NAME)}")
    parser.add_argument("--quick", action="store_true", help="fewer samples (for a smoke run)")
    parser.add_argument("--serial", action="store_true",
                        help="run every benchmark in this process, one after another")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where results.md and results.json go (default: bench/)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the sections of the results.json already in --out that this "
                             "run does not make (the report says which, and from which run)")
    args = parser.parse_args(argv)

    # Before anything creates a boto3 client: never reach a real AWS account.
    use_fake_credentials()
    context = Context(quick=args.quick)
    benchmarks = select(args.only)
    started = time.perf_counter()
    aside = start_aside(benchmarks, args.quick) if not args.serial else None
    here = [b for b in benchmarks if aside is None or b.name != PARALLEL]
    failed = [b.name for b in here if not run_one(b, context)]
    if aside is not None:
        for benchmark in here:  # their timings are taken beside the trees process
            context.results[benchmark.name].notes.append(
                f"Ran while the {PARALLEL} benchmark ran in a process of its own on the other "
                "core: its times share the machine with it.")
    if aside is not None:
        failed += collect_aside(aside, context)
        # The report keeps the suite's order.
        context.results = {b.name: context.results[b.name] for b in benchmarks}
    info = report.run_info(time.perf_counter() - started, args.quick,
                           [b.name for b in benchmarks])
    sections = context.results
    if args.merge:
        sections = merge(args.out / "results.json", info, sections)
    for benchmark in benchmarks:
        ran = context.results.get(benchmark.name)
        if benchmark.complete is not None and ran is not None and "error" not in ran.data:
            benchmark.complete(sections)
    md, js = report.write(args.out, info, sections)
    print(f"[bench] wrote {md} and {js} in {info['duration_seconds']:.0f} s", flush=True)
    if failed:
        print(f"[bench] FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def merge(previous: Path, info: dict[str, Any],
          sections: dict[str, Section]) -> dict[str, Section]:
    """The sections of the results.json at `previous` that this run did not
    make, with this run's in their place, in the suite's order. `info` gains
    `merged`: each kept section with the run that made it (through any
    earlier merges)."""
    try:
        document = json.loads(previous.read_text())
    except (OSError, ValueError):
        return sections  # nothing to merge with
    run = {key: document.get(key) for key in ("date", "commit", "duration_seconds", "quick")}
    origins = (document.get("merged") or {}).get("kept", {})
    kept = {name: section_from_json(name, doc) for name, doc in document["sections"].items()
            if name not in sections}
    if kept:
        info["merged"] = {"kept": {name: origins.get(name, run) for name in kept}}
    combined = {**kept, **sections}
    order = [b.name for b in SUITE if b.name in combined]
    order += [name for name in combined if name not in order]
    return {name: combined[name] for name in order}


PARALLEL = "trees"


@dataclass
class Aside:
    process: subprocess.Popen[bytes]
    out: Path


def start_aside(benchmarks: list[Benchmark], quick: bool) -> Aside | None:
    """Start the trees benchmark in its own process, if it runs with others."""
    names = [b.name for b in benchmarks]
    if PARALLEL not in names or len(names) == 1:
        return None
    out = Path(tempfile.mkdtemp(prefix="bench-trees-"))
    command = [sys.executable, "-m", "bench", "--only", PARALLEL, "--serial", "--out", str(out)]
    if quick:
        command.append("--quick")
    print(f"[bench] {PARALLEL}: in a process of its own ({out})", flush=True)
    return Aside(subprocess.Popen(command, cwd=ROOT), out)


def collect_aside(aside: Aside, context: Context) -> list[str]:
    code = aside.process.wait()
    try:
        document = json.loads((aside.out / "results.json").read_text())["sections"][PARALLEL]
        section = section_from_json(PARALLEL, document)
    except (OSError, KeyError, ValueError) as exc:
        section = Section(name=PARALLEL, title=f"{PARALLEL} (FAILED)", how="",
                          notes=[f"failed: {exc!r}"], data={"error": repr(exc)})
    finally:
        shutil.rmtree(aside.out, ignore_errors=True)
    section.notes.append("Ran in a process of its own, on the second core, while the other "
                         "benchmarks ran: its times share the machine with them.")
    context.results[PARALLEL] = section
    return [PARALLEL] if code != 0 or "error" in section.data else []


def run_one(benchmark: Benchmark, context: Context) -> bool:
    """Run one benchmark; a failure becomes a section saying so, and the run goes on."""
    missing = [name for name in benchmark.needs if "error" in context.results[name].data]
    print(f"[bench] {benchmark.name}: {benchmark.about} ...", flush=True)
    started = time.perf_counter()
    try:
        if missing:
            raise RuntimeError(f"skipped: {', '.join(missing)} failed")
        section = benchmark.run(context)
        ok = True
    except Exception as exc:
        traceback.print_exc()
        section = Section(name=benchmark.name, title=f"{benchmark.name} (FAILED)",
                          how=benchmark.about, notes=[f"failed: {exc!r}"],
                          data={"error": repr(exc)})
        ok = False
    section.seconds = time.perf_counter() - started
    context.results[benchmark.name] = section
    print(f"[bench] {benchmark.name}: done in {section.seconds:.1f} s", flush=True)
    return ok


if __name__ == "__main__":
    sys.exit(main())
