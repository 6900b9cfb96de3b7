"""The pytest plugin end to end through `pytester`: fixtures, markers, statuses, severity, exit codes."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

# pytester's in-process runs drop every module they imported, and pytest re-rewrites the modules of
# plugin distributions on each import: loading these once here keeps each inner run well under a second.
for _module in (
    "hypothesis.internal.observability",  # imported by hypothesis' terminal summary
    "suites",
    "verify.stack.inventory",
    "verify.stack.outputs",
    "verify.polling",
    "verify.report",
):
    importlib.import_module(_module)

OUTPUTS = {
    "RawSensorTableName": "raw-sensor-data-dev",
    "ProcessedTableName": "processed-data-dev",
    "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/prod/",
}

STATUSES = """
import pytest
from verify import CheckFailed, NotApplicable, NotYet


@pytest.mark.check("dynamodb", title="table {name} is named")
@pytest.mark.resources("dynamodb_table")
def test_table(resource, outputs, inventory, run_id):
    assert run_id == "vfy-test-run"
    assert outputs.get(resource.key).value == resource.value
    assert inventory.region == "us-east-1"
    assert resource.name.endswith("-dev")


@pytest.mark.check("dynamodb", category="posture", title="PITR on {name}")
@pytest.mark.resources("dynamodb_table", role="raw")
def test_posture(resource):
    raise CheckFailed(f"table {resource.name}: expected PITR ENABLED, got DISABLED", resource=resource.key)


@pytest.mark.check("sqs", title="queue is ACTIVE")
def test_failed():
    raise CheckFailed("queue q: expected ACTIVE, got MISSING", expected="ACTIVE", actual="MISSING")


@pytest.mark.check("sqs", title="queue depth")
def test_error():
    raise RuntimeError("boom")


@pytest.mark.check("apigateway", title="api auth")
def test_not_applicable():
    raise NotApplicable("no authorizer configured")


@pytest.mark.check("apigateway")
def test_skipped():
    pytest.skip("not on weekends")


@pytest.mark.check("kinesis", title="stream {name} ACTIVE")
@pytest.mark.resources("kinesis_stream")
def test_no_stream(resource):
    raise AssertionError("must not run")


@pytest.mark.check("xray", title="trace arrives")
def test_eventually(eventually, check):
    calls = []

    def probe():
        calls.append(1)
        if len(calls) < 3:
            raise NotYet("trace", observed=f"{len(calls)} segments")
        return "found"

    polled = eventually(probe, what="trace of the reading", timeout=5, first_wait=0.001, max_wait=0.002)
    assert polled.value == "found"
    check.record("trace_id", "1-abc")


@pytest.mark.check("logs", title="plain assert")
def test_plain_assert():
    assert 1 + 1 == 3, "arithmetic is broken"
