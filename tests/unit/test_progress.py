"""The coalescing rule, driven by a fake clock: counts, not timings."""

from __future__ import annotations

import threading

from chalicelib.errors import TransitionRejected
from chalicelib.models import Progress
from chalicelib.progress import ProgressReporter
from chalicelib.states import JobState


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(interval: float = 1.0) -> tuple[ProgressReporter, list[Progress], FakeClock]:
    written: list[Progress] = []
    clock = FakeClock()
    return ProgressReporter(written.append, clock, interval), written, clock


def test_a_job_that_ends_within_its_first_interval_pays_no_progress_write() -> None:
    reporter, written, _ = make()

    reporter.report(Progress(percent=1))
    pending = reporter.close()

    assert written == []
    assert pending == Progress(percent=1)  # the finish carries it


def test_ten_thousand_reports_in_one_interval_cost_nothing_and_the_last_is_kept() -> None:
    reporter, written, clock = make()

    for percent in range(10_000):
        clock.now += 0.00005
        reporter.report(Progress(percent=percent % 101))
    pending = reporter.close()

    assert written == []
    assert pending == Progress(percent=9_999 % 101)


def test_the_first_report_after_the_first_interval_is_written_at_once() -> None:
    reporter, written, clock = make()

    clock.now += 1.5
    reporter.report(Progress(percent=1))

    assert written == [Progress(percent=1)]


def test_one_write_per_interval_over_a_long_run() -> None:
    reporter, written, clock = make(interval=1.0)

    for _ in range(10_000):  # 10,000 reports over 10 seconds
        clock.now += 0.001
        reporter.report(Progress(percent=5))
    reporter.close()

    assert 9 <= len(written) <= 10


def test_a_late_timer_never_writes_within_an_interval_of_the_last_write() -> None:
    # The timer thread can run late, after a report has already written: it
    # must then wait for the next interval instead of writing at once.
    reporter, written, clock = make(interval=1.0)
    clock.now += 0.5
    reporter.report(Progress(percent=1))  # arms the timer
    late_timer = reporter._timer
    assert late_timer is not None
    late_timer.cancel()  # stand in for a timer thread that has not run yet
    clock.now += 0.6
    reporter.report(Progress(percent=2))  # an interval has passed: written
    clock.now += 0.01
    reporter.report(Progress(percent=3))

    reporter._flush_from_timer()  # the late timer finally fires
    pending = reporter.close()

    assert written == [Progress(percent=2)]
    assert pending == Progress(percent=3)


def test_a_quiet_handler_still_gets_its_last_value_written_within_an_interval() -> None:
    written: list[Progress] = []
    landed = threading.Event()

    def write(progress: Progress) -> None:
        written.append(progress)
        if progress.percent == 2:
            landed.set()

    import time

    reporter = ProgressReporter(write, time.monotonic, 0.05)
    reporter.report(Progress(percent=1))
    reporter.report(Progress(percent=2))  # both inside the first interval: deferred

    assert landed.wait(5), "the deferred value never landed"
    assert [p.percent for p in written] == [2]
    assert reporter.close() is None


def test_a_rejected_write_records_the_state_and_stops_writing() -> None:
    calls: list[Progress] = []

    def write(progress: Progress) -> None:
        calls.append(progress)
        raise TransitionRejected("job-1", JobState.ABORTED)

    clock = FakeClock()
    reporter = ProgressReporter(write, clock, 1.0)
    clock.now += 2
    reporter.report(Progress(percent=10))
    clock.now += 5
    reporter.report(Progress(percent=20))

    assert reporter.rejected_state == "ABORTED"
    assert len(calls) == 1


def test_a_failed_write_keeps_the_value_for_the_finish_and_never_reaches_the_handler() -> None:
    def write(progress: Progress) -> None:
        raise ConnectionError("throttled")

    clock = FakeClock()
    reporter = ProgressReporter(write, clock, 1.0)
    clock.now += 2
    reporter.report(Progress(percent=30))  # the write fails; report() does not raise

    assert reporter.rejected_state is None
    assert reporter.close() == Progress(percent=30)
