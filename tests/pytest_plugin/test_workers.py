"""--workers (issue 18): a group's checks stay on one worker and give the verdict of one process;
ids carry no `@group`; the shipped suites alone run in one process (workers only add start-up)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from verify.cli.main import _direct_eligible, build_parser, build_pytest_args

OUTPUTS = {"RawSensorTableName": "raw-sensor-data-dev", "ProcessedTableName": "processed-data-dev"}

# Each later step needs what the steps before it left in this process: split across workers, a step
# meets an empty `SEEN` and fails -- as the flow's steps said "the ingest step did not run".
GROUPED = """
import os
import pytest

SEEN = []
pytestmark = [pytest.mark.xdist_group("chain")]


@pytest.mark.check("flow", title="step 0")
def test_step_0():
    SEEN.append(os.getpid())


@pytest.mark.parametrize("n", range(1, 8))
@pytest.mark.check("flow", title="step {n}")
def test_step(n):
    assert len(SEEN) == n and set(SEEN) == {os.getpid()}, f"step {n} saw {SEEN}"
    SEEN.append(os.getpid())


@pytest.mark.parametrize("n", range(6))
@pytest.mark.check("sqs", title="free {n}")
def test_free(n):
    pass
"""


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", *argv])


def test_workers_keep_groups_together_in_the_pytest_arguments() -> None:
    args = build_pytest_args(_args("--workers", "3", "--suite", "mine"), "outputs.json")
    at = args.index("-n")
    assert args[at : at + 4] == ["-n", "3", "--dist", "loadgroup"]
    assert "-n" not in build_pytest_args(_args("--suite", "mine"), "outputs.json")


def test_the_shipped_suites_with_workers_run_in_one_process() -> None:
    # Their checks already run concurrently there; a --suite's checks (or a shard) go to pytest.
    assert _direct_eligible(_args("--workers", "2"))
    assert not _direct_eligible(_args("--workers", "2", "--suite", "mine"))
    assert not _direct_eligible(_args("--workers", "2", "--shard", "1/2"))


def test_workers_help_states_its_default() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    help_text = sub.choices["run"].format_help()
    assert "default: one process" in " ".join(help_text.split())


@pytest.mark.sandbox
@pytest.mark.parametrize("workers", ["3"])
def test_a_group_stays_on_one_worker_with_the_verdict_of_one_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    outputs = pytester.path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS), encoding="utf-8")
    pytester.makepyfile(test_chain=GROUPED)
    report_dir = pytester.path / "reports"
    common = (f"--verify-outputs={outputs}", f"--verify-report-dir={report_dir}", "-p", "no:cacheprovider")
    single = pytester.runpytest_subprocess(*common)
    assert single.ret == 0, single.stdout.str()
    one = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    result = pytester.runpytest_subprocess(*common, "-p", "xdist", "-n", workers, "--dist", "loadgroup")
    assert result.ret == 0, result.stdout.str()
    many = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert many["verdict"] == one["verdict"] == "pass"
    assert (
        many["counts"]
        == one["counts"]
        == {
            "passed": 14,
            "failed": 0,
            "skipped": 0,
            "error": 0,
            "unverified": 0,
        }
    )
    # The same ids as one process gives (no `@chain` from xdist's grouping), so waivers still match.
    assert sorted(c["id"] for c in many["checks"]) == sorted(c["id"] for c in one["checks"])
    assert not any("@" in c["id"] for c in many["checks"])


@pytest.mark.sandbox
def test_without_grouping_the_chain_breaks(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fault the grouping prevents, built on purpose: `--dist load` spreads the chain's steps.
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    outputs = pytester.path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS), encoding="utf-8")
    pytester.makepyfile(test_chain=GROUPED)
    report_dir = pytester.path / "reports"
    result = pytester.runpytest_subprocess(
        f"--verify-outputs={outputs}",
        f"--verify-report-dir={report_dir}",
        "-p",
        "no:cacheprovider",
        "-p",
        "xdist",
        "-n",
        "4",
        "--dist",
        "load",
    )
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert result.ret == 1 and summary["counts"]["failed"] > 0, result.stdout.str()


def test_shipped_module_unit_and_group_names(pytester: pytest.Pytester) -> None:
    from verify.engine.spec import suites_dir
    from verify.pytest_plugin.results import worker_unit_of, xdist_group_of

    class _Item:
        def __init__(self, path: Path, marks: list[pytest.Mark]) -> None:
            self.path = path
            self._marks = marks

        def iter_markers(self, name: str) -> list[pytest.Mark]:
            return [m for m in self._marks if m.name == name]

    two = [pytest.mark.xdist_group("b").mark, pytest.mark.xdist_group(name="a").mark]
    assert xdist_group_of(_Item(Path("x.py"), two)) == "a_b"  # type: ignore[arg-type]
    shipped = _Item(suites_dir() / "test_sqs.py", [])
    assert worker_unit_of(shipped) == "verify-test_sqs"  # type: ignore[arg-type]
    assert worker_unit_of(_Item(pytester.path / "test_mine.py", [])) is None  # type: ignore[arg-type]
