"""verify.toml / [tool.verify] loading, validation messages, and the policy's severity rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from verify.config.settings import Config, Expectations, FlowConfig, Policy, Waiver, load_config
from verify.errors import ConfigError, UsageError
from verify.model import Severity

TODAY = dt.date(2026, 6, 1)


def write(tmp_path: Path, text: str, name: str = "verify.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str, name: str = "verify.toml") -> str:
    path = write(tmp_path, text, name)
    with pytest.raises(ConfigError) as excinfo:
        load_config(None, cwd=tmp_path)
    message = str(excinfo.value)
    assert str(path) in message
    return message


# ---------------------------------------------------------------- finding the file


def test_defaults_when_no_file(tmp_path: Path) -> None:
    config = load_config(None, cwd=tmp_path)
    assert config == Config()
    assert config.path is None
    assert config.outputs_path is None
    assert config.flow == FlowConfig()
    assert config.expect.pitr is True
    assert config.policy.blocking_categories == frozenset({"functional"})
    assert config.smoke.safe_paths == ("query", "health")


def test_verify_toml_in_cwd_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[outputs]\npath = "out/flat.json"\n\n[expect]\npitr = false\nlog_retention_days = 30\n'
        '\n[smoke]\nsafe_paths = ["query", "health"]\n',
    )
    config = load_config(None, cwd=tmp_path)
    assert config.path == str(path)
    assert config.outputs_path == "out/flat.json"
    assert config.expect == Expectations(pitr=False, log_retention_days=30)
    assert config.smoke.safe_paths == ("query", "health")


def test_verify_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "[tool.verify.expect]\npitr = false\n", "pyproject.toml")
    write(tmp_path, "[expect]\nsse = false\n")
    config = load_config(None, cwd=tmp_path)
    assert config.expect.sse is False
    assert config.expect.pitr is True


def test_tool_verify_in_pyproject(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[project]\nname = "x"\n\n[tool.verify.flow]\nmethod = "PUT"\nquery_param = "deviceId"\n'
        '\n[tool.verify.policy]\nblocking_services = ["rds"]\n',
        "pyproject.toml",
    )
    config = load_config(None, cwd=tmp_path)
    assert config.path == str(path)
    assert config.flow.method == "PUT"
    assert config.flow.query_param == "deviceId"
    assert config.policy.blocking_services == frozenset({"rds"})


def test_pyproject_without_our_table_means_defaults(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 100\n', "pyproject.toml")
    assert load_config(None, cwd=tmp_path) == Config()


def test_someone_elses_broken_pyproject_is_not_our_error(tmp_path: Path) -> None:
    write(tmp_path, "[project\nname = ", "pyproject.toml")
    assert load_config(None, cwd=tmp_path) == Config()


def test_explicit_path_is_used_instead_of_cwd(tmp_path: Path) -> None:
    write(tmp_path, "[expect]\npitr = false\n")
    other = write(tmp_path, "[expect]\nsse = false\n", "other.toml")
    config = load_config(str(other), cwd=tmp_path)
    assert config.path == str(other)
    assert (config.expect.pitr, config.expect.sse) == (True, False)


def test_explicit_pyproject_path_reads_its_tool_verify_table(tmp_path: Path) -> None:
    sub = tmp_path / "svc"
    sub.mkdir()
    path = write(sub, '[project]\nname = "svc"\n\n[tool.verify.outputs]\npath = "o.json"\n', "pyproject.toml")
    assert load_config(str(path), cwd=tmp_path).outputs_path == "o.json"


def test_tool_verify_that_is_not_a_table(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[tool]\nverify = "yes"\n', "pyproject.toml")
    assert message.endswith("[tool.verify] must be a table")


def test_explicit_missing_path_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as excinfo:
        load_config(str(missing), cwd=tmp_path)
    assert isinstance(excinfo.value, UsageError)
    assert excinfo.value.exit_code == 2
    assert str(missing) in str(excinfo.value)
    assert "--config" in str(excinfo.value)


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[expect]\npitr = true\nsse = = 3\n")
    assert "not valid TOML" in message
    assert "line 3" in message


def test_flow_payload_table_becomes_json_text(tmp_path: Path) -> None:
    write(tmp_path, '[flow.payload]\nsensorId = "{marker}"\ntemperature = 21.5\n')
    config = load_config(None, cwd=tmp_path)
    assert config.flow.payload == '{"sensorId": "{marker}", "temperature": 21.5}'


# ---------------------------------------------------------------- validation messages


def test_unknown_table_names_file_and_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[expect]\npitr = true\n\n[polcy]\nmax_errors = 1\n")
    assert "line 4" in message
    assert "unknown table `polcy`" in message


def test_unknown_table_in_pyproject_names_file_and_line(tmp_path: Path) -> None:
    message = config_error(
        tmp_path, '[project]\nname = "x"\n\n[tool.verify.polcy]\nx = 1\n', "pyproject.toml"
    )
    assert "unknown table `polcy`" in message
    assert "line 4" in message


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[expect]\npitr = true\nsse = true\nmulti_azz = false\n")
    assert "line 4" in message
    assert "unknown key `multi_azz` in [expect]" in message


def test_unknown_key_line_is_the_one_in_its_table(tmp_path: Path) -> None:
    # `path` is a valid key of [outputs] on line 2; the mistake is the one under [expect] on line 5.
    message = config_error(tmp_path, '[outputs]\npath = "a.json"\n\n[expect]\npath = "b.json"\n')
    assert "unknown key `path` in [expect]" in message
    assert "line 5" in message


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('[expect]\npitr = "yes"\n', 2, "`expect.pitr` must be true/false, got a string"),
        (
            "[expect]\nsse = true\nlog_retention_days = true\n",
            3,
            "`expect.log_retention_days` must be an integer, got true/false",
        ),
        (
            "[policy]\nmax_flow_latency_s = true\n",
            2,
            "`policy.max_flow_latency_s` must be an integer or a number, got true/false",
        ),
        ("[policy]\nmax_errors = 1.5\n", 2, "`policy.max_errors` must be an integer, got a number"),
        ('[smoke]\nsafe_paths = "query"\n', 2, "`smoke.safe_paths` must be a list, got a string"),
        ("[smoke]\nsafe_paths = [1, 2]\n", 2, "`smoke.safe_paths` must be a list of strings"),
        ("[outputs]\npath = 3\n", 2, "`outputs.path` must be a string, got an integer"),
    ],
)
def test_wrong_type_names_file_line_and_expected_type(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    message = config_error(tmp_path, text)
    assert f"line {line}" in message
    assert problem in message


def test_processed_max_age_accepts_an_integer(tmp_path: Path) -> None:
    write(tmp_path, "[expect]\nprocessed_max_age_s = 600\n")
    assert load_config(None, cwd=tmp_path).expect.processed_max_age_s == 600


def test_table_given_as_a_value_is_rejected(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'expect = "strict"\n')
    assert "`expect` must be a table" in message
    assert "line 1" in message


# ---------------------------------------------------------------- aliases


def test_aliases_are_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[aliases]\nMainStore = { kind = "dynamodb_table", role = "raw" }\n'
        '"Odd Key" = { kind = "sqs_queue", name = "jobs" }\n',
    )
    config = load_config(None, cwd=tmp_path)
    assert dict(config.aliases) == {
        "MainStore": {"kind": "dynamodb_table", "role": "raw"},
        "Odd Key": {"kind": "sqs_queue", "name": "jobs"},
    }


def test_alias_with_unknown_kind(tmp_path: Path) -> None:
    message = config_error(
        tmp_path, '[aliases]\nA = { kind = "sqs_queue" }\nMainStore = { kind = "dynamo" }\n'
    )
    assert "line 3" in message
    assert "alias `MainStore`: unknown kind `dynamo`" in message
    assert "dynamodb_table" in message  # the known kinds are listed


def test_alias_with_unknown_role(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[aliases]\nMainStore = { kind = "dynamodb_table", role = "primary" }\n')
    assert "line 2" in message
    assert "unknown role `primary`" in message


def test_alias_with_unknown_field(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[aliases]\nMainStore = { type = "dynamodb_table" }\n')
    assert "unknown field `type`" in message
    assert "line 2" in message


def test_alias_that_is_not_a_table(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[aliases]\nMainStore = "dynamodb_table"\n')
    assert "alias `MainStore` must be a table" in message


# ---------------------------------------------------------------- waivers and policy


def test_waiver_expiry_as_toml_date_and_as_string(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[policy.waivers]]\ncheck = "suites/a.py::test_one"\nreason = "OPS-1"\nexpires = 2026-12-31\n\n'
        '[[policy.waivers]]\ncheck = "suites/a.py::test_two"\nreason = "OPS-2"\nexpires = "2027-01-15"\n\n'
        '[[policy.waivers]]\ncheck = "suites/a.py::test_three"\nreason = "OPS-3"\n',
    )
    waivers = load_config(None, cwd=tmp_path).policy.waivers
    assert waivers == (
        Waiver("suites/a.py::test_one", "OPS-1", dt.date(2026, 12, 31)),
        Waiver("suites/a.py::test_two", "OPS-2", dt.date(2027, 1, 15)),
        Waiver("suites/a.py::test_three", "OPS-3", None),
    )


def test_waiver_expiry_datetime_becomes_a_date(tmp_path: Path) -> None:
    write(tmp_path, '[[policy.waivers]]\ncheck = "x"\nreason = "r"\nexpires = 2026-12-31T10:00:00\n')
    (waiver,) = load_config(None, cwd=tmp_path).policy.waivers
    assert waiver.expires == dt.date(2026, 12, 31)
    assert type(waiver.expires) is dt.date


def test_waiver_expiry_that_is_not_a_date(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[[policy.waivers]]\ncheck = "x"\nreason = "r"\nexpires = "end of Q3"\n')
    assert "line 4" in message
    assert "waiver expiry `end of Q3` is not a date (YYYY-MM-DD)" in message


def test_waiver_needs_a_reason(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[[policy.waivers]]\ncheck = "x"\nreason = ""\n')
    assert "a waiver needs `check` and a non-empty `reason`" in message


def test_waiver_with_unknown_key(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[[policy.waivers]]\ncheck = "x"\nreason = "r"\nuntil = "2026-01-01"\n')
    assert "unknown key `until` in a waiver" in message
    assert "line 4" in message


def test_unknown_blocking_category(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[policy]\nblocking_categories = ["functional", "security"]\n')
    assert "unknown category `security`" in message
    assert "line 2" in message


def test_expired_waiver_no_longer_makes_a_check_advisory(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[policy.waivers]]\ncheck = "suites/test_api.py::test_auth[Api]"\nreason = "OPS-9"\n'
        'expires = "2026-05-31"\n',
    )
    policy = load_config(None, cwd=tmp_path).policy
    check_id = "suites/test_api.py::test_auth[Api]"
    assert (
        policy.severity(check_id, "apigateway", "functional", today=dt.date(2026, 5, 31)) is Severity.ADVISORY
    )
    assert (
        policy.severity(check_id, "apigateway", "functional", today=dt.date(2026, 6, 1)) is Severity.BLOCKING
    )


def test_prefix_waiver_covers_every_parametrization(tmp_path: Path) -> None:
    write(tmp_path, '[[policy.waivers]]\ncheck = "suites/x.py::test_y*"\nreason = "OPS-4"\n')
    policy = load_config(None, cwd=tmp_path).policy
    for check_id in ("suites/x.py::test_y[A]", "suites/x.py::test_y[B]", "suites/x.py::test_y_more"):
        assert policy.severity(check_id, "dynamodb", "functional", today=TODAY) is Severity.ADVISORY
    assert (
        policy.severity("suites/x.py::test_z[A]", "dynamodb", "functional", today=TODAY) is Severity.BLOCKING
    )
    assert (
        policy.severity("suites/w.py::test_y[A]", "dynamodb", "functional", today=TODAY) is Severity.BLOCKING
    )


def test_exact_waiver_does_not_cover_other_params() -> None:
    policy = Policy(waivers=(Waiver("suites/x.py::test_y[A]", "r"),))
    assert policy.severity("suites/x.py::test_y[A]", "s", "functional", today=TODAY) is Severity.ADVISORY
    assert policy.severity("suites/x.py::test_y[B]", "s", "functional", today=TODAY) is Severity.BLOCKING


def test_default_policy_functional_blocks_posture_advises() -> None:
    policy = Policy()
    assert policy.severity("suites/a.py::t", "dynamodb", "functional", today=TODAY) is Severity.BLOCKING
    assert policy.severity("suites/a.py::t", "dynamodb", "posture", today=TODAY) is Severity.ADVISORY


def test_blocking_services_make_posture_blocking(tmp_path: Path) -> None:
    write(tmp_path, '[policy]\nblocking_services = ["rds"]\n')
    policy = load_config(None, cwd=tmp_path).policy
    assert (
        policy.severity("suites/rds.py::test_multi_az[Db]", "rds", "posture", today=TODAY)
        is Severity.BLOCKING
    )
    assert (
        policy.severity("suites/ddb.py::test_pitr[T]", "dynamodb", "posture", today=TODAY)
        is Severity.ADVISORY
    )


def test_advisory_checks_win_over_blocking_services_and_checks(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[policy]\nblocking_services = ["rds"]\n'
        'blocking_checks = ["suites/rds.py::test_available"]\n'
        'advisory_checks = ["suites/rds.py::test_available"]\n',
    )
    policy = load_config(None, cwd=tmp_path).policy
    # Listed without parameters, the entry covers every parametrization of the check.
    assert (
        policy.severity("suites/rds.py::test_available[Db]", "rds", "functional", today=TODAY)
        is Severity.ADVISORY
    )
    assert (
        policy.severity("suites/rds.py::test_other[Db]", "rds", "posture", today=TODAY) is Severity.BLOCKING
    )


def test_blocking_checks_win_over_category(tmp_path: Path) -> None:
    write(tmp_path, '[policy]\nblocking_checks = ["suites/ddb.py::test_pitr[Raw]"]\n')
    policy = load_config(None, cwd=tmp_path).policy
    assert (
        policy.severity("suites/ddb.py::test_pitr[Raw]", "dynamodb", "posture", today=TODAY)
        is Severity.BLOCKING
    )
    assert (
        policy.severity("suites/ddb.py::test_pitr[Other]", "dynamodb", "posture", today=TODAY)
        is Severity.ADVISORY
    )


def test_posture_can_be_made_blocking_by_category(tmp_path: Path) -> None:
    write(tmp_path, '[policy]\nblocking_categories = ["functional", "posture"]\nmax_errors = 2\n')
    policy = load_config(None, cwd=tmp_path).policy
    assert policy.severity("suites/a.py::t", "kms", "posture", today=TODAY) is Severity.BLOCKING
    assert policy.max_errors == 2


def test_header_with_a_trailing_comment_still_locates_the_key(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[outputs]\nsse = 1\n[expect]  # posture\npitr = true\nsse = 1\n")
    assert "unknown key `sse` in [outputs]" in message
    assert "line 2" in message


def test_a_directory_given_as_the_config_is_said_to_be_one(tmp_path: Path) -> None:
    # `--config /tmp` said "not found", which sends the user looking for a missing path.
    with pytest.raises(ConfigError, match="is a directory: pass the TOML file itself"):
        load_config(str(tmp_path), cwd=tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "missing.toml"), cwd=tmp_path)
