"""A policy naming a check that does not exist is exit 2 with the nearest check (issue 18): before,
a typo in blocking_checks or a waiver blocked or waived nothing, silently."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from verify.cli.main import main
from verify.config.settings import Policy, Waiver, check_policy_names
from verify.engine.spec import shipped_checks
from verify.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [c.id for c in shipped_checks()]


def _refused(policy: Policy) -> str:
    with pytest.raises(ConfigError) as caught:
        check_policy_names(policy, SHIPPED, "verify.toml")
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_a_misspelt_blocking_check_names_the_nearest_one() -> None:
    message = _refused(Policy(blocking_checks=frozenset({"suites/test_dynamodb.py::test_pitr_enabled"})))
    assert "verify.toml" in message and "blocking_checks" in message
    assert "did you mean `suites/test_dynamodb.py::test_pitr`?" in message


def test_advisory_checks_and_waivers_are_checked_too() -> None:
    message = _refused(Policy(advisory_checks=frozenset({"suites/test_flow.py::test_logs_carry_markers"})))
    assert "`suites/test_flow.py::test_logs_carry_marker`" in message
    waiver = Waiver(check="suites/test_lambda.py::test_runtime_suported*", reason="r")
    message = _refused(Policy(waivers=(waiver,)))
    assert "waivers" in message and "`suites/test_lambda.py::test_runtime_supported`" in message


def test_known_names_pass_with_parameters_and_prefixes() -> None:
    policy = Policy(
        blocking_checks=frozenset({"suites/test_dynamodb.py::test_pitr[RawSensorTableName]"}),
        advisory_checks=frozenset({"suites/test_flow.py::test_logs_carry_marker"}),
        waivers=(Waiver(check="suites/test_lambda.py::test_runtime*", reason="r"),),
    )
    check_policy_names(policy, SHIPPED, "verify.toml")  # no error
    check_policy_names(Policy(), SHIPPED, "verify.toml")  # the default names no check


def test_every_check_id_the_docs_name_exists() -> None:
    # The docs' own example once named `test_pitr_enabled`, which never existed.
    texts = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), REPO / "verify/config/initfile.py"]
    named = {
        (path.name, match.group(0))
        for path in texts
        for match in re.finditer(r"suites/test_\w+\.py::test_\w+\*?", path.read_text(encoding="utf-8"))
    }
    assert len(named) >= 5
    bases = {i.split("[")[0] for i in SHIPPED}
    unknown = sorted(
        (name, check)
        for name, check in named
        if not (any(b.startswith(check[:-1]) for b in bases) if check.endswith("*") else check in bases)
    )
    assert unknown == []


def test_run_refuses_the_policy_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outputs = tmp_path / "flat.json"
    outputs.write_text(json.dumps({"RawSensorTableName": "raw-sensor-data-dev"}), encoding="utf-8")
    policy = tmp_path / "gate.toml"
    policy.write_text('[policy]\nblocking_checks = ["suites/test_dynamodb.py::test_pitr_enabled"]\n', "utf-8")
    reports = tmp_path / "reports"
    argv = ["run", "--outputs", str(outputs), "--policy", str(policy), "--report-dir", str(reports)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gate.toml" in err and "suites/test_dynamodb.py::test_pitr`?" in err
    assert not (reports / "summary.json").exists()


def test_the_plugin_refuses_it_too(pytester: pytest.Pytester) -> None:
    outputs = pytester.path / "outputs.json"
    outputs.write_text(json.dumps({"RawSensorTableName": "raw-sensor-data-dev"}), encoding="utf-8")
    pytester.makepyfile(
        test_mine="""
        import pytest

        @pytest.mark.check("sqs")
        def test_queue_depth():
            pass
        """
    )
    policy = pytester.path / "gate.toml"
    policy.write_text('[policy]\nblocking_checks = ["test_mine.py::test_queue_dept"]\n', encoding="utf-8")
    common = (
        f"--verify-outputs={outputs}",
        f"--verify-report-dir={pytester.path / 'r'}",
        "-p",
        "no:cacheprovider",
    )
    result = pytester.runpytest(*common, f"--verify-policy={policy}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*blocking_checks names `test_mine.py::test_queue_dept`*did you mean `test_mine.py::test_queue_depth`?*"
        ]
    )
    policy.write_text('[policy]\nblocking_checks = ["test_mine.py::test_queue_depth"]\n', encoding="utf-8")
    assert pytester.runpytest(*common, f"--verify-policy={policy}").ret == 0
