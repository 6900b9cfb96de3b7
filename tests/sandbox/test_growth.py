"""`--grow N`: the pipeline's outputs name exactly N resources as discovery counts them, each one
exists and is healthy in the emulator, the flow still follows the base stack, and `verify run` on a
grown stack passes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.sandbox import Stack, start_stack
from verify.config.settings import Config
from verify.errors import UsageError
from verify.sandbox.commands import sandbox_main
from verify.sandbox.manager import sandbox_status, start_sandbox
from verify.sandbox.pipeline.growth import BASE_RESOURCES, CYCLE, plan
from verify.scenario.flow import find_targets
from verify.stack.inventory import Inventory, build_inventory
from verify.stack.outputs import load_outputs

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[2]
NAMING = ("scalar", "unknown")  # kinds discovery reports that name no resource


def discovered(outputs_path: Path) -> Inventory:
    """What `verify discover` reads from the file (the same two library calls)."""
    return build_inventory(load_outputs(outputs_path))


def resource_count(outputs_path: Path) -> int:
    return sum(1 for r in discovered(outputs_path).resources if r.kind not in NAMING)


@pytest.fixture(scope="module")
def grown60(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with start_stack(tmp_path_factory.mktemp("grown60"), grow=60) as handle:
        yield Stack(handle)


def test_base_constant_is_what_discovery_counts_on_the_base_stack(healthy: Stack) -> None:
    # BASE_RESOURCES is what --grow refuses below; it must not drift from the real stack.
    assert resource_count(healthy.handle.outputs_path) == BASE_RESOURCES


def test_grown_stack_names_exactly_n_resources(grown60: Stack) -> None:
    assert resource_count(grown60.handle.outputs_path) == 60
    kinds = Counter(r.kind for r in discovered(grown60.handle.outputs_path).resources)
    # A mix, not 40 of one kind.
    for kind in ("dynamodb_table", "sqs_queue", "sns_topic", "ssm_parameter", "log_group", "alarm"):
        assert kinds[kind] >= 3, kinds


@pytest.mark.parametrize("n", [BASE_RESOURCES, 21, 23, 41])
def test_small_and_odd_growths_count_exactly(n: int, tmp_path: Path) -> None:
    # 21 and 41: one short of a queue pair, which must be passed over for a single resource.
    with start_stack(tmp_path, grow=n) as handle:
        assert resource_count(handle.outputs_path) == n


def test_plan_is_deterministic_and_adds_up() -> None:
    for extra in range(0, 130):
        planned = plan(extra)
        assert sum(p.unit.size for p in planned) == extra
        assert planned == plan(extra)
    assert sum(u.size for u in CYCLE) == 20


def test_same_n_gives_the_same_keys(grown60: Stack, tmp_path: Path) -> None:
    with start_stack(tmp_path, grow=60) as handle:
        again = json.loads(handle.outputs_path.read_text())
    assert list(again) == list(grown60.outputs)
    # Values differ only by the suffix each test sandbox carries.
    suffix, other = grown60.outputs["Environment"], again["Environment"]
    grown_keys = [k for k in again if k.startswith("Site")]
    assert [again[k].replace(other, "S") for k in grown_keys] == [
        grown60.outputs[k].replace(suffix, "S") for k in grown_keys
    ]


def _grown(stack: Stack) -> dict[str, str]:
    return {k: str(v) for k, v in stack.outputs.items() if k.startswith("Site")}


def test_every_grown_resource_exists_and_is_healthy(grown60: Stack) -> None:
    inventory = discovered(grown60.handle.outputs_path)
    grown_keys = set(_grown(grown60))
    assert len(grown_keys) == 60 - BASE_RESOURCES  # every resource beyond the base stack's own
    checked: Counter[str] = Counter()
    for resource in inventory.resources:
        if resource.key not in grown_keys:
            continue
        _assert_healthy(grown60, resource.kind, resource.name, resource.value)
        checked[resource.kind] += 1
    assert sum(checked.values()) == len(grown_keys), checked


def _assert_healthy(stack: Stack, kind: str, name: str, value: str) -> None:
    if kind == "dynamodb_table":
        ddb = stack.client("dynamodb")
        table = ddb.describe_table(TableName=name)["Table"]
        assert table["TableStatus"] == "ACTIVE" and table["SSEDescription"]["SSEType"] == "KMS", table
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    elif kind == "sqs_queue":
        attributes = stack.client("sqs").get_queue_attributes(QueueUrl=value, AttributeNames=["All"])
        attributes = attributes["Attributes"]
        assert attributes["SqsManagedSseEnabled"] == "true"
        if "-dlq-" not in name:
            env = stack.outputs["Environment"]
            target = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
            assert target.endswith(":" + name.removesuffix(f"-{env}") + f"-dlq-{env}"), target
            assert int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]) == 3
    elif kind == "sns_topic":
        sns = stack.client("sns")
        assert sns.get_topic_attributes(TopicArn=value)["Attributes"]["KmsMasterKeyId"]
        assert sns.list_subscriptions_by_topic(TopicArn=value)["Subscriptions"]
    elif kind == "ssm_parameter":
        assert stack.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    elif kind == "log_group":
        groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert [g.get("retentionInDays") for g in groups if g["logGroupName"] == name] == [30]
    elif kind == "alarm":
        alarms = stack.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        assert [a["StateValue"] for a in alarms] == ["OK"]
    else:
        raise AssertionError(f"unexpected grown kind {kind} ({name})")


def test_flow_still_follows_the_base_stack(grown60: Stack) -> None:
    inventory = discovered(grown60.handle.outputs_path)
    raw, processed = inventory.one("dynamodb_table", "raw"), inventory.one("dynamodb_table", "processed")
    assert raw is not None and raw.key == "RawSensorTableName"
    assert processed is not None and processed.key == "ProcessedDataTableName"
    roles = {r.key: r.role for r in inventory.resources if r.key.startswith("Site") and r.role}
    assert set(roles.values()) == {"dlq"} and all("DeadLetter" in k for k in roles), roles
    targets = find_targets(inventory, Config())
    assert targets.raw_table and targets.raw_table.key == "RawSensorTableName"
    assert targets.processed_table and targets.processed_table.key == "ProcessedDataTableName"
    assert targets.queue and targets.queue.key == "IngestionQueueUrl"
    assert targets.dlq and targets.dlq.key == "DeadLetterQueueUrl"
    assert set(targets.log_groups.values()) == {
        grown60.outputs["IngestLogGroupName"],
        grown60.outputs["ProcessorLogGroupName"],
    }


def test_grow_is_recorded_in_the_state(grown60: Stack) -> None:
    assert sandbox_status(grown60.handle.state_dir)["grow"] == 60


@pytest.mark.parametrize("n", [0, -5, BASE_RESOURCES - 1])
def test_growth_below_the_base_stack_is_refused_before_anything_starts(n: int, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=f"below the pipeline's own {BASE_RESOURCES} resources") as caught:
        start_sandbox(grow=n, outputs_path=tmp_path / "o.json", state_dir=tmp_path / "state")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "o.json").exists() and not (tmp_path / "state").exists()


def test_growth_without_the_pipeline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="grows the pipeline stack"):
        start_sandbox(stacks="platform", grow=40, outputs_path=tmp_path / "o.json", state_dir=tmp_path / "s")


def test_command_line_refuses_a_small_growth_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert sandbox_main(["up", "--grow", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"own {BASE_RESOURCES} resources" in err, err


def test_detached_growth_through_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--state-dir", str(tmp_path / "state")]
    outputs = tmp_path / "out.json"
    assert sandbox_main(["up", "--detach", "--grow", "27", "--outputs", str(outputs), *common]) == 0
    try:
        assert resource_count(outputs) == 27
        capsys.readouterr()
        assert sandbox_main(["status", "--json", *common]) == 0
        assert json.loads(capsys.readouterr().out)["grow"] == 27
    finally:
        assert sandbox_main(["down", *common]) == 0


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    from tests.helpers.cli import clean_env

    return clean_env(extra)


def test_verify_run_passes_on_a_grown_stack(grown60: Stack, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "verify.cli.main",
            "run",
            f"--outputs={grown60.handle.outputs_path}",
            f"--report-dir={reports}",
            "--timeout=20",
        ],
        cwd=tmp_path,
        env=_clean_env(grown60.handle.env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    summary: dict[str, Any] = json.loads((reports / "summary.json").read_text())
    bad = [
        (c["id"], c["status"], c["message"][:200])
        for c in summary["checks"]
        if c["status"] in ("failed", "error")
    ]
    assert bad == [], bad
    assert proc.returncode == 0 and summary["verdict"] == "pass", proc.stdout[-2000:] + proc.stderr[-2000:]
    # The grown resources were checked, not passed over: each grown key has a passing check.
    grown = set(_grown(grown60))
    passed_keys = {
        c["id"].split("[", 1)[-1].rstrip("]") for c in summary["checks"] if c["status"] == "passed"
    }
    assert grown <= passed_keys, grown - passed_keys


def test_the_docs_state_the_minimum_that_grow_enforces() -> None:
    # docs/sandbox.md said 20 while --grow refused below 19: a newcomer found the two apart.
    docs = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text(encoding="utf-8")
    assert f"The base stack names {BASE_RESOURCES}; a smaller N is refused" in docs
