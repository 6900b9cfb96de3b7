"""The runner behind checks running ahead: concurrency, outcomes handed back, per-thread evidence, stop."""

from __future__ import annotations

import threading

import pytest

from verify.engine.ahead import AheadRunner, Job
from verify.engine.evidence import CheckRecorder, current
from verify.errors import CheckFailed, VerifyError
from verify.polling import eventually


def _job(key: str, call: object, *, waits: bool = False) -> Job:
    return Job(key=key, call=call, recorder=CheckRecorder(), waits=waits)  # type: ignore[arg-type]


def test_jobs_run_concurrently() -> None:
    # Five jobs meeting at one barrier: only possible if all five run at the same time.
    barrier = threading.Barrier(5, timeout=10)
    runner = AheadRunner(threads=5)
    runner.start([_job(f"j{i}", barrier.wait) for i in range(5)])
    try:
        outcomes = [runner.outcome(f"j{i}") for i in range(5)]
    finally:
        runner.stop()
    assert [o.error for o in outcomes] == [None] * 5
    assert sorted(o.value for o in outcomes) == [0, 1, 2, 3, 4]  # type: ignore[type-var]


def test_waiting_jobs_get_threads_of_their_own() -> None:
    # Three waits block until a quick job has run: with 1 base thread they still must not starve it.
    released = threading.Event()
    runner = AheadRunner(threads=1)
    waits = [_job(f"w{i}", lambda: released.wait(10), waits=True) for i in range(3)]
    runner.start([*waits, _job("quick", released.set)])
    try:
        assert [runner.outcome(f"w{i}").value for i in range(3)] == [True, True, True]
    finally:
        runner.stop()


def test_outcome_carries_the_value_or_the_very_exception() -> None:
    failure = CheckFailed("queue q: expected a DLQ, got none")
    runner = AheadRunner()

    def fails() -> None:
        raise failure

    runner.start([_job("ok", lambda: 42), _job("bad", fails)])
    try:
        assert runner.outcome("ok").value == 42
        assert runner.outcome("bad").error is failure
        assert runner.outcome("bad").duration_s >= 0.0
        assert runner.finished("ok") and not runner.finished("missing")
        assert runner.has("bad") and not runner.has("missing")
    finally:
        runner.stop()


def test_each_job_records_into_its_own_recorder() -> None:
    runner = AheadRunner()
    jobs = [_job(f"r{i}", current) for i in range(4)]
    runner.start(jobs)
    try:
        assert [runner.outcome(job.key).value for job in jobs] == [job.recorder for job in jobs]
    finally:
        runner.stop()
    assert current() is None  # the main thread's current recorder was never touched


def test_stop_ends_waits_in_progress_and_cancels_the_rest() -> None:
    started = threading.Event()

    def polls_forever() -> None:
        started.set()
        eventually(lambda: None, what="a trace", timeout=60.0, until=lambda _: False)

    runner = AheadRunner(threads=1)
    runner.start([_job("wait", polls_forever, waits=True), _job("later", lambda: 1)])
    assert started.wait(5)
    stopper = threading.Thread(target=runner.stop)
    stopper.start()
    stopper.join(timeout=10)
    assert not stopper.is_alive(), "stop() must not wait out a 60 s poll"
    error = runner.outcome("wait").error
    assert isinstance(error, VerifyError) and "being stopped" in str(error)
    # And the process's later waits poll normally again.
    assert eventually(lambda: "ok", what="x", timeout=1.0).value == "ok"


def test_an_empty_start_and_a_second_stop_are_harmless() -> None:
    runner = AheadRunner()
    runner.start([])
    runner.stop()
    runner.stop()
    assert runner.count == 0
    with pytest.raises(KeyError):
        runner.outcome("nothing")


def test_quick_jobs_wait_for_the_hold_while_waiting_jobs_start_at_once() -> None:
    hold = threading.Event()
    order: list[str] = []
    runner = AheadRunner()
    runner.start(
        [
            _job("quick", lambda: order.append("quick")),
            _job("ingest", lambda: order.append("wait"), waits=True),
        ],
        hold_quick=hold,
    )
    try:
        assert runner.outcome("ingest").error is None
        assert order == ["wait"]  # the quick job is still held
        hold.set()
        assert runner.outcome("quick").error is None
        assert order == ["wait", "quick"]
    finally:
        runner.stop()


def test_a_stop_signal_landing_on_a_check_thread_still_stops_the_main_thread_waiting_for_it() -> None:
    # The kernel hands a process's SIGTERM to any thread. Python only notes it there and runs the
    # handler in the main thread once that thread is awake: a main thread blocked for a check's whole
    # wait (CI: 120 s) ignored the signal for as long.
    import signal
    import time

    from verify.signals import stop_signals_interrupt

    check_thread: list[int] = []
    released = threading.Event()

    def a_long_wait() -> bool:
        check_thread.append(threading.get_ident())
        return released.wait(30)

    runner = AheadRunner(threads=1)
    runner.start([_job("wait", a_long_wait, waits=True)])
    try:
        with stop_signals_interrupt():
            deadline = time.monotonic() + 5
            while not check_thread and time.monotonic() < deadline:
                time.sleep(0.01)
            timer = threading.Timer(0.3, signal.pthread_kill, args=(check_thread[0], signal.SIGTERM))
            timer.start()
            started = time.monotonic()
            with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
                runner.outcome("wait")
            took = time.monotonic() - started
            timer.join()
    finally:
        released.set()
        runner.stop()
    assert took < 3, f"the main thread ran the handler {took:.1f} s after the signal"


def test_after_a_stop_signal_the_clean_up_s_aws_calls_are_not_abandoned_once_the_checks_ended() -> None:
    # A stop signal (`begin_stop`) ends every wait at once, so by the time the runner is stopped its
    # checks may all have finished. The clean-up that follows must still get its AWS answers: under
    # load, a DeleteItem slower than 50 ms was abandoned "because the run is being stopped" and the
    # run's raw reading stayed in the stack (a fresh-clone CI run caught it).
    from verify import polling
    from verify.aws.deadline import BoundedSend

    class SlowSession:
        def send(self, request: object) -> str:
            threading.Event().wait(0.2)  # longer than BoundedSend's 50 ms check of a stop
            return "answered"

    runner = AheadRunner()
    runner.start([_job("quick", lambda: 1)])
    assert runner.outcome("quick").value == 1
    polling.begin_stop(5.0)
    try:
        runner.stop()
        assert BoundedSend(SlowSession(), 5.0).send(object()) == "answered"
    finally:
        polling.end_stop()
        polling.allow_waits()
