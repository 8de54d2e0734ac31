"""Floors: the least any design could do, where that takes arithmetic."""

from __future__ import annotations


def progress_floor(report_times: list[float], finish_time: float, interval: float) -> int:
    """The fewest progress writes that make every report visible within `interval`,
    knowing the future (an offline minimum, so no real reporter can beat it): the
    finishing write is made anyway and carries whatever it lands in time for.

    Greedy, which is optimal here: the earliest report not yet visible must be
    written by `report + interval`; writing as late as that covers the most later
    reports, unless the finish comes first and covers all that remain.
    """
    writes = 0
    pending = sorted(report_times)
    while pending:
        deadline = pending[0] + interval
        if finish_time <= deadline:
            break
        writes += 1
        pending = [t for t in pending if t > deadline]
    return writes


def even_reports(count: int, seconds: float) -> list[float]:
    """Report times of `count` reports spread evenly over `seconds` (the first at 0)."""
    if count <= 1:
        return [0.0] * count
    return [seconds * n / (count - 1) for n in range(count)]
