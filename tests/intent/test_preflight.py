"""`verify preflight` in process: a template asked about against moto, fronted with RDS's and
ElastiCache's catalogue answers where moto has none (tests/intent/preflight_answers.py).

Each check is shown failing on a template built to break it and passing on a healthy one; what moto
cannot answer is "could not verify" (an error, exit 3), never a pass; bad input is one sentence, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.intent.helpers import CDK_TEMPLATE, PLAN, YAML_TEMPLATE
from tests.intent.preflight_answers import answer_catalogues
from verify.cli.main import main

RDS_CHECK = "suites/preflight.py::test_rds_engine_version_offered[Database]"


def _preflight(tmp_path: Path, template: Path | str, *extra: str) -> tuple[int, dict[str, Any]]:
    reports = tmp_path / "reports"
    code = main(["preflight", "--template", str(template), "--report-dir", str(reports), *extra])
    summary = reports / "summary.json"
    return code, json.loads(summary.read_text()) if summary.is_file() else {}


def _by_id(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in summary["checks"]}


def _platform(tmp_path: Path, version: str) -> Path:
    path = tmp_path / f"platform-{version}.yaml"
    path.write_text(YAML_TEMPLATE.read_text().replace('EngineVersion: "15.3"', f'EngineVersion: "{version}"'))
    return path


@pytest.fixture
def catalogues(aws_mock: None, monkeypatch: pytest.MonkeyPatch) -> None:
    answer_catalogues(monkeypatch)


def test_unoffered_postgres_version_fails_naming_the_offered_15x(
    catalogues: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = _preflight(tmp_path, _platform(tmp_path, "15.3"))
    assert code == 1 and summary["verdict"] == "fail"
    check = _by_id(summary)[RDS_CHECK]
    assert check["status"] == "failed" and check["severity"] == "blocking"
    assert "PostgreSQL 15.3 is not offered in us-east-1; offered 15.x: 15.7, 15.8, 15.10" in check["message"]
    assert "declared `EngineVersion: 15.3`" in check["message"]
    # The class cannot be orderable for a version RDS does not offer: said, not a second failure.
    orderable = _by_id(summary)["suites/preflight.py::test_rds_instance_class_orderable[Database]"]
    assert orderable["status"] == "skipped" and "does not offer" in orderable["message"]
    # About a second: a handful of read calls, none waited for (the wall time, under a loaded CI,
    # is bounded in test_preflight_sandbox).
    calls = [c for check in summary["checks"] for c in check.get("evidence", {}).get("aws_calls", [])]
    assert 2 <= len(calls) <= 6, calls
    assert all(check["attempts"] == 1 for check in summary["checks"])
    assert summary["profile"] == "preflight" and summary["stack"]["source"].endswith("platform-15.3.yaml")
    reports = tmp_path / "reports"
    assert (reports / "junit.xml").is_file() and any((reports / "allure-results").iterdir())
    assert "offered 15.x: 15.7, 15.8, 15.10" in capsys.readouterr().out


def test_the_same_template_with_an_offered_version_passes(catalogues: None, tmp_path: Path) -> None:
    code, summary = _preflight(tmp_path, _platform(tmp_path, "15.10"))
    statuses = {c["id"]: c["status"] for c in summary["checks"]}
    assert code == 0 and summary["verdict"] == "pass", statuses
    assert set(statuses.values()) == {"passed"}
    assert statuses[RDS_CHECK] == "passed"
    assert "suites/preflight.py::test_cache_engine_version_offered[Cache]" in statuses
    assert "suites/preflight.py::test_names_fit_aws_rules" in statuses


CACHE_ONLY = """\
Resources:
  Cache:
    Type: AWS::ElastiCache::ReplicationGroup
    Properties:
      ReplicationGroupId: platform-cache
      ReplicationGroupDescription: cache
      Engine: redis
      EngineVersion: "7.1"
      CacheNodeType: cache.t3.micro
"""


def test_moto_alone_cannot_answer_so_it_is_could_not_verify(aws_mock: None, tmp_path: Path) -> None:
    # moto lacks DescribeCacheEngineVersions (RDS's unanswered questions are the same path, shown with
    # a client that raises as moto does in test_preflight_checks: moto's RDS backend takes ~9 s to build).
    template = tmp_path / "cache.yaml"
    template.write_text(CACHE_ONLY)
    code, summary = _preflight(tmp_path, template)
    cache = _by_id(summary)["suites/preflight.py::test_cache_engine_version_offered[Cache]"]
    assert code == 3 and summary["verdict"] == "error"
    assert cache["status"] == "error" and "does not answer DescribeCacheEngineVersions" in cache["message"]


def test_a_terraform_plan_is_asked_too(catalogues: None, tmp_path: Path) -> None:
    code, summary = _preflight(tmp_path, PLAN)
    failed = [c for c in summary["checks"] if c["status"] == "failed"]
    assert code == 1
    assert [c["id"] for c in failed] == [
        "suites/preflight.py::test_rds_engine_version_offered[module.data.aws_db_instance.main]"
    ]
    assert "offered 15.x: 15.7, 15.8, 15.10" in failed[0]["message"]


def test_a_cdk_template_found_beside_the_outputs(
    catalogues: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CDK_TEMPLATE.parents[1])  # cdk.out/ beside cfn-outputs/flat-outputs.json
    code = main(["preflight", "--report-dir", str(tmp_path / "reports")])
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["stack"]["source"] == "cdk.out/TapStack.template.json"
    assert code == 0, [(c["id"], c["message"]) for c in summary["checks"] if c["status"] != "passed"]
    assert any("test_lambda_runtime_not_deprecated" in c["id"] for c in summary["checks"])


# ---------------------------------------------------------------- bad input: one sentence, exit 2


def test_a_missing_template_is_one_sentence_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = _preflight(tmp_path, tmp_path / "nope.yaml")
    err = capsys.readouterr().err.strip()
    assert code == 2 and summary == {}
    assert err.count("\n") == 0 and "nope.yaml does not exist" in err and "Traceback" not in err


def test_an_unreadable_template_is_one_sentence_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  Db:\n    Type: AWS::RDS::DBInstance\n    Properties: [unclosed\n")
    code, _ = _preflight(tmp_path, broken)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "broken.yaml" in err and err.count("\n") == 0 and "Traceback" not in err


def test_no_template_beside_the_outputs_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["preflight", "--report-dir", str(tmp_path / "reports")])
    assert code == 2 and "pass --template PATH" in capsys.readouterr().err


def test_help_states_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["preflight", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for default in (
        "(default: reports)",
        "cfn-outputs/flat-outputs.json",
        "(default: AWS_REGION",
        "(default: off)",
    ):
        assert default in shown