"""


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    # On GitHub Actions the inner runs would otherwise append to this job's own step summary.
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def outputs_file(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS), encoding="utf-8")
    return path


def run(
    pytester: pytest.Pytester, outputs_file: Path, *extra: str
) -> tuple[pytest.RunResult, dict[str, Any]]:
    report_dir = pytester.path / "reports"
    result = pytester.runpytest(
        f"--verify-outputs={outputs_file}",
        f"--verify-report-dir={report_dir}",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    return result, summary


def by_id(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in summary["checks"]}


def test_statuses_severity_and_ids(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(test_checks=STATUSES)
    result, summary = run(pytester, outputs_file, "--verify-run-id=vfy-test-run")
    checks = by_id(summary)
    prefix = "test_checks.py::"

    assert sorted(checks) == sorted(
        prefix + name
        for name in (
            "test_table[RawSensorTableName]",
            "test_table[ProcessedTableName]",
            "test_posture[RawSensorTableName]",
            "test_failed",
            "test_error",
            "test_not_applicable",
            "test_skipped",
            "test_eventually",
            "test_plain_assert",
        )
    )
    table = checks[prefix + "test_table[RawSensorTableName]"]
    assert table == {
        "id": prefix + "test_table[RawSensorTableName]",
        "title": "table raw-sensor-data-dev is named",
        "service": "dynamodb",
        "resource": "RawSensorTableName",
        "category": "functional",
        "severity": "blocking",
        "status": "passed",
        "duration_s": table["duration_s"],
        "attempts": 1,
        "message": "",
        # What was asked, on every check about a resource.
        "evidence": {
            "asked": {
                "service": "dynamodb",
                "resource": "RawSensorTableName",
                "kind": "dynamodb_table",
                "name": "raw-sensor-data-dev",
            }
        },
    }
    posture = checks[prefix + "test_posture[RawSensorTableName]"]
    assert (posture["status"], posture["category"], posture["severity"]) == ("failed", "posture", "advisory")
    assert posture["message"] == "table raw-sensor-data-dev: expected PITR ENABLED, got DISABLED"
    assert posture["title"] == "PITR on raw-sensor-data-dev"

    failed = checks[prefix + "test_failed"]
    assert (failed["status"], failed["severity"], failed["service"]) == ("failed", "blocking", "sqs")
    assert failed["message"] == "queue q: expected ACTIVE, got MISSING"
    assert failed["evidence"] == {"expected": "ACTIVE", "actual": "MISSING"}

    error = checks[prefix + "test_error"]
    assert error["status"] == "error"
    assert error["message"] == "could not verify: RuntimeError: boom"

    not_applicable = checks[prefix + "test_not_applicable"]
    assert (not_applicable["status"], not_applicable["message"]) == ("skipped", "no authorizer configured")
    skipped = checks[prefix + "test_skipped"]
    assert (skipped["status"], skipped["message"]) == ("skipped", "not on weekends")
    assert skipped["title"] == "test_skipped"  # no title given: the test's name

    # A check about a kind the stack does not have is not planned at all: no "(none)" row.
    assert not any("test_no_stream" in check_id for check_id in checks)

    waited = checks[prefix + "test_eventually"]
    assert waited["status"] == "passed"
    assert waited["attempts"] == 3
    assert waited["evidence"]["trace_id"] == "1-abc"
    assert waited["evidence"]["wait: trace of the reading"]["attempts"] == 3

    plain = checks[prefix + "test_plain_assert"]
    assert (plain["status"], plain["message"]) == ("failed", "arithmetic is broken")

    assert summary["counts"] == {"passed": 3, "failed": 3, "skipped": 2, "error": 1, "unverified": 0}
    assert summary["verdict"] == "fail"
    assert summary["run_id"] == "vfy-test-run"
    assert summary["profile"] == "full"
    assert summary["stack"] == {"source": str(outputs_file), "region": "us-east-1"}
    assert result.ret == 1
    # A CheckFailed is one sentence in pytest's own output, not a traceback into the harness.
    result.stdout.fnmatch_lines(["*test_checks.py::test_failed: queue q: expected ACTIVE, got MISSING*"])
    # verify's one closing line: the gate's numbers first (a skip is never a pass), then every count.
    result.stdout.fnmatch_lines(
        ["= verify: FAIL -- * blocking checks passed; *(all checks: 3 passed, *) in *"]
    )
    assert (pytester.path / "reports" / "summary.md").is_file()


def test_all_passing_exits_0(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.check("dynamodb", title="{key} named")
        @pytest.mark.resources("dynamodb_table")
        def test_table(resource):
            assert resource.kind == "dynamodb_table"
        """
    )
    result, summary = run(pytester, outputs_file)
    assert result.ret == 0
    assert summary["verdict"] == "pass"
    assert [c["title"] for c in summary["checks"]] == ["RawSensorTableName named", "ProcessedTableName named"]


