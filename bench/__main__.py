"""`python -m bench` (what `make bench` runs): every benchmark, then
bench/results.md and bench/results.json.

    python -m bench                   # everything
    python -m bench --quick           # fewer samples, same rows
    python -m bench --only calls      # one benchmark (and what it needs); repeatable
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from bench import report
from bench.section import Section
from bench.suite import BY_NAME, Benchmark, Context, select
from local.emulated import use_fake_credentials

DEFAULT_OUT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(BY_NAME), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BY_NAME)}")
    parser.add_argument("--quick", action="store_true", help="fewer samples (for a smoke run)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where results.md and results.json go (default: bench/)")
    args = parser.parse_args(argv)

    # Before anything creates a boto3 client: never reach a real AWS account.
    use_fake_credentials()
    context = Context(quick=args.quick)
    benchmarks = select(args.only)
    started = time.perf_counter()
    failed = [b.name for b in benchmarks if not run_one(b, context)]
    info = report.run_info(time.perf_counter() - started, args.quick,
                           [b.name for b in benchmarks])
    md, js = report.write(args.out, info, context.results)
    print(f"[bench] wrote {md} and {js} in {info['duration_seconds']:.0f} s", flush=True)
    if failed:
        print(f"[bench] FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


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
