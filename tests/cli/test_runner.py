"""The engine's runner, without pytest: it imports no pytest, and the shipped checks it runs say
exactly what the pytest adapter says -- the same checks, ids, titles, statuses, severities and
messages, on a healthy and on a broken stack; -k selects the same checks; Allure counts what
summary.json counts; the flow's data is removed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import clean_env, verify_command
from tests.helpers.sandbox import start_stack
from verify.sandbox.manager import SandboxHandle

pytestmark = [pytest.mark.sandbox, pytest.mark.xdist_group("runner")]

_COMPARED = ("id", "title", "service", "resource", "category", "severity", "status", "message")


def test_the_runner_imports_no_pytest() -> None:
    code = (
        "import sys, verify.engine.runner, verify.engine.plan, verify.cli.main\n"
        "assert not {'pytest', '_pytest'} & set(sys.modules), sorted(m for m in sys.modules if 'pytest' in m)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def verify_json(
    tmp: Path, handle: SandboxHandle, command: str, name: str, *extra: str, via_pytest: bool = False
) -> dict[str, Any]:
    env = clean_env(handle.env)
    if via_pytest:
        env["VERIFY_VIA_PYTEST"] = "1"
    done = subprocess.run(
        verify_command(command, f"--outputs={handle.outputs_path}", f"--report-dir={name}", *extra),
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    summary: dict[str, Any] = json.loads((tmp / name / "summary.json").read_text(encoding="utf-8"))
    summary["_exit"] = done.returncode
    summary["_stdout"] = done.stdout
    return summary


def comparable(summary: dict[str, Any]) -> list[tuple[Any, ...]]:
    # Numbers and hex ids in messages (ages, times, trace ids) differ between two runs a second apart.
    return sorted(
        tuple(
            re.sub(r"[0-9a-f]*\d[0-9a-f]*", "N", str(c.get(k)).replace(summary["run_id"], "RUN"))
            if k == "message"
            else c.get(k)
            for k in _COMPARED
        )
        for c in summary["checks"]
    )


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SandboxHandle]]:
    tmp = tmp_path_factory.mktemp("runner-healthy")
    with start_stack(tmp / "sandbox") as handle:
        yield tmp, handle


def test_healthy_smoke_says_what_pytest_says(healthy: tuple[Path, SandboxHandle]) -> None:
    tmp, handle = healthy
    direct = verify_json(tmp, handle, "smoke", "d")
    via_pytest = verify_json(tmp, handle, "smoke", "p", via_pytest=True)
    assert direct["_exit"] == via_pytest["_exit"] == 0
    assert comparable(direct) == comparable(via_pytest)
    assert direct["counts"] == via_pytest["counts"]
    assert direct["counts"]["passed"] > 50
    # The direct run went without pytest: none of its output is pytest's.
    assert "passed" in direct["_stdout"] and "warnings summary" not in direct["_stdout"]
    for name, summary in (("d", direct), ("p", via_pytest)):
        # Allure gets one result per check, with our status vocabulary mapped to Allure's, either way.
        allure = tmp / name / "allure-results"
        results = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
        assert len(results) == len(summary["checks"])
        statuses = sorted(r["status"] for r in results)
        assert statuses.count("passed") == summary["counts"]["passed"]
        assert statuses.count("skipped") == summary["counts"]["skipped"]
        assert (allure / "environment.properties").is_file()
        # Evidence is attached where it says more than what was asked (a skip says nothing more).
        telling = [c for c in summary["checks"] if set(c.get("evidence", {})) - {"asked"}]
        attached = [r for r in results if r.get("attachments")]
        assert len(attached) == len(telling) < len(results)
        attachments = list(allure.glob("*-attachment.json"))
        assert len(attachments) == len(attached)
        assert all(set(json.loads(p.read_text())) - {"asked"} for p in attachments)


def test_broken_smoke_fails_the_same_checks_as_pytest(tmp_path: Path) -> None:
    # Smoke-visible faults: a stale processed table and an API that accepts unsigned calls.
    with start_stack(tmp_path / "sandbox", faults=("stale_processed_data", "auth_open")) as handle:
        direct = verify_json(tmp_path, handle, "smoke", "d")
        via_pytest = verify_json(tmp_path, handle, "smoke", "p", via_pytest=True)
    assert direct["_exit"] == via_pytest["_exit"] == 1
    failed = {c["id"] for c in direct["checks"] if c["status"] == "failed"}
    assert any("test_api_rejects_unsigned_get" in i for i in failed), failed
    assert any("test_latest_processed_record_recent" in i for i in failed), failed
    assert comparable(direct) == comparable(via_pytest)
    # Smoke's console lists its problems once, as the on-call table, above its one closing line.
    rows = [line for line in direct["_stdout"].splitlines() if line.startswith("FAILED  blocking")]
    blocking = [c for c in direct["checks"] if c["status"] == "failed" and c["severity"] == "blocking"]
    assert len(rows) == len(blocking) >= 2, direct["_stdout"][-2000:]
    assert direct["_stdout"].rstrip().splitlines()[-1].startswith("= verify: FAIL -- ")


def test_keyword_selects_the_same_checks(healthy: tuple[Path, SandboxHandle]) -> None:
    tmp, handle = healthy
    direct = verify_json(tmp, handle, "smoke", "dk", "-k", "dynamodb and not pitr")
    via_pytest = verify_json(tmp, handle, "smoke", "pk", "-k", "dynamodb and not pitr", via_pytest=True)
    assert [c["id"] for c in direct["checks"]]
    assert sorted(c["id"] for c in direct["checks"]) == sorted(c["id"] for c in via_pytest["checks"])


def test_a_bad_keyword_expression_is_one_sentence_and_exit_2(healthy: tuple[Path, SandboxHandle]) -> None:
    tmp, handle = healthy
    done = subprocess.run(
        verify_command("smoke", f"--outputs={handle.outputs_path}", "--report-dir=bad", "-k", "sqs and ("),
        cwd=tmp,
        env=clean_env(handle.env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "-k 'sqs and ('" in done.stderr and "Traceback" not in done.stderr


def _raw_items(handle: SandboxHandle, run_id: str) -> list[str]:
    import boto3

    outputs = json.loads(handle.outputs_path.read_text(encoding="utf-8"))
    env = clean_env(handle.env)
    client = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    items = client.scan(TableName=outputs["RawSensorTableName"])["Items"]
    return [str(i["sensorId"]["S"]) for i in items if str(i["sensorId"]["S"]).startswith(run_id)]


def test_full_run_says_what_pytest_says_and_removes_its_reading(healthy: tuple[Path, SandboxHandle]) -> None:
    tmp, handle = healthy
    direct = verify_json(tmp, handle, "run", "fd")
    via_pytest = verify_json(tmp, handle, "run", "fp", via_pytest=True)
    assert direct["_exit"] == via_pytest["_exit"] == 0
    assert comparable(direct) == comparable(via_pytest)
    flow = [c for c in direct["checks"] if c["id"].startswith("suites/test_flow.py::")]
    assert len(flow) == 11 and all(c["status"] == "passed" for c in flow)
    assert _raw_items(handle, direct["run_id"]) == []


def test_a_stopped_processor_fails_and_blocks_the_steps_after_it(tmp_path: Path) -> None:
    with start_stack(tmp_path / "sandbox", faults=("processor_down",)) as handle:
        # The stopped processor is waited for --timeout, and the clean-up waits for its reading until
        # twice that after it was sent (5 s at least): 3 s, not 4 s, ends the run 2 s sooner and still
        # leaves the ingest and raw steps, which answer at once, ample time on a loaded machine.
        direct = verify_json(tmp_path, handle, "run", "fd", "--timeout=3", "-k", "flow")
        left = _raw_items(handle, direct["run_id"])
    assert direct["_exit"] == 1
    statuses = {c["id"].split("::")[1]: c["status"] for c in direct["checks"]}
    assert statuses["test_processor_ran"] == "failed"
    assert statuses["test_trace_spans_hops"] == "error"  # cannot be observed, never a pass
    assert left == []