def test_output_parametrization_ids_carry_the_key(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.check("outputs", title="output {key}")
        def test_output(output):
            assert output.items
        """
    )
    result, summary = run(pytester, outputs_file)
    assert result.ret == 0
    assert [(c["id"], c["resource"]) for c in summary["checks"]] == [
        (f"test_output_parametrization_ids_carry_the_key.py::test_output[{key}]", key) for key in OUTPUTS
    ]


def test_only_advisory_failures_still_pass(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        """
        import pytest
        from verify import CheckFailed

        @pytest.mark.check("dynamodb")
        def test_functional():
            pass

        @pytest.mark.check("dynamodb", category="posture")
        def test_posture():
            raise CheckFailed("SSE off")
        """
    )
    result, summary = run(pytester, outputs_file)
    assert summary["verdict"] == "pass"
    assert summary["counts"] == {"passed": 1, "failed": 1, "skipped": 0, "error": 0, "unverified": 0}
    assert result.ret == 0


def test_only_errors_exit_3(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        """
        import pytest
        from verify import AwsAccessError

        @pytest.mark.check("dynamodb")
        def test_ok():
            pass

        @pytest.mark.check("dynamodb")
        def test_denied():
            raise AwsAccessError("access denied to dynamodb:DescribeTable on raw-sensor-data-dev")
        """
    )
    result, summary = run(pytester, outputs_file)
    assert result.ret == 3
    assert summary["verdict"] == "error"
    denied = summary["checks"][1]
    assert (
        denied["message"]
        == "could not verify: access denied to dynamodb:DescribeTable on raw-sensor-data-dev"
    )


def test_everything_skipped_exits_3(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.check("kinesis")
        @pytest.mark.resources("kinesis_stream")
        def test_stream(resource):
            pass

        def test_skip():
            pytest.skip("nothing to see")
        """
    )
    result, summary = run(pytester, outputs_file)
    assert result.ret == 3
    assert summary["verdict"] == "error"
    # The stream check is not planned (no stream in the outputs); the explicit skip is the one skip.
    assert summary["counts"] == {"passed": 0, "failed": 0, "skipped": 1, "error": 0, "unverified": 0}


def test_smoke_profile_skips_writes(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.check("dynamodb")
        def test_read():
            pass

        @pytest.mark.check("flow")
        @pytest.mark.writes
        def test_write():
            raise AssertionError("must not run in smoke")
        """
    )
    result, summary = run(pytester, outputs_file, "--verify-profile=smoke")
    assert result.ret == 0
    assert summary["profile"] == "smoke"
    write = by_id(summary)["test_smoke_profile_skips_writes.py::test_write"]
    assert write["status"] == "skipped"
    assert write["message"] == "not applicable: writes test data, and the smoke profile is read-only"


def test_full_profile_runs_writes(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.check("flow")
        @pytest.mark.writes
        def test_write():
            raise AssertionError("ran")
        """
    )
    result, summary = run(pytester, outputs_file)
    assert result.ret == 1
    assert summary["checks"][0]["status"] == "failed"


def test_config_waiver_turns_a_failure_advisory(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        test_waived="""
        import pytest
        from verify import CheckFailed

        @pytest.mark.check("dynamodb")
        def test_ok():
            pass

        @pytest.mark.check("dynamodb")
        @pytest.mark.resources("dynamodb_table")
        def test_broken(resource):
            raise CheckFailed("broken")
        """
    )
    config = pytester.path / "policy.toml"
    config.write_text(
        '[[policy.waivers]]\ncheck = "test_waived.py::test_broken*"\nreason = "OPS-1"\nexpires = "2999-01-01"\n',
        encoding="utf-8",
    )
    result, summary = run(pytester, outputs_file, f"--verify-config={config}")
    assert [c["severity"] for c in summary["checks"]] == ["blocking", "advisory", "advisory"]
    assert summary["verdict"] == "pass"
    assert result.ret == 0


