"""The benchmark suite (issue 9): `python -m bench` (what `make bench` runs).

One module per benchmark; each exposes `run(context) -> Section`. The list
of benchmarks, their order and their dependencies is in `bench.suite`.
Results go to bench/results.md (for people) and bench/results.json (for tools).
"""
