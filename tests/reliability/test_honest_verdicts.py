"""Honest verdicts: no exception inside a check, whatever its type and wherever it is raised (the
check, a fixture's setup or teardown, a probe through `aws_errors`), becomes a pass; a run where
nothing passed (empty, or everything skipped) is `error` (exit 3), and a missing outputs file is
exit 2 with no report at all, never "all skipped, green"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import clean_env, run_verify, summary

OUTPUTS = {"RawSensorTableName": "raw-sensor-data-dev", "Region": "us-east-1"}

RAISERS = {
    "exception": "raise Exception('boom')",
    "runtime_error": "raise RuntimeError('boom')",
    "key_error": "raise KeyError('Table')",
    "type_error": "None + 1",
    "verify_error": "raise VerifyError('could not look')",
    "aws_access_error": "raise AwsAccessError('access denied: dynamodb:DescribeTable')",
    "usage_error": "raise UsageError('bad input')",
    "client_error": (
        "raise ClientError({'Error': {'Code': 'AccessDeniedException', 'Message': 'no'}}, 'DescribeTable')"
    ),
    "client_error_through_aws_errors": (
        "with aws_errors('dynamodb', 'DescribeTable', 't'):\n"
        "        raise ClientError({'Error': {'Code': 'InternalError', 'Message': 'x'},"
        " 'ResponseMetadata': {'HTTPStatusCode': 500}}, 'DescribeTable')"
    ),
    "botocore_error": "raise EndpointConnectionError(endpoint_url='http://x')",
    "system_exit_0": "raise SystemExit(0)",
    "system_exit_1": "raise SystemExit(1)",
    "assertion": "assert False, 'plain assert'",
    "check_failed": "raise CheckFailed('expected ACTIVE, got CREATING')",
    "recursion": "def f(): return f()\n    f()",
    "memory_error": "raise MemoryError()",
}
FAILED = {"assertion", "check_failed"}  # the stack is wrong: failed; everything else: could not verify

SUITE = """
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from verify.aws import aws_errors
from verify.errors import AwsAccessError, CheckFailed, UsageError, VerifyError


@pytest.fixture
def broken_setup():
    raise RuntimeError('fixture setup broke')


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError('fixture teardown broke')


@pytest.mark.check('dynamodb')
def test_raises_in_setup(broken_setup):
    pass


@pytest.mark.check('dynamodb')
def test_raises_in_teardown(broken_teardown):
    pass
"""


def _suite(tmp_path: Path) -> Path:
    text = SUITE + "".join(
        f"\n\n@pytest.mark.check('dynamodb')\ndef test_raises_{name}():\n    {body}\n"
        for name, body in RAISERS.items()
    )
    path = tmp_path / "checks" / "check_raises.py"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    (tmp_path / "outputs.json").write_text(json.dumps(OUTPUTS), encoding="utf-8")
    return path


@pytest.mark.sandbox
def test_no_exception_inside_a_check_becomes_a_pass(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    proc = run_verify(
        "run", "--outputs=outputs.json", f"--suite={suite}", "-k", "raises", cwd=tmp_path, env=clean_env()
    )
    result = summary(tmp_path / "reports")
    statuses = {c["id"].split("::")[-1]: c["status"] for c in result["checks"]}
    expected = {f"test_raises_{name}": "failed" if name in FAILED else "error" for name in RAISERS}
    expected["test_raises_in_setup"] = "error"
    assert {k: v for k, v in statuses.items() if k in expected} == expected
    # Teardown broke after the check itself passed: the check is reported, and the break is not hidden.
    teardown = [c for c in result["checks"] if "test_raises_in_teardown" in c["id"]]
    assert teardown and any(c["status"] == "error" for c in teardown), teardown
    assert result["verdict"] == "fail" and proc.returncode == 1
    for check in result["checks"]:
        if check["status"] == "error":
            assert check["message"].strip(), check  # an error always says why
    # An exception that is no verdict and no "could not verify" of ours is a bug in the check (or in
    # verify): its evidence says where it was raised, innermost frame last, path as imported.
    by_name = {c["id"].split("::")[-1]: c for c in result["checks"]}
    for name in ("runtime_error", "key_error", "type_error", "exception"):
        where = by_name[f"test_raises_{name}"]["evidence"]["raised_at"]
        assert where[-1].startswith("check_raises.py:") and where[-1].endswith(f" in test_raises_{name}"), (
            where
        )
    for name in ("verify_error", "aws_access_error", "check_failed", "assertion"):
        assert "raised_at" not in by_name[f"test_raises_{name}"].get("evidence", {}), name


@pytest.mark.sandbox
@pytest.mark.parametrize("name", ["exception", "system_exit_0", "aws_access_error"])
def test_a_run_whose_only_check_errs_is_exit_3(tmp_path: Path, name: str) -> None:
    suite = _suite(tmp_path)
    proc = run_verify(
        "run",
        "--outputs=outputs.json",
        f"--suite={suite}",
        "-k",
        f"test_raises_{name}",
        cwd=tmp_path,
        env=clean_env(),
    )
    assert proc.returncode == 3, proc.stdout[-1500:] + proc.stderr
    assert summary(tmp_path / "reports")["verdict"] == "error"


@pytest.mark.sandbox
def test_a_run_where_everything_is_skipped_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "checks" / "check_skips.py"
    path.parent.mkdir()
    path.write_text(
        "import pytest\n\n\n@pytest.mark.check('dynamodb')\ndef test_skips_a():\n"
        "    pytest.skip('not applicable here')\n\n\n@pytest.mark.check('sqs')\n"
        "@pytest.mark.skip(reason='not applicable either')\ndef test_skips_b():\n    pass\n",
        encoding="utf-8",
    )
    (tmp_path / "outputs.json").write_text(json.dumps(OUTPUTS), encoding="utf-8")
    proc = run_verify(
        "run", "--outputs=outputs.json", f"--suite={path}", "-k", "skips", cwd=tmp_path, env=clean_env()
    )
    result = summary(tmp_path / "reports")
    assert result["counts"]["skipped"] == 2 and result["counts"]["passed"] == 0
    assert result["verdict"] == "error" and proc.returncode == 3


@pytest.mark.sandbox
def test_a_run_that_selects_nothing_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(OUTPUTS), encoding="utf-8")
    proc = run_verify(
        "run", "--outputs=outputs.json", "-k", "no_check_is_called_this", cwd=tmp_path, env=clean_env()
    )
    assert proc.returncode == 3, proc.stderr
    result = summary(tmp_path / "reports")
    assert result["verdict"] == "error" and result["checks"] == []
    assert any("nothing was verified" in note for note in result.get("notes", [])), result.get("notes")


@pytest.mark.sandbox
@pytest.mark.parametrize("command", ["run", "smoke"])
def test_a_missing_outputs_file_is_exit_2_and_no_report(tmp_path: Path, command: str) -> None:
    proc = run_verify(command, cwd=tmp_path, env=clean_env())  # the default cfn-outputs/flat-outputs.json
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "flat-outputs.json" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists()