def test_setup_and_teardown_problems_are_errors(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        """
        import pytest
        from verify import CheckFailed

        @pytest.fixture
        def broken_fixture():
            raise CheckFailed("fixture could not find the table")

        @pytest.fixture
        def leaky():
            yield
            raise RuntimeError("delete_item denied")

        @pytest.mark.check("dynamodb")
        def test_setup(broken_fixture):
            pass

        @pytest.mark.check("dynamodb")
        def test_teardown(leaky):
            pass
        """
    )
    result, summary = run(pytester, outputs_file)
    checks = by_id(summary)
    module = "test_setup_and_teardown_problems_are_errors.py"
    assert checks[f"{module}::test_setup"]["status"] == "error"
    assert checks[f"{module}::test_teardown"]["status"] == "passed"
    cleanup = checks[f"{module}::test_teardown::teardown"]
    assert cleanup["status"] == "error"
    assert cleanup["service"] == "harness"
    assert cleanup["message"] == "could not clean up: RuntimeError: delete_item denied"
    assert summary["verdict"] == "error"
    assert result.ret == 3


def test_plain_pytest_run_is_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_one():
            pass

        def test_two():
            assert False
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    assert not (pytester.path / "reports").exists()
    assert "verify:" not in result.stdout.str()


def test_verify_fixture_without_the_plugin_enabled_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_outputs(outputs):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the verify fixtures need the verify plugin enabled (--verify)*"])
    assert not (pytester.path / "reports").exists()


