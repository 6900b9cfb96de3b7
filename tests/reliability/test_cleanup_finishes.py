"""Clean-up that finishes (issue 16, finding 3): a reading still in flight when the run ends -- a slow
but healthy processor, `--timeout 1`, Ctrl-C -- is waited for (bounded) and removed when its processed
copy lands; what may still arrive is reported as left behind, with its key; a malformed reading a stack
accepted is reported with the dead-letter queue it may sit in; deletes are conditional on the run id.

In-process against moto: a stand-in "API" writes the raw item at once and the processed copy a moment
later, from a thread, as a queue-triggered processor would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials

import verify.scenario.cleanup as cleanup_module
from tests.helpers.cli import create_flow_tables
from verify.aws.client import Aws
from verify.aws.http import HostRefused, HttpResult, SignedHttp
from verify.config.settings import Config
from verify.model import Category, CheckResult, LeftBehind, RunSummary, Severity, Status, Verdict
from verify.scenario.flow import Flow
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs

REGION = "us-east-1"
API = "https://abc123.execute-api.us-east-1.amazonaws.com/dev/"
RUN = "vfy-20260101T000000-abcdef12"


@pytest.fixture
def moto(aws_mock: None) -> Aws:
    create_flow_tables(REGION, "raw-data", "processed-data")
    return Aws(REGION)


def _put(table: str, sensor: str, stamp: str = "2025-01-01T00:00:00Z") -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=table, Item={"sensorId": {"S": sensor}, "timestamp": {"S": stamp}}
    )


def _sensors(table: str) -> list[str]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"]
    return sorted(item["sensorId"]["S"] for item in items)


class SlowPipeline(SignedHttp):
    """POST writes the raw item now and the processed copy `delay` seconds later (never when None);
    `status` is what the API answers."""

    def __init__(self, delay: float | None, status: int = 200, after: threading.Event | None = None) -> None:
        super().__init__(Credentials("testing", "testing"), REGION)
        self.delay = delay
        self.status = status
        # When given, the delay starts only once it is set: "later than X" is then made, not raced
        # against a loaded machine's scheduler.
        self.after = after
        self.threads: list[threading.Thread] = []

    def request(self, method: str, url: str, **kwargs: Any) -> HttpResult:  # type: ignore[override]
        body = kwargs.get("json_body") or {}
        sensor = str(body.get("sensorId", ""))
        if self.status < 400:
            _put("raw-data", sensor)
            if self.delay is not None:
                thread = threading.Thread(target=self._process_later, args=(sensor, self.delay), daemon=True)
                thread.start()
                self.threads.append(thread)
        return HttpResult(
            method=method,
            url=url,
            status=self.status,
            headers={"Content-Type": "application/json"},
            body=b"{}",
            text="{}",
            elapsed_s=0.01,
            trace_id=None,
            request_id=None,
            truncated=False,
        )

    def _process_later(self, sensor: str, delay: float) -> None:
        if self.after is not None:
            self.after.wait(timeout=30)
        time.sleep(delay)
        _put("processed-data", sensor)


def _flow(aws: Aws, http: SignedHttp, *, stopping: bool = False, dlq: bool = False) -> Flow:
    values = {
        "ApiEndpoint": API,
        "RawSensorTableName": "raw-data",
        "ProcessedDataTableName": "processed-data",
    }
    if dlq:
        values["DeadLetterQueueUrl"] = "https://sqs.us-east-1.amazonaws.com/123456789012/ingest-dlq"
    inventory = build_inventory(parse_outputs(values, "test.json"))
    return Flow(
        aws=aws,
        http=http,
        inventory=inventory,
        config=Config(),
        run_id=RUN,
        timeout=1,
        left_behind=[],
        stopping=lambda: stopping,
    )


@pytest.fixture
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleanup_module, "IN_FLIGHT_GRACE_S", 0.6)
    monkeypatch.setattr(cleanup_module, "MIN_GRACE_S", 0.1)
    monkeypatch.setattr(cleanup_module, "INTERRUPTED_GRACE_S", 0.1)
    monkeypatch.setattr(cleanup_module, "SWEEP_EVERY_S", 0.05)


def test_a_reading_processed_after_the_first_sweep_is_waited_for_and_removed(
    moto: Aws, short_grace: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A grace a loaded machine cannot outrun (the 0.6 s of short_grace ran out before the late copy
    # landed in a full suite run): the wait ends as soon as the copy is seen, so it costs ~0.3 s.
    monkeypatch.setattr(cleanup_module, "IN_FLIGHT_GRACE_S", 10.0)
    monkeypatch.setattr(cleanup_module, "MIN_GRACE_S", 5.0)
    first_sweep = threading.Event()
    http = SlowPipeline(delay=0.3, after=first_sweep)
    flow = _flow(moto, http)
    sweep = flow._sweep

    def sweep_then_let_the_processor_write() -> list[str]:
        try:
            return sweep()
        finally:
            first_sweep.set()

    flow._sweep = sweep_then_let_the_processor_write  # type: ignore[method-assign]
    flow.ingest()  # the run ends here (--timeout 1, say): the processor has not written yet
    assert _sensors("processed-data") == []
    flow.cleanup()
    for thread in http.threads:
        thread.join()
    assert _sensors("raw-data") == []
    assert _sensors("processed-data") == [], "the processor's late copy outlived the clean-up"
    assert flow.left_behind == []


def test_a_reading_never_processed_within_the_grace_is_reported_left_behind_with_its_key(
    moto: Aws, short_grace: None
) -> None:
    flow = _flow(moto, SlowPipeline(delay=None))
    flow.ingest()
    flow.cleanup()
    assert _sensors("raw-data") == []
    assert [(lb.place, lb.key) for lb in flow.left_behind] == [
        ("DynamoDB table processed-data", f"sensorId={RUN}")
    ]


def test_an_interrupted_run_waits_only_briefly(moto: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr(cleanup_module, "INTERRUPTED_GRACE_S", 0.2)
    flow = _flow(moto, SlowPipeline(delay=None), stopping=True)
    flow.ingest()
    started = time.monotonic()
    flow.cleanup()
    assert time.monotonic() - started < 2
    assert [lb.key for lb in flow.left_behind] == [f"sensorId={RUN}"]


def test_a_refused_reading_is_not_waited_for(moto: Aws, short_grace: None) -> None:
    flow = _flow(moto, SlowPipeline(delay=None, status=400))
    with pytest.raises(AssertionError):
        flow.ingest()
    flow.cleanup()
    assert flow.left_behind == []


class RefusingHttp(SlowPipeline):
    """verify itself refuses the host (not in [http] allow_hosts): nothing is ever sent."""

    def request(self, method: str, url: str, **kwargs: Any) -> HttpResult:  # type: ignore[override]
        raise HostRefused(f"{url}: not an AWS host and not in [http] allow_hosts")


def test_a_reading_verify_refused_to_send_is_neither_waited_for_nor_reported_left_behind(
    moto: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A grace long enough to see: a reading wrongly taken as in flight would hold clean-up for it,
    # then be reported "accepted by the API" though no byte of it went out.
    monkeypatch.setattr(cleanup_module, "IN_FLIGHT_GRACE_S", 3.0)
    monkeypatch.setattr(cleanup_module, "IN_FLIGHT_FLOOR_S", 3.0)
    monkeypatch.setattr(cleanup_module, "MIN_GRACE_S", 3.0)
    flow = _flow(moto, RefusingHttp(delay=None))
    with pytest.raises(HostRefused):
        flow.ingest()
    started = time.monotonic()
    flow.cleanup()
    assert flow.left_behind == []
    assert time.monotonic() - started < 2.0


def test_an_accepted_malformed_reading_is_reported_with_the_dead_letter_queue(
    moto: Aws, short_grace: None
) -> None:
    flow = _flow(moto, SlowPipeline(delay=None), dlq=True)
    # The API is a stand-in, not in moto: take its route as declared (tests/scenario/test_declared_routes.py).
    flow._route_verdict = ({"route": "POST /ingest"}, None)
    with pytest.raises(AssertionError):
        flow.malformed_not_stored()
    flow.cleanup()
    assert _sensors("raw-data") == []  # what the stack stored of it is removed
    places = {lb.place: lb for lb in flow.left_behind}
    assert "SQS queue ingest-dlq" in places, flow.left_behind
    assert places["SQS queue ingest-dlq"].key == f"sensorId={RUN}-malformed"
    assert "never receives" in places["SQS queue ingest-dlq"].reason


def test_the_delete_is_conditional_on_the_run_id(moto: Aws, short_grace: None) -> None:
    flow = _flow(moto, SlowPipeline(delay=None))
    flow._sent = True
    _put("raw-data", RUN)
    calls: list[dict[str, Any]] = []
    client = moto.client("dynamodb")
    original = client.delete_item

    def spy(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(**kwargs)

    client.delete_item = spy  # type: ignore[method-assign]
    flow.cleanup()
    assert calls and all(c["ConditionExpression"] == "begins_with(#pk, :run)" for c in calls)
    assert all(c["ExpressionAttributeValues"][":run"] == {"S": RUN} for c in calls)


def test_left_behind_round_trips_through_summary_json_and_old_summaries_still_read() -> None:
    summary = RunSummary(
        verdict=Verdict.PASS,
        profile="full",
        run_id=RUN,
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        source="x.json",
        region=REGION,
        left_behind=[LeftBehind("DynamoDB table processed-data", f"sensorId={RUN}", "in flight")],
    )
    data = summary.to_dict()
    assert data["left_behind"] == [
        {"place": "DynamoDB table processed-data", "key": f"sensorId={RUN}", "reason": "in flight"}
    ]
    assert RunSummary.from_dict(data).left_behind == summary.left_behind
    del data["left_behind"]
    assert RunSummary.from_dict(data).left_behind == []
    assert "left_behind" not in RunSummary.from_dict(data).to_dict()


def test_every_report_names_what_was_left_behind(tmp_path: Any) -> None:
    from verify.report import write_reports

    item = LeftBehind("DynamoDB table processed-data", f"sensorId={RUN}", "in flight")
    summary = RunSummary(
        verdict=Verdict.PASS,
        profile="full",
        run_id=RUN,
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        source="x.json",
        region=REGION,
        checks=[
            CheckResult(
                id="suites/test_flow.py::test_ingest",
                title="ingest",
                service="flow",
                resource="ApiEndpoint",
                category=Category.FUNCTIONAL,
                severity=Severity.BLOCKING,
                status=Status.PASSED,
            )
        ],
        left_behind=[item],
    )
    write_reports(summary, tmp_path)
    for name in ("summary.json", "summary.md", "report.html", "junit.xml"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert f"sensorId={RUN}" in text and "processed-data" in text, name
    assert "Left behind" in (tmp_path / "summary.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- against the sandbox's slow processor


@pytest.fixture(scope="module")
def slow_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Any]]]:
    import json

    from verify.sandbox.manager import spawn_sandbox

    root = tmp_path_factory.mktemp("slow")
    handle = spawn_sandbox(
        stacks=("pipeline",),
        faults=("slow_processor",),  # healthy, but each reading is processed ~3 s after it arrives
        outputs_path=root / "flat.json",
        state_dir=root / "state",
    )
    try:
        yield handle, json.loads((root / "flat.json").read_text(encoding="utf-8"))
    finally:
        handle.stop()


def _ours(env: dict[str, str], table: str, run_id: str) -> list[str]:
    from tests.helpers.cli import items

    return [i["sensorId"]["S"] for i in items(env, table) if i["sensorId"]["S"].startswith(run_id)]


_QUEUE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def _queue_drained(env: dict[str, str], outputs: dict[str, Any]) -> bool:
    from tests.helpers.cli import client

    sqs = client(env, "sqs")
    url = sqs.get_queue_url(QueueName=outputs["IngestionQueueUrl"].rsplit("/", 1)[1])["QueueUrl"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_QUEUE_COUNTS))["Attributes"]
    return all(int(counts[name]) == 0 for name in _QUEUE_COUNTS)


def _after_the_processor(env: dict[str, str], outputs: dict[str, Any], run_id: str) -> dict[str, list[str]]:
    from tests.helpers.cli import wait_for

    # Until the processor has finished everything still queued: it writes a reading's processed copy
    # before it deletes the reading's message, so an empty queue (nothing waiting, held or delayed)
    # means every late write has landed. A fixed 5 s sleep guessed that (slow_processor: ~3 s) and
    # cost its 5 s even when the run had already waited the processor out.
    wait_for(lambda: _queue_drained(env, outputs), "the slow processor to empty its queue", timeout=60)
    return {
        table: _ours(env, outputs[table], run_id)
        for table in ("RawSensorTableName", "ProcessedDataTableName")
    }


@pytest.mark.sandbox
def test_a_run_timing_out_before_a_slow_processor_leaves_nothing_behind(
    slow_pipeline: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    import json

    from tests.helpers.cli import clean_env, run_verify, summary

    handle, outputs = slow_pipeline
    env = clean_env(handle.env)
    (tmp_path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    done = run_verify(
        "run", "--outputs=outputs.json", "--report-dir=reports", "--timeout=1", cwd=tmp_path, env=env
    )
    assert "Traceback" not in done.stdout + done.stderr
    result = summary(tmp_path / "reports")
    left = _after_the_processor(env, outputs, result["run_id"])
    assert left == {"RawSensorTableName": [], "ProcessedDataTableName": []}, (left, result.get("left_behind"))


@pytest.mark.sandbox
def test_an_interrupted_run_removes_or_reports_what_the_processor_writes_later(
    slow_pipeline: tuple[Any, dict[str, Any]], tmp_path: Path
) -> None:
    import json
    import signal
    import subprocess
    import time

    from tests.helpers.cli import clean_env, items, summary, verify_command, wait_for

    handle, outputs = slow_pipeline
    env = clean_env(handle.env)
    (tmp_path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    proc = subprocess.Popen(
        verify_command("run", "--outputs=outputs.json", "--report-dir=reports", "--timeout=60"),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        raw = outputs["RawSensorTableName"]
        wait_for(lambda: [i for i in items(env, raw) if i["sensorId"]["S"].startswith("vfy-")], "the reading")
        time.sleep(0.5)  # the finding's moment: the reading is queued, not yet processed (~3 s)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    result = summary(tmp_path / "reports")
    reported = {item["key"].split("=", 1)[1] for item in result.get("left_behind", [])}
    left = _after_the_processor(env, outputs, result["run_id"])
    assert left["RawSensorTableName"] == []
    assert set(left["ProcessedDataTableName"]) <= reported, (left, result.get("left_behind"))


def test_the_wait_ends_within_the_runs_stop_budget(moto: Aws) -> None:
    import time

    from verify import polling

    flow = _flow(moto, SlowPipeline(delay=None))  # not told it is stopping: the stop budget says so
    flow.ingest()
    polling.begin_stop(1.5)
    try:
        started = time.monotonic()
        flow.cleanup()
        assert time.monotonic() - started < 1.5 - cleanup_module.BUDGET_MARGIN_S + 0.5
    finally:
        polling.end_stop()
        polling.allow_waits()
    assert [lb.key for lb in flow.left_behind] == [f"sensorId={RUN}"]


def test_the_pytest_path_prints_what_was_left_behind(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from verify.config.settings import Config
    from verify.engine.session import VerifySession
    from verify.pytest_plugin.plugin import _SUMMARY_KEY, _VerifyHooks

    summary = RunSummary(
        verdict=Verdict.PASS,
        profile="full",
        run_id=RUN,
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        source="x.json",
        region=REGION,
        left_behind=[LeftBehind("DynamoDB table processed-data", f"sensorId={RUN}", "in flight")],
    )
    session = VerifySession(
        config=Config(),
        profile="full",
        region_option=None,
        outputs_paths=[],
        stack_name=None,
        report_dir=tmp_path,
        timeout=1,
        run_id=RUN,
        started_at="",
        started_monotonic=0.0,
    )
    lines: list[str] = []
    reporter = SimpleNamespace(
        config=SimpleNamespace(stash={_SUMMARY_KEY: summary}),
        write_sep=lambda sep, text: lines.append(text),
        write_line=lines.append,
        ensure_newline=lambda: None,
    )
    _VerifyHooks(session).pytest_terminal_summary(reporter)
    assert f"LEFT BEHIND DynamoDB table processed-data: sensorId={RUN} (in flight)" in lines


@pytest.mark.sandbox
def test_a_stack_accepting_garbage_gets_the_malformed_reading_reported_with_its_dlq(tmp_path: Path) -> None:
    from tests.helpers.cli import clean_env, run_verify, summary

    done = run_verify(
        "run",
        "--sandbox",
        "--sandbox-stack=pipeline",
        "--fault=accepts_garbage",
        # The clean-up waits for the accepted garbage until twice this after it was sent (5 s at
        # least): 3 s ends the run ~6 s after it, not 15 s, and is still more than the healthy
        # sandbox's steps need (tests/reliability/test_aws_faults.py passes whole runs on 2 s).
        "--timeout=3",
        "--report-dir=reports",
        cwd=tmp_path,
        env=clean_env(),
    )
    assert done.returncode == 1, done.stderr[-2000:]
    result = summary(tmp_path / "reports")
    dlq = [lb for lb in result.get("left_behind", []) if lb["place"].startswith("SQS queue ")]
    assert dlq and dlq[0]["key"] == f"sensorId={result['run_id']}-malformed", result.get("left_behind")
    assert "sensor-ingestion-dlq" in dlq[0]["place"]
    assert "Left behind" in (tmp_path / "reports" / "summary.md").read_text(encoding="utf-8")
    assert "LEFT BEHIND SQS queue" in done.stdout


def test_a_clean_up_cut_short_by_a_stop_reports_the_raw_reading_it_never_removed(moto: Aws) -> None:
    # Under load a stop's budget ran out before the first sweep's DeleteItem on the raw table: the raw
    # item stayed, and left_behind named only the processed table (its copy still in flight).
    from verify.errors import AwsAccessError

    flow = _flow(moto, SlowPipeline(delay=None), stopping=True)
    flow.ingest()
    original = flow._delete_ours

    def stopped_before_the_raw_delete(table: Any, *args: Any, **kwargs: Any) -> bool:
        if table.name == "raw-data":
            raise AwsAccessError("AWS call abandoned: the run is being stopped")
        return bool(original(table, *args, **kwargs))

    flow._delete_ours = stopped_before_the_raw_delete  # type: ignore[method-assign]
    with pytest.raises(AwsAccessError):
        flow.cleanup()
    assert _sensors("raw-data") == [RUN]
    left = {(lb.place, lb.key): lb.reason for lb in flow.left_behind}
    assert ("DynamoDB table raw-data", f"sensorId={RUN}") in left, flow.left_behind
    assert "the run is being stopped" in left[("DynamoDB table raw-data", f"sensorId={RUN}")]
    assert ("DynamoDB table processed-data", f"sensorId={RUN}") in left


def test_a_clean_up_stopped_after_the_raw_sweep_does_not_report_the_removed_raw_reading(moto: Aws) -> None:
    from verify.errors import AwsAccessError

    flow = _flow(moto, SlowPipeline(delay=None), stopping=True)
    flow.ingest()
    original = flow._query_key

    def stopped_at_the_processed_table(table: Any, value: str) -> list[dict[str, Any]]:
        if table.name == "processed-data":
            raise AwsAccessError("AWS call abandoned: the run is being stopped")
        return original(table, value)

    flow._query_key = stopped_at_the_processed_table  # type: ignore[method-assign]
    with pytest.raises(AwsAccessError):
        flow.cleanup()
    assert _sensors("raw-data") == []
    assert [(lb.place, lb.key) for lb in flow.left_behind] == [
        ("DynamoDB table processed-data", f"sensorId={RUN}")
    ]
