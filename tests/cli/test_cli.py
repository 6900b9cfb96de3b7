"""The `verify` console script as users and CI call it: exit codes, messages, reports, init, --suite."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from verify import __version__
from verify.config.settings import load_config

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "outputs"

HEALTHY = {
    "RawSensorTableName": "raw-sensor-data-dev",
    "ProcessedTableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/processed-data-dev",
    "IngestQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/ingest-queue-dev",
}
# Outputs checks only: the service suites ask AWS, and these tests are about the command itself.
ONLY_OUTPUTS = ("-k", "test_outputs")


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "PYTEST_", "GITHUB_")) and k != "COV_CORE_SOURCE"
    }
    # Should a check reach for AWS after all, it meets fake credentials and a closed local port, fast.
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
    )
    return env


def verify(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["verify", *args],
        cwd=tmp_path,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def summary_of(tmp_path: Path, report_dir: str = "reports") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((tmp_path / report_dir / "summary.json").read_text(encoding="utf-8"))
    return loaded


def assert_one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("verify: ")
    return lines[0]


# ---------------------------------------------------------------- discover


@pytest.mark.sandbox
@pytest.mark.parametrize("name", ["pipeline-flat.json", "pipeline-terraform.json", "platform-cdk-multi.json"])
def test_discover_json_matches_the_expected_inventory(tmp_path: Path, name: str) -> None:
    result = verify(tmp_path, "discover", "--outputs", str(FIXTURES / name), "--json", "--no-follow")
    assert result.returncode == 0, result.stderr
    expected = json.loads((FIXTURES / "expected" / name).read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == expected
    assert result.stderr == ""


@pytest.mark.sandbox
def test_discover_never_prints_a_sensitive_value(tmp_path: Path) -> None:
    source = FIXTURES / "pipeline-terraform.json"
    secret = json.loads(source.read_text(encoding="utf-8"))["db_password"]["value"]
    as_json = verify(tmp_path, "discover", "--outputs", str(source), "--json", "--no-follow")
    as_table = verify(tmp_path, "discover", "--outputs", str(source), "--no-follow")
    assert as_json.returncode == as_table.returncode == 0
    assert secret not in as_json.stdout + as_json.stderr
    assert secret not in as_table.stdout + as_table.stderr
    password = next(r for r in json.loads(as_json.stdout)["resources"] if r["key"] == "db_password")
    assert (password["value"], password["name"]) == ("***", "***")


@pytest.mark.sandbox
def test_discover_table_lists_keys_and_missing(tmp_path: Path) -> None:
    outputs = write_json(tmp_path / "out.json", {**HEALTHY, "AlertsTopicArn": "unknown"})
    result = verify(tmp_path, "discover", "--outputs", str(outputs), "--no-follow")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"region: us-east-1   source: {outputs}"
    assert lines[1].split() == ["KEY", "KIND", "ROLE", "NAME"]
    assert lines[2].split() == ["RawSensorTableName", "dynamodb_table", "raw", "raw-sensor-data-dev"]
    assert lines[-1] == 'missing: AlertsTopicArn is a placeholder ("unknown"): nothing to verify there'


@pytest.mark.sandbox
def test_discover_reads_the_outputs_path_from_config(tmp_path: Path) -> None:
    write_json(tmp_path / "deploy" / "outputs.json", HEALTHY)
    (tmp_path / "verify.toml").write_text('[outputs]\npath = "deploy/outputs.json"\n', encoding="utf-8")
    result = verify(tmp_path, "discover", "--json", "--no-follow")
    assert result.returncode == 0, result.stderr
    assert [r["key"] for r in json.loads(result.stdout)["resources"]] == list(HEALTHY)


@pytest.mark.sandbox
def test_missing_outputs_file_is_exit_2_with_how_to_produce_it(tmp_path: Path) -> None:
    result = verify(tmp_path, "discover")
    assert result.returncode == 2
    line = assert_one_sentence(result)
    assert "cfn-outputs/flat-outputs.json does not exist" in line
    assert "cdk deploy --outputs-file" in line
    assert "--stack NAME" in line
    assert result.stdout == ""


@pytest.mark.sandbox
def test_missing_outputs_file_for_run_writes_no_reports(tmp_path: Path) -> None:
    result = verify(tmp_path, "run", "--outputs", "nowhere.json")
    assert result.returncode == 2
    assert "nowhere.json does not exist" in assert_one_sentence(result)
    assert not (tmp_path / "reports").exists()


@pytest.mark.sandbox
def test_invalid_json_is_exit_2_with_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "out.json").write_text('{\n  "Key": "value",\n  "Other": \n}\n', encoding="utf-8")
    result = verify(tmp_path, "discover", "--outputs", "out.json")
    assert result.returncode == 2
    line = assert_one_sentence(result)
    assert line == "verify: Outputs file out.json is not valid JSON: Expecting value at line 4, column 1."


@pytest.mark.sandbox
def test_unknown_option_is_exit_2_with_usage(tmp_path: Path) -> None:
    result = verify(tmp_path, "run", "--outptus", "x.json")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: verify")
    assert "verify: error: unrecognized arguments: --outptus" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.sandbox
def test_unknown_command_is_exit_2(tmp_path: Path) -> None:
    result = verify(tmp_path, "verfiy")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: verify")
    assert "invalid choice: 'verfiy'" in result.stderr


@pytest.mark.sandbox
@pytest.mark.parametrize("command", ["discover", "run"])
def test_bad_config_is_exit_2_naming_file_and_line(tmp_path: Path, command: str) -> None:
    write_json(tmp_path / "out.json", HEALTHY)
    (tmp_path / "verify.toml").write_text("[expect]\npitr = true\nretention = 30\n", encoding="utf-8")
    result = verify(tmp_path, command, "--outputs", "out.json")
    assert result.returncode == 2
    line = assert_one_sentence(result)
    assert line.startswith(f"verify: {tmp_path / 'verify.toml'}, line 3: unknown key `retention` in [expect]")
    assert not (tmp_path / "reports").exists()


@pytest.mark.sandbox
def test_explicit_config_that_does_not_exist_is_exit_2(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", HEALTHY)
    result = verify(tmp_path, "discover", "--outputs", "out.json", "--config", "ci/verify.toml")
    assert result.returncode == 2
    assert "config file ci/verify.toml not found" in assert_one_sentence(result)


@pytest.mark.sandbox
def test_fault_without_sandbox_is_exit_2(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", HEALTHY)
    result = verify(tmp_path, "run", "--outputs", "out.json", "--fault", "processor_down")
    assert result.returncode == 2
    assert assert_one_sentence(result) == "verify: --fault only makes sense with --sandbox"


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("args", "said"),
    [
        # `verify run`'s own option: its `--stack` names a CloudFormation stack, and following a hint
        # that said `--stack pipeline` started both sandbox stacks with the option taken for that.
        (
            ("--sandbox-stack", "platform", "--fault", "processor_down"),
            "add `--sandbox-stack pipeline` or `--sandbox-stack both`",
        ),
        (("--fault", "no_such_fault"), "Unknown sandbox fault 'no_such_fault'"),
    ],
)
def test_a_sandbox_fault_refused_before_the_start_names_runs_own_option(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    result = verify(tmp_path, "run", "--sandbox", *args)
    assert result.returncode == 2
    # One sentence, and no "starting the sandbox" before it: nothing was started.
    assert said in assert_one_sentence(result)


@pytest.mark.sandbox
def test_version(tmp_path: Path) -> None:
    result = verify(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"verify {__version__}"


# ---------------------------------------------------------------- run


@pytest.mark.sandbox
def test_run_with_a_placeholder_fails(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", {**HEALTHY, "AlertsTopicArn": "N/A"})
    result = verify(tmp_path, "run", "--outputs", "out.json", *ONLY_OUTPUTS)
    assert result.returncode == 1, result.stdout + result.stderr
    summary = summary_of(tmp_path)
    assert summary["verdict"] == "fail"
    failed = [c for c in summary["checks"] if c["status"] == "failed"]
    assert [(c["id"], c["resource"], c["severity"]) for c in failed] == [
        ("suites/test_outputs.py::test_output_present[AlertsTopicArn]", "AlertsTopicArn", "blocking")
    ]
    assert failed[0]["message"].startswith(
        "output `AlertsTopicArn`: expected a value, got a placeholder ('N/A')"
    )
    for name in ("summary.md", "junit.xml"):
        assert (tmp_path / "reports" / name).is_file()
    assert (tmp_path / "reports" / "allure-results").is_dir()


@pytest.mark.sandbox
def test_run_on_healthy_outputs_passes(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", HEALTHY)
    result = verify(tmp_path, "run", "--outputs", "out.json", "--report-dir", "out/reports", *ONLY_OUTPUTS)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = summary_of(tmp_path, "out/reports")
    assert summary["verdict"] == "pass"
    assert summary["profile"] == "full"
    assert summary["stack"] == {"source": "out.json", "region": "us-east-1"}
    # One presence and one shape check per output.
    assert summary["counts"] == {"passed": 6, "failed": 0, "skipped": 0, "error": 0, "unverified": 0}
    assert {c["id"] for c in summary["checks"]} == {
        f"suites/test_outputs.py::{test}[{key}]"
        for test in ("test_output_present", "test_output_well_formed")
        for key in HEALTHY
    }


@pytest.mark.sandbox
def test_smoke_json_prints_the_summary_without_sensitive_values(tmp_path: Path) -> None:
    source = FIXTURES / "pipeline-terraform.json"
    secret = json.loads(source.read_text(encoding="utf-8"))["db_password"]["value"]
    result = verify(tmp_path, "smoke", "--outputs", str(source), "--json", *ONLY_OUTPUTS)
    assert result.returncode == 0, result.stdout + result.stderr
    printed = json.loads(result.stdout[result.stdout.index('{\n  "schema"') :])
    assert printed == summary_of(tmp_path)
    assert printed["profile"] == "smoke"
    assert printed["stack"]["region"] == "us-west-2"
    assert secret not in result.stdout + result.stderr
    written = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    assert {"summary.json", "summary.md", "junit.xml"} <= {p.name for p in written}
    for path in written:
        assert secret not in path.read_text(encoding="utf-8", errors="replace"), path


USER_CHECK = """
import pytest
from verify import CheckFailed


