"""Input edge cases (issue 16, finding 16): stdin (`-`), `/dev/stdin` and `<(...)` are read exactly once;
a FIFO nobody writes to is one sentence, not a hang; NaN/Infinity and duplicate keys are refused naming
the key; 200 000 outputs are refused within seconds with the cap. All exit 2 with one sentence."""

from __future__ import annotations

import io
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import verify.stack.outputs as outputs_module
from verify.cli.main import main
from verify.errors import OutputsError
from verify.stack.outputs import MAX_OUTPUTS, load_outputs
from verify.stack.several import load_stacks

OUTPUTS = {
    "ApiEndpoint": "https://abc123.execute-api.us-east-1.amazonaws.com/dev/",
    "RawSensorTableName": "raw-sensor-data-dev",
}


@pytest.fixture(autouse=True)
def fresh_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(outputs_module, "_READ_ONCE", {})
    yield


class _Stdin(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


def _stdin_with(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    monkeypatch.setattr("sys.stdin", _Stdin(os.fdopen(read_end, "rb")))


def _one_sentence(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("verify: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_dash_reads_stdin_once_for_every_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin_with(monkeypatch, json.dumps(OUTPUTS).encode())
    # The run reads its outputs three times (validation, the session, the CDK stack map): one read.
    first, _ = load_stacks(["-"])
    second, _ = load_stacks(["-"])
    assert first.source == "stdin" and first.get("RawSensorTableName") is not None
    assert [o.key for o in second.outputs] == [o.key for o in first.outputs]


def test_a_cdk_file_of_several_stacks_from_stdin_keeps_its_stack_map(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {
        "DataStack": {"RawSensorTableName": "raw"},
        "ApiStack": {"ApiEndpoint": OUTPUTS["ApiEndpoint"]},
    }
    _stdin_with(monkeypatch, json.dumps(document).encode())
    _, stack_of = load_stacks(["-"])  # the stack map reads the document again: from the one read
    assert stack_of == {"RawSensorTableName": "DataStack", "ApiEndpoint": "ApiStack"}


def test_discover_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _stdin_with(monkeypatch, json.dumps(OUTPUTS).encode())
    assert main(["discover", "--outputs", "-", "--json", "--no-follow"]) == 0
    keys = [r["key"] for r in json.loads(capsys.readouterr().out)["resources"]]
    assert "RawSensorTableName" in keys


def test_dash_with_a_terminal_is_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(_Stdin):
        def isatty(self) -> bool:
            return True

    read_end, write_end = os.pipe()
    os.close(write_end)
    monkeypatch.setattr("sys.stdin", Terminal(os.fdopen(read_end, "rb")))
    assert main(["discover", "--outputs", "-"]) == 2
    assert "stdin is a terminal" in _one_sentence(capsys)


def test_a_fifo_without_a_writer_is_one_sentence_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(outputs_module, "SPECIAL_FILE_WAIT_S", 0.3)
    fifo = tmp_path / "outputs.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert main(["discover", "--outputs", str(fifo)]) == 2
    assert time.monotonic() - started < 3
    assert "sent no data" in _one_sentence(capsys)


def test_a_fifo_with_a_writer_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outputs_module, "SPECIAL_FILE_WAIT_S", 2.0)
    fifo = tmp_path / "outputs.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as handle:  # blocks until the reader opens it
            handle.write(json.dumps(OUTPUTS).encode())

    writer = threading.Thread(target=write)
    writer.start()
    first, _ = load_stacks([str(fifo)])
    writer.join(timeout=5)
    started = time.monotonic()
    second, _ = load_stacks([str(fifo)])  # no writer any more: only the first read's bytes can answer
    assert time.monotonic() - started < 1
    assert second.get("ApiEndpoint") is not None and first.get("ApiEndpoint") is not None


@pytest.mark.parametrize(
    ("text", "key", "literal"),
    [
        ('{"ApiEndpoint": "https://x", "Port": NaN}', "Port", "NaN"),
        ('{"Port": Infinity, "ApiEndpoint": "https://x"}', "Port", "Infinity"),
        ('{"Stack": {"Port": -Infinity}}', "Port", "-Infinity"),
        ('{"Ports": [1, 2, NaN]}', "Ports", "NaN"),
        ('{"Big": 1e400}', "Big", "1e400"),
        ('[{"OutputKey": "Port", "OutputValue": NaN}]', "OutputValue", "NaN"),
    ],
)
def test_non_finite_numbers_are_refused_naming_the_key(
    text: str, key: str, literal: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flat.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OutputsError, match=f"{literal} for key '{key}'"):
        load_outputs(path)
    assert main(["discover", "--outputs", str(path)]) == 2
    _one_sentence(capsys)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"TableName": "a", "TableName": "b"}', "TableName"),
        ('{"Stack": {"Queue": "a", "Queue": "a"}}', "Queue"),
        ('{"Stack": {"Queue": "a"}, "Stack": {"Queue": "b"}}', "Stack"),
    ],
)
def test_duplicate_keys_are_refused_naming_the_key(
    text: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flat.json"
    path.write_text(text, encoding="utf-8")
    assert main(["discover", "--outputs", str(path)]) == 2
    assert f"key '{key}' twice" in _one_sentence(capsys)


@pytest.mark.slow
def test_two_hundred_thousand_outputs_are_refused_within_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flat.json"
    path.write_text(json.dumps({f"Resource{i}TableName": f"t-{i}" for i in range(200_000)}), encoding="utf-8")
    report_dir = str(tmp_path / "reports")
    for command in (["discover"], ["run", "--report-dir", report_dir]):
        started = time.monotonic()
        assert main([*command, "--outputs", str(path)]) == 2
        assert time.monotonic() - started < 10
        assert f"more than verify handles in one run ({MAX_OUTPUTS})" in _one_sentence(capsys)


def test_workers_cannot_share_a_read_once_input(capsys: pytest.CaptureFixture[str]) -> None:
    # Worker processes run a --suite's checks (the shipped suites alone stay in one process).
    assert main(["run", "--outputs", "-", "--workers", "2", "--suite", "mine"]) == 2
    assert "read only once" in _one_sentence(capsys)


@pytest.mark.sandbox
@pytest.mark.parametrize("how", ["process substitution", "/dev/stdin", "dash"])
def test_the_console_script_reads_pipes_once(how: str, tmp_path: Path) -> None:
    from tests.helpers.cli import clean_env, verify_command

    source = tmp_path / "flat.json"
    source.write_text(json.dumps(OUTPUTS), encoding="utf-8")
    command = " ".join(f"'{part}'" for part in verify_command("discover", "--json", "--no-follow"))
    shell = {
        "process substitution": f"{command} --outputs <(cat '{source}')",
        "/dev/stdin": f"cat '{source}' | {command} --outputs /dev/stdin",
        "dash": f"cat '{source}' | {command} --outputs -",
    }[how]
    done = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, timeout=60, env=clean_env(), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    resources: list[dict[str, Any]] = json.loads(done.stdout)["resources"]
    assert "RawSensorTableName" in [r["key"] for r in resources]