@pytest.mark.sandbox
def test_xdist_writes_one_summary_with_every_result(
    pytester: pytest.Pytester, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every write of the reports appends here: workers writing too would show as more than one.
    step_summary = pytester.path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    pytester.makepyfile(
        test_parallel="""
        import pytest

        @pytest.mark.check("outputs", title="output {key}")
        def test_output(output, run_id):
            assert run_id == "vfy-xdist"

        @pytest.mark.check("dynamodb")
        @pytest.mark.resources("dynamodb_table")
        def test_table(resource):
            pass

        @pytest.mark.parametrize("n", range(4))
        @pytest.mark.check("sqs")
        def test_numbers(n):
            pass
        """
    )
    report_dir = pytester.path / "reports"
    result = pytester.runpytest_subprocess(
        f"--verify-outputs={outputs_file}",
        f"--verify-report-dir={report_dir}",
        "--verify-run-id=vfy-xdist",
        "-p",
        "no:cacheprovider",
        "-p",
        "xdist",
        "-n",
        "2",
    )
    assert result.ret == 0, result.stdout.str()
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    ids = [c["id"] for c in summary["checks"]]
    assert len(ids) == len(set(ids)) == 3 + 2 + 4
    assert summary["counts"] == {"passed": 9, "failed": 0, "skipped": 0, "error": 0, "unverified": 0}
    assert summary["run_id"] == "vfy-xdist"
    # The controller collected nothing itself, yet knows the stack it judged.
    assert summary["stack"] == {"source": str(outputs_file), "region": "us-east-1"}
    assert sorted(p.name for p in report_dir.iterdir()) == [
        "junit.xml",
        "report.html",
        "summary.json",
        "summary.md",
    ]
    assert step_summary.read_text(encoding="utf-8").count("# verify: PASS") == 1


def test_sensitive_values_never_reach_the_reports(pytester: pytest.Pytester) -> None:
    secret = "s3cr3t-Pa55word-value"
    outputs_file = pytester.path / "outputs.json"
    outputs_file.write_text(json.dumps({**OUTPUTS, "DbPassword": secret}), encoding="utf-8")
    pytester.makepyfile(
        """
        import pytest
        from verify import CheckFailed

        @pytest.mark.check("rds", title="login with {key}")
        def test_login(outputs, check):
            password = outputs.get("DbPassword").value
            check.record("tried", {"user": "app", "password_used": password, "note": "pw " + password})
            raise CheckFailed(f"login as app with {password} refused", evidence={"dsn": f"postgres://app:{password}@db"})

        @pytest.mark.check("outputs")
        @pytest.mark.resources()
        def test_each(resource):
            # pytest shows a failing test's arguments, and allure records their repr.
            print("connecting with", resource.value)
            assert not resource.sensitive
        """
    )
    reports = pytester.path / "reports"
    result, summary = run(
        pytester, outputs_file, f"--junitxml={reports / 'junit.xml'}", f"--alluredir={reports / 'allure'}"
    )
    assert result.ret == 1
    checks = by_id(summary)
    login = checks["test_sensitive_values_never_reach_the_reports.py::test_login"]
    assert login["message"] == "login as app with *** refused"
    assert login["evidence"]["tried"] == {"user": "app", "password_used": "***", "note": "pw ***"}
    assert (
        checks["test_sensitive_values_never_reach_the_reports.py::test_each[DbPassword]"]["status"]
        == "failed"
    )
    assert "Resource(key='DbPassword'" in result.stdout.str()
    assert "value='***'" in result.stdout.str()
    written = [p for p in reports.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"summary.json", "summary.md", "junit.xml"}
    assert any(p.parent.name == "allure" for p in written)
    for path in written:
        assert secret not in path.read_text(encoding="utf-8"), path
    assert secret not in result.stdout.str()


def test_several_stacks_report_per_stack_and_overall(pytester: pytest.Pytester) -> None:
    cdk = pytester.path / "cdk-outputs.json"
    cdk.write_text(
        json.dumps(
            {
                "DataStack": {"RawSensorTableName": "raw-sensor-data-dev"},
                "ApiStack": {"ApiUrl": OUTPUTS["ApiUrl"]},
            }
        ),
        encoding="utf-8",
    )
    extra = pytester.path / "queue-outputs.json"
    extra.write_text(json.dumps({"IngestQueueName": "ingest-queue-dev"}), encoding="utf-8")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.check("outputs", title="output {key}")
        def test_output(output, eventually, check):
            eventually(lambda: output.key, what="the key")
            assert output.key != "IngestQueueName"
        """
    )
    result, summary = run(pytester, cdk, f"--verify-outputs={extra}")
    assert result.ret == 1
    stacks = {c["resource"]: c.get("stack") for c in summary["checks"]}
    assert stacks == {
        "RawSensorTableName": "DataStack",
        "ApiUrl": "ApiStack",
        "IngestQueueName": "queue-outputs",
    }
    assert summary["stacks"]["queue-outputs"] == {
        "verdict": "fail",
        "counts": {"passed": 0, "failed": 1, "skipped": 0, "error": 0, "unverified": 0},
    }
    assert summary["stacks"]["DataStack"]["verdict"] == "pass"
    assert summary["verdict"] == "fail"
    # Each polling attempt is in the evidence, with its time.
    polled = summary["checks"][0]["evidence"]["polling"]
    assert polled[0]["wait"] == "the key" and polled[0]["attempt"] == 1 and "at_s" in polled[0]


def test_policy_option_and_shards(pytester: pytest.Pytester, outputs_file: Path) -> None:
    pytester.makepyfile(
        test_posture="""
        import pytest
        from verify import CheckFailed

        @pytest.mark.check("dynamodb", category="posture")
        @pytest.mark.resources("dynamodb_table")
        def test_pitr(resource):
            raise CheckFailed("expected PITR ENABLED, got DISABLED")
        """
    )
    policy = pytester.path / "gate.toml"
    policy.write_text('[policy]\nblocking_categories = ["functional", "posture"]\n', encoding="utf-8")
    result, summary = run(pytester, outputs_file, f"--verify-policy={policy}")
    assert result.ret == 1
    assert summary["gate"] == {
        "verdict": "fail",
        "policy": str(policy),
        "reasons": [
            "0 of 2 blocking checks passed; 0 not applicable; 2 failed",
            "blocking check test_posture.py::test_pitr[ProcessedTableName] failed: expected PITR ENABLED, got DISABLED",
            "blocking check test_posture.py::test_pitr[RawSensorTableName] failed: expected PITR ENABLED, got DISABLED",
        ],
    }
    halves = [run(pytester, outputs_file, f"--verify-shard={i}/2")[1] for i in (1, 2)]
    ids = [{c["id"] for c in half["checks"]} for half in halves]
    assert not ids[0] & ids[1]
    assert len(ids[0] | ids[1]) == 2
    bad = pytester.runpytest(f"--verify-outputs={outputs_file}", "--verify-shard=3/2")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--shard 3/2: expected I/N with 1 <= I <= N*"])
