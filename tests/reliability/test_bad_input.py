"""Bad input, through the real console script: every malformed outputs file or config gives one
sentence on stderr, exit 2, within a couple of seconds, never a traceback and never a report; bad
usage gives the usage line and exit 2. Property tests: whatever TOML (or bytes) a config holds, the
reader answers a Config or one ConfigError sentence.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import clean_env, run_verify
from verify.config.settings import _SCHEMA, Config, _Validator, load_config, parse_config
from verify.errors import ConfigError

BOUND_S = 3.0  # "within a second or two", plus the interpreter's start on a busy CI machine

GOOD_OUTPUTS = {
    "RawSensorTableName": "raw-sensor-data-dev",
    "IngestionQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/sensor-ingestion-dev",
}


def _huge_outputs() -> bytes:
    row = '"Key{0}": "arn:aws:dynamodb:us-east-1:123456789012:table/t{0}-' + "x" * 20 + '"'
    return ("{" + ",".join(row.format(i) for i in range(700_000)) + "}").encode()


BAD_OUTPUTS: dict[str, bytes | None] = {
    "absent": None,
    "empty": b"",
    "whitespace": b"  \n\t\n",
    "null": b"null",
    "numbers": b"[1, 2, 3]",
    "a string": b'"raw-sensor-data-dev"',
    "truncated": b'{"RawSensorTableName": "raw-sensor-data-dev", "Api',
    "not utf-8": b'{"RawSensorTableName": "raw-\xff\xfe-data"}',
    "utf-16": json.dumps(GOOD_OUTPUTS).encode("utf-16"),
    "package.json": json.dumps({"name": "app", "version": "1.0.0", "scripts": {"build": "tsc"}}).encode(),
    "wrong value types": json.dumps({"RawSensorTableName": {"nested": [1, {"x": None}]}, "Q": True}).encode(),
    "nested too deep": b"[" * 50_000 + b"]" * 50_000,
    "50 MB": b"<made when needed>",
    "odd unicode keys": json.dumps({"\u202emaNelbaT": "x", "\U0001f600": "y", "Ta\u0000ble": "z"}).encode(),
    "only placeholders": json.dumps(
        {"RawSensorTableName": "", "QueueUrl": "N/A", "ApiEndpoint": None}
    ).encode(),
    "only settings": json.dumps({"Region": "us-east-1", "Environment": "dev", "Port": 5432}).encode(),
}
# Valid outputs that name nothing to verify: `discover` shows what it read (exit 0), `run` refuses.
READABLE = {"odd unicode keys", "only placeholders", "only settings"}


def _assert_one_sentence(proc: Any, took: float, path: Path) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-1500:]
    assert took < BOUND_S, took
    assert "Traceback" not in output
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("verify: "), proc.stderr
    assert proc.stdout.strip() == ""
    assert not (path / "reports").exists(), "nothing was verified, so no report may claim otherwise"


@pytest.mark.sandbox
@pytest.mark.parametrize("case", sorted(BAD_OUTPUTS), ids=lambda c: c.replace(" ", "-"))
@pytest.mark.parametrize("command", ["run", "discover"])
def test_bad_outputs_file(tmp_path: Path, case: str, command: str) -> None:
    content = _huge_outputs() if case == "50 MB" else BAD_OUTPUTS[case]
    if content is not None:
        (tmp_path / "outputs.json").write_bytes(content)
    started = time.monotonic()
    proc = run_verify(command, "--outputs=outputs.json", cwd=tmp_path, env=clean_env(), timeout=60)
    took = time.monotonic() - started
    if command == "discover" and case in READABLE:
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert "\u202e" not in proc.stdout and "\x00" not in proc.stdout  # shown escaped, not obeyed
        return
    _assert_one_sentence(proc, took, tmp_path)
    if case != "absent" and command == "run":
        assert "outputs.json" in proc.stderr  # the sentence names the file


BAD_CONFIGS: dict[str, tuple[bytes | None, str]] = {
    "absent": (None, "not found"),
    "not toml": (b"[flow\npayload = ", "not valid TOML"),
    "not utf-8": (b'[flow]\nmethod = "P\xffST"\n', "not UTF-8"),
    "unknown table": (b"[flwo]\nmethod = 'POST'\n", "unknown table"),
    "unknown key": (b"[flow]\nmthod = 'POST'\n", "unknown key"),
    "wrong type": (b"[expect]\npitr = 'yes'\n", "pitr"),
    "table as a value": (b"flow = 3\n", "must be a table"),
    "waiver without reason": (b"[[policy.waivers]]\ncheck = 'suites/x.py::t'\n", "reason"),
}


@pytest.mark.sandbox
@pytest.mark.parametrize("case", sorted(BAD_CONFIGS), ids=lambda c: c.replace(" ", "-"))
@pytest.mark.parametrize("command", ["run", "discover"])
def test_bad_config_file(tmp_path: Path, case: str, command: str) -> None:
    content, said = BAD_CONFIGS[case]
    (tmp_path / "outputs.json").write_text(json.dumps(GOOD_OUTPUTS), encoding="utf-8")
    if content is not None:
        (tmp_path / "verify.toml").write_bytes(content)
    started = time.monotonic()
    proc = run_verify(
        command, "--outputs=outputs.json", "--config=verify.toml", cwd=tmp_path, env=clean_env(), timeout=60
    )
    _assert_one_sentence(proc, time.monotonic() - started, tmp_path)
    assert "verify.toml" in proc.stderr and said in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["run", "--no-such-option"],
        ["run", "--timeout=soon"],
        ["run", "--timeout=-1"],
        ["run", "--workers=two"],
        ["run", "--shard=3/2"],
        ["run", "--profile=paranoid"],
        ["discover", "--json=yes"],
    ],
    ids=lambda a: "_".join(a) or "nothing",
)
@pytest.mark.sandbox
def test_bad_usage_is_exit_2_with_the_usage_line(tmp_path: Path, args: list[str]) -> None:
    proc = run_verify(*args, cwd=tmp_path, env=clean_env(), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("usage: verify"), proc.stderr
    assert "verify" in proc.stderr.splitlines()[-1] and "error" in proc.stderr.splitlines()[-1]
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- properties of the config reader

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
toml_scalars = (
    st.text(max_size=20)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.dates()
    | st.datetimes()
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
table_names = st.sampled_from([*_SCHEMA, "aliases", "tool", "flwo"])
key_names = st.sampled_from(sorted({k for keys in _SCHEMA.values() for k in keys} | {"waivers", "kind", "x"}))
documents = st.dictionaries(
    table_names,
    st.dictionaries(key_names | st.text(max_size=10), toml_values, max_size=5) | toml_values,
    max_size=5,
)


def _assert_answer(make: Any) -> None:
    try:
        config = make()
    except ConfigError as error:
        message = str(error)
        assert message.strip() and "\n" not in message.strip(), message
        return
    assert isinstance(config, Config)


@SETTINGS
@given(documents)
def test_any_parsed_document_is_a_config_or_one_sentence(document: dict[str, Any]) -> None:
    _assert_answer(lambda: parse_config(document, _Validator(Path("verify.toml"), "")))


@SETTINGS
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_on_disk_are_a_config_or_one_sentence(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "verify.toml"
    path.write_bytes(content)
    _assert_answer(lambda: load_config(str(path)))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, int) else json.dumps(value).replace("Infinity", "inf")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


@SETTINGS
@given(documents)
def test_any_written_toml_is_a_config_or_one_sentence(tmp_path: Path, document: dict[str, Any]) -> None:
    lines = []
    for table, body in document.items():
        if isinstance(body, dict):
            lines.append(f"[{table}]")
            lines += [f"{json.dumps(k)} = {_toml(v)}" for k, v in body.items()]
        else:
            lines.insert(0, f"{json.dumps(table)} = {_toml(body)}")
    path = tmp_path / "verify.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    _assert_answer(lambda: load_config(str(path)))