@pytest.mark.check("dynamodb", title="table {name} follows the naming rule")
@pytest.mark.resources("dynamodb_table")
def test_user_table_naming(resource, inventory, outputs):
    assert inventory.region == "us-east-1"
    assert outputs.get(resource.key) is not None
    if not resource.name.endswith("-dev"):
        raise CheckFailed(f"table {resource.name}: expected a -dev suffix", resource=resource.key)
"""


@pytest.mark.sandbox
def test_user_suite_runs_beside_the_shipped_suites(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", {**HEALTHY, "RawSensorTableName": "raw-sensor-data-prod"})
    (tmp_path / "checks").mkdir()
    # check_*.py is collected too: users' checks need not look like unit tests.
    (tmp_path / "checks" / "check_naming.py").write_text(USER_CHECK, encoding="utf-8")
    result = verify(
        tmp_path,
        *(
            "run",
            "--outputs",
            "out.json",
            "--suite",
            "checks/check_naming.py",
            "-k",
            "test_outputs or naming",
        ),
    )
    # The user's check decides the verdict like a shipped one: the raw table breaks the naming rule.
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {c["id"]: c for c in summary_of(tmp_path)["checks"]}
    mine = {k: v for k, v in checks.items() if k.startswith("checks/")}
    assert sorted(mine) == [
        "checks/check_naming.py::test_user_table_naming[ProcessedTableArn]",
        "checks/check_naming.py::test_user_table_naming[RawSensorTableName]",
    ]
    processed = mine["checks/check_naming.py::test_user_table_naming[ProcessedTableArn]"]
    assert (processed["status"], processed["title"], processed["service"]) == (
        "passed",
        "table processed-data-dev follows the naming rule",
        "dynamodb",
    )
    raw = mine["checks/check_naming.py::test_user_table_naming[RawSensorTableName]"]
    assert (raw["status"], raw["severity"], raw["message"]) == (
        "failed",
        "blocking",
        "table raw-sensor-data-prod: expected a -dev suffix",
    )
    shipped = [c for k, c in checks.items() if k.startswith("suites/test_outputs.py::")]
    assert [c["status"] for c in shipped] == ["passed"] * 6


@pytest.mark.sandbox
def test_error_verdict_is_exit_3_and_not_an_internal_error(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", HEALTHY)
    (tmp_path / "check_reach.py").write_text(
        "import pytest\n\n\n@pytest.mark.check('dynamodb')\ndef test_user_only_reach():\n"
        "    raise RuntimeError('endpoint unreachable')\n",
        encoding="utf-8",
    )
    result = verify(
        tmp_path,
        "run",
        "--outputs",
        "out.json",
        "--suite",
        "check_reach.py",
        "-k",
        "user_only_reach",
        "--json",
    )
    assert result.returncode == 3
    assert "internal error" not in result.stderr
    printed = json.loads(result.stdout[result.stdout.index('{\n  "schema"') :])
    assert printed["verdict"] == "error"
    assert [c["message"] for c in printed["checks"]] == [
        "could not verify: RuntimeError: endpoint unreachable"
    ]


@pytest.mark.sandbox
def test_internal_error_is_exit_3_and_says_so(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", HEALTHY)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "conftest.py").write_text(
        "def pytest_collection_finish(session):\n    raise RuntimeError('plugin bug')\n", encoding="utf-8"
    )
    (tmp_path / "mine" / "check_x.py").write_text("def test_x():\n    pass\n", encoding="utf-8")
    result = verify(tmp_path, "run", "--outputs", "out.json", "--suite", "mine")
    assert result.returncode == 3
    # Progress of a phase that took a second or more ("... followed (1.4 s)") may come first; the
    # only sentence that is not progress is the internal error's.
    said = [line for line in result.stderr.splitlines() if not re.search(r"\(\d+(\.\d+)? s\)$", line)]
    assert said == ["verify: the harness hit an internal error (see above); nothing was judged"]


@pytest.mark.sandbox
def test_missing_user_suite_is_exit_2(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", HEALTHY)
    result = verify(tmp_path, "run", "--outputs", "out.json", "--suite", "checks/nope.py")
    assert result.returncode == 2
    assert assert_one_sentence(result) == "verify: --suite checks/nope.py: no such file or directory"


# ---------------------------------------------------------------- init


@pytest.mark.sandbox
def test_init_writes_a_valid_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", {**HEALTHY, "Mystery": "thing-one"})
    result = verify(tmp_path, "init", "--outputs", "out.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote verify.toml")
    written = (tmp_path / "verify.toml").read_text(encoding="utf-8")
    assert "# Discovered from out.json (region us-east-1)." in written
    assert '# raw_table = "RawSensorTableName"' in written
    assert '# processed_table = "ProcessedTableArn"' in written
    assert '# "Mystery" = { kind = "dynamodb_table", role = "raw" }  # unknown now' in written
    config = load_config(None, cwd=tmp_path)
    assert config.outputs_path == "out.json"
    assert config.path == str(tmp_path / "verify.toml")

    (tmp_path / "verify.toml").write_text("# mine\n", encoding="utf-8")
    again = verify(tmp_path, "init", "--outputs", "out.json")
    assert again.returncode == 2
    assert assert_one_sentence(again) == (
        "verify: verify.toml already exists: edit it, or pass --force to overwrite it"
    )
    assert (tmp_path / "verify.toml").read_text(encoding="utf-8") == "# mine\n"

    forced = verify(tmp_path, "init", "--outputs", "out.json", "--force")
    assert forced.returncode == 0
    assert (tmp_path / "verify.toml").read_text(encoding="utf-8") == written

    # A run without --outputs finds the outputs through the written config.
    run = verify(tmp_path, "run", *ONLY_OUTPUTS)
    assert run.returncode == 0, run.stdout + run.stderr
    assert summary_of(tmp_path)["stack"]["source"] == "out.json"
