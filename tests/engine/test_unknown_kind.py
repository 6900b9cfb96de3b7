"""A misspelt kind in a check's resources mark stops the run with one sentence naming the check and
the kind (exit 2), through the engine's runner and through pytest alike: never a silent "the outputs
name no ..." skip on every stack, never a traceback."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import clean_env, verify_command
from tests.helpers.engine import engine_session
from verify import mark
from verify.engine import plan as plan_module
from verify.engine.session import VerifySession
from verify.engine.spec import ShippedCheck, closest_marks
from verify.errors import UsageError
from verify.marks import Mark

OUTPUTS = Path(__file__).resolve().parents[2] / "fixtures" / "outputs" / "pipeline-flat.json"
# What verify.report.progress.step_printer prints when a phase took longer than a second.
PROGRESS_STEP = re.compile(r"verify: .+ \(\d+(\.\d+)? s\)")
TYPO = "check suites/test_orders.py::test_orders: its resources mark names an unknown resource kind 'dynamodb_tabel' (did you mean `dynamodb_table`?)"


def _session(tmp_path: Path) -> VerifySession:
    return engine_session(tmp_path, OUTPUTS, region=None)


@mark.check("dynamodb", title="orders table {name}")
@mark.resources("dynamodb_tabel")
def _misspelt(resource: object) -> None:
    """Never runs: its plan stops first."""


def _typo_checks() -> Iterator[ShippedCheck]:
    yield ShippedCheck("test_orders.py", "test_orders", _misspelt, closest_marks(object(), _misspelt))


def test_parameter_sets_name_the_check_and_the_misspelt_kind(tmp_path: Path) -> None:
    session = _session(tmp_path)
    resources = Mark("resources", ("dynamodb_tabel",))
    with pytest.raises(UsageError) as raised:
        plan_module.parameter_sets(session, {"resource"}, resources, "suites/test_orders.py::test_orders")
    assert str(raised.value).startswith(TYPO)
    # A known kind the outputs do not name: the check is not planned (no "(none)" row), never an error.
    sets = plan_module.parameter_sets(session, {"resource"}, Mark("resources", ("vpc",)), "c")
    assert sets == []


def test_the_runner_s_plan_stops_on_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_module, "shipped_checks", _typo_checks)
    with pytest.raises(UsageError) as raised:
        plan_module.plan(_session(tmp_path))
    assert str(raised.value).startswith(TYPO)


def test_verify_run_says_it_in_one_sentence_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from verify.cli.main import main

    monkeypatch.setattr(plan_module, "shipped_checks", _typo_checks)
    monkeypatch.chdir(tmp_path)
    code = main(["run", f"--outputs={OUTPUTS}", f"--report-dir={tmp_path / 'reports'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"verify: {TYPO}") and err.count("\n") == 1, err
    assert not (tmp_path / "reports").exists()  # nothing was verified, so nothing is reported


@pytest.mark.sandbox
def test_a_users_suite_through_pytest_says_it_in_one_sentence_and_exits_2(tmp_path: Path) -> None:
    suite = tmp_path / "test_orders.py"
    suite.write_text(
        "import pytest\n\n\n"
        '@pytest.mark.check("dynamodb", title="orders table {name}")\n'
        '@pytest.mark.resources("dynamodb_tabel")\n'
        "def test_orders(resource):\n"
        "    pass\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        verify_command("run", f"--suite={suite}", f"--outputs={OUTPUTS}", "--report-dir=reports"),
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    # A user's --suite run loads the plugins installed beside it (their checks may need them); a
    # plugin's own warning (CI's interpreter has pytest-benchmark) is not verify's sentence. Nor is
    # the progress line a phase slower than a second prints (a loaded machine's discovery).
    lines = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and "Warning" not in line and not PROGRESS_STEP.fullmatch(line)
    ]
    assert len(lines) == 1, done.stderr
    assert "test_orders.py::test_orders: its resources mark names an unknown resource kind" in lines[0]
    assert "did you mean `dynamodb_table`?" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "reports").exists()
