"""Reports of real runs against the sandbox: shard-and-merge equals one run, Allure's own generator
counts what summary.json counts, junit.xml validates, and every check carries its evidence."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from tests.helpers.cli import clean_env
from tests.helpers.once import once
from verify.sandbox.manager import spawn_sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.xdist_group("sandbox-reports")]

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).with_name("junit-10.xsd")))
# A functional fault, so the verdict to reproduce is `fail` with real failures in the counts.
FAULT = "no_dlq"


def verify(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verify.cli.main", *args], cwd=cwd, capture_output=True, text=True, timeout=240
    )


def sandbox_run(
    cwd: Path, report_dir: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`verify run` against the module's sandbox (the runs are about the reports, not the start)."""
    return subprocess.run(
        [sys.executable, "-m", "verify.cli.main", "run", "--report-dir", report_dir, *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


def summary_of(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "summary.json").read_text(encoding="utf-8"))


def make_runs(cwd: Path) -> None:
    # One sandbox for the three runs: each removes the data it wrote (tests/reliability proves runs
    # sharing a stack leave it as they found it), and a start per run cost ~4 s of CPU.
    with spawn_sandbox(
        stacks=("pipeline",),
        faults=(FAULT,),
        outputs_path=cwd / "sandbox" / "flat-outputs.json",
        state_dir=cwd / "sandbox" / "state",
        timeout_s=120,
    ) as sandbox:
        outputs = ("--outputs", str(sandbox.outputs_path))
        env = clean_env(sandbox.env)
        for report_dir, extra in (("full", ()), ("s1", ("--shard", "1/2")), ("s2", ("--shard", "2/2"))):
            result = sandbox_run(cwd, report_dir, *outputs, *extra, env=env)
            # The fault breaks one check: the shard that does not hold it passes.
            assert result.returncode in ((1,) if report_dir == "full" else (0, 1)), result.stderr[-2000:]
            # A shard goes through pytest: nothing of pytest's own bookkeeping reaches the console
            # (a "warnings summary" with PytestAssertRewriteWarning followed every shard's dots).
            assert "warnings summary" not in result.stdout + result.stderr, result.stdout[-2000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Once per session: the tests read the three runs' reports and write only beside them.
    return once(tmp_path_factory, "sandbox-reports", make_runs)


def test_shard_and_merge_equals_one_run(runs: Path) -> None:
    full, s1, s2 = (summary_of(runs / d) for d in ("full", "s1", "s2"))
    assert (s1["shard"], s2["shard"]) == ("1/2", "2/2")
    ids1, ids2 = {c["id"] for c in s1["checks"]}, {c["id"] for c in s2["checks"]}
    assert ids1 and ids2 and not ids1 & ids2
    # The flow's steps share one scenario: all of them in one shard.
    flow_in = [bool({i for i in ids if i.startswith("suites/test_flow.py::")}) for ids in (ids1, ids2)]
    assert flow_in.count(True) == 1

    merged = verify("report", "merge", "s1", "s2", "--into", "merged", cwd=runs)
    assert merged.returncode == 1, merged.stderr
    combined = summary_of(runs / "merged")
    assert combined["verdict"] == full["verdict"] == "fail"
    assert combined["counts"] == full["counts"]
    assert sorted(c["id"] for c in combined["checks"]) == sorted(c["id"] for c in full["checks"])
    assert combined["gate"]["verdict"] == "fail"
    assert any("test_redrive_policy" in r for r in combined["gate"]["reasons"])
    SCHEMA.validate(str(runs / "merged" / "junit.xml"))

    # A shard missing from the merge never reads as the whole run.
    partial = verify("report", "merge", "s1", "--into", "partial", cwd=runs)
    assert partial.returncode in (1, 3)
    assert any("shard 2/2 is missing" in r for r in summary_of(runs / "partial")["gate"]["reasons"])


def test_allure_results_count_what_summary_counts(runs: Path) -> None:
    full = summary_of(runs / "full")
    results_dir = runs / "full" / "allure-results"
    results = [json.loads(p.read_text(encoding="utf-8")) for p in results_dir.glob("*-result.json")]
    allure_counts = {"passed": 0, "failed": 0, "broken": 0, "skipped": 0}
    for result in results:
        allure_counts[result["status"]] += 1
    expected = full["counts"]
    assert allure_counts == {
        "passed": expected["passed"],
        "failed": expected["failed"],
        "broken": expected["error"],
        "skipped": expected["skipped"],
    }
    assert (results_dir / "environment.properties").read_text(encoding="utf-8").count("region=us-east-1") == 1
    assert (results_dir / "categories.json").is_file()
    # A check about one named table (not, say, smoke's freshness check, which names no resource).
    one = next(r for r in results if r["name"].startswith("DynamoDB table") and r["status"] == "passed")
    assert any(
        link["url"].startswith("https://us-east-1.console.aws.amazon.com/dynamodbv2/")
        for link in one["links"]
    )
    assert any(a["name"] == "evidence" for a in one.get("attachments", []))


def test_allure_generator_reads_the_results_with_the_same_counts(runs: Path) -> None:
    full = summary_of(runs / "full")
    expected = full["counts"]
    results_dir = runs / "full" / "allure-results"
    allure = shutil.which("allure")
    if allure is None:
        # .ci/run installs it (npm `allure`, Allure 3); say so rather than pass.
        pytest.skip("the Allure report generator is not installed: npm install -g allure")
    out = runs / "allure-report"
    version = subprocess.run([allure, "--version"], capture_output=True, text=True, timeout=60).stdout
    # Allure 3 (npm `allure`, what .ci/run installs) takes no --clean and writes summary.json's "stats";
    # Allure 2 (allure-commandline) writes widgets/summary.json's "statistic".
    allure3 = version.strip().startswith("3.")
    args = [str(results_dir), "-o", str(out)] if allure3 else ["--clean", "-o", str(out), str(results_dir)]
    generated = subprocess.run(
        [allure, "generate", *args], capture_output=True, text=True, timeout=300, cwd=runs
    )
    assert generated.returncode == 0, generated.stderr
    if allure3:
        stats = json.loads((out / "summary.json").read_text(encoding="utf-8"))["stats"]
        stats = {key: stats.get(key, 0) for key in ("total", "passed", "failed", "broken", "skipped")}
    else:
        stats = json.loads((out / "widgets" / "summary.json").read_text(encoding="utf-8"))["statistic"]
    assert stats["total"] == len(full["checks"])
    assert (stats["passed"], stats["failed"], stats["broken"], stats["skipped"]) == (
        expected["passed"],
        expected["failed"],
        expected["error"],
        expected["skipped"],
    )


def test_every_check_carries_its_evidence(runs: Path) -> None:
    full = summary_of(runs / "full")
    SCHEMA.validate(str(runs / "full" / "junit.xml"))
    checks = {c["id"]: c for c in full["checks"]}
    ingest = checks["suites/test_flow.py::test_ingest_accepted"]["evidence"]
    assert ingest["http"][0]["request"].startswith("POST ") and ingest["http"][0]["status"] == 200
    assert ingest["http"][0]["request_id"]
    raw = checks["suites/test_flow.py::test_raw_item_written"]["evidence"]
    calls = raw["aws_calls"]
    assert {c["service"] for c in calls} >= {"dynamodb"}
    assert all(c["request_id"] and c["http_status"] == 200 and c["duration_ms"] is not None for c in calls)
    assert isinstance(raw["at_s"], float)
    redrive = next(c for i, c in checks.items() if i.startswith("suites/test_sqs.py::test_redrive_policy"))
    assert redrive["evidence"]["asked"]["kind"] == "sqs_queue"
    assert redrive["evidence"]["aws_calls"][0]["operation"] == "GetQueueAttributes"
    assert "QueueUrl" in redrive["evidence"]["aws_calls"][0]["params"]
    md = (runs / "full" / "summary.md").read_text(encoding="utf-8")
    assert "**First to fix:**" in md and "## Flow" in md
