"""Starting and stopping sandboxes: outputs formats, state files, child processes, nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tests.helpers.sandbox import start_stack
from verify.errors import UsageError, VerifyError
from verify.sandbox.emulator.context import StackParts
from verify.sandbox.faults.catalogue import AWS_FAULTS, FAULTS, validate_faults
from verify.sandbox.manager import sandbox_status, spawn_sandbox, start_sandbox, stop_detached
from verify.sandbox.outputs import render_outputs

pytestmark = pytest.mark.sandbox

REPO = Path(__file__).resolve().parents[2]


def _port_open(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def test_render_outputs_in_every_format() -> None:
    pipeline = StackParts("pipeline", {"RawSensorTableName": "raw-sensor-data-dev", "Region": "us-east-1"})
    platform = StackParts("platform", {"Region": "us-east-1", "ApiEndpoint": "http://b/", "Port": 5432})
    pipeline.outputs["ApiEndpoint"] = "http://a/"
    flat = render_outputs([pipeline, platform], "flat", "dev")
    assert flat == {
        "RawSensorTableName": "raw-sensor-data-dev",
        "Region": "us-east-1",
        "ApiEndpoint": "http://a/",
        "PlatformApiEndpoint": "http://b/",
        "Port": 5432,
    }
    assert render_outputs([pipeline, platform], "cdk", "dev") == {
        "IotPipelineStack-dev": pipeline.outputs,
        "IotPlatformStack-dev": platform.outputs,
    }
    terraform = render_outputs([pipeline, platform], "terraform", "dev")
    assert terraform["raw_sensor_table_name"] == {
        "value": "raw-sensor-data-dev",
        "type": "string",
        "sensitive": False,
    }
    assert terraform["port"]["type"] == "number"
    assert "platform_api_endpoint" in terraform


def test_validate_faults_names_the_valid_ones_and_the_missing_stack() -> None:
    assert validate_faults(["auth_open", "no_logs"], ["pipeline"]) == {"auth_open", "no_logs"}
    with pytest.raises(UsageError, match=r"valid faults: .*auth_open"):
        validate_faults(["auth_opne"], ["pipeline"])
    with pytest.raises(UsageError, match="--stack platform"):
        validate_faults(["rds_stopped"], ["pipeline"])
    assert {f.stack for f in FAULTS.values()} == {"pipeline", "platform"}
    assert {f.category for f in FAULTS.values()} == {"functional", "posture", "benign"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"faults": ["nope"]}, "Unknown sandbox fault"),
        ({"outputs_format": "yaml"}, "Unknown outputs format"),
        ({"latency": "slow"}, "Unknown latency model"),
        ({"suffix": "Has Spaces"}, "not usable in resource names"),
        ({"region": "moon-1"}, "not an AWS region"),
        ({"stacks": ["mainframe"]}, "Unknown sandbox stack"),
    ],
)
def test_bad_arguments_fail_before_anything_starts(
    options: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match=message):
        start_sandbox(outputs_path=tmp_path / "o.json", state_dir=tmp_path / "s", **options)  # type: ignore[arg-type]
    assert not (tmp_path / "o.json").exists() and not (tmp_path / "s").exists()


def test_in_process_start_is_fast_and_stop_leaves_nothing(tmp_path: Path) -> None:
    # A first start pays this process's one-off imports (moto's ssm pulls in ec2, ~1.2 s of CPU), so
    # the timed one measures a sandbox start itself, robustly even on a loaded CI machine. (`healthy`
    # paid them once, when it ran in this process; it runs in a child now.)
    with start_stack(tmp_path / "warm"):
        pass
    started = time.monotonic()
    handle = start_stack(tmp_path, outputs_format="cdk")
    elapsed = time.monotonic() - started
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert elapsed < 3.0, f"pipeline sandbox took {elapsed:.2f} s to start"
    assert list(json.loads(handle.outputs_path.read_text())) == [f"IotPipelineStack-{state['suffix']}"]
    env_file = (tmp_path / "state" / "env").read_text()
    assert f"export AWS_ENDPOINT_URL={handle.endpoint_url}" in env_file
    assert sandbox_status(tmp_path / "state")["running"] is True
    assert Path(state["workdir"]).is_dir()
    assert handle.api_url is not None and _port_open(handle.api_url) and _port_open(handle.endpoint_url)
    handle.stop()
    assert not _port_open(handle.api_url) and not _port_open(handle.endpoint_url)
    assert not Path(state["workdir"]).exists()
    assert not (tmp_path / "state").exists() and not handle.outputs_path.exists()


def test_a_second_sandbox_on_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    with start_stack(tmp_path), pytest.raises(UsageError, match="already runs"):
        start_stack(tmp_path)


def test_a_missing_aws_profile_is_a_usage_error_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-here")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    with pytest.raises(UsageError, match="AWS_PROFILE=no-such-profile-here names an AWS profile"):
        start_stack(tmp_path)
    assert not (tmp_path / "state").exists()


def test_spawned_sandbox_serves_then_stops_without_leftovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = tmp_path / "out" / "outputs.json"
    # The child ignores a profile it does not need (moto would trip on this missing one).
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-here")
    handle = spawn_sandbox(
        outputs_path=outputs, outputs_format="terraform", state_dir=tmp_path / "state", suffix="spawned"
    )
    monkeypatch.delenv("AWS_PROFILE")
    try:
        state = json.loads((tmp_path / "state" / "state.json").read_text())
        assert state["pid"] == handle.pid != os.getpid()
        assert json.loads(outputs.read_text())["raw_sensor_table_name"]["value"] == "raw-sensor-data-spawned"
        ddb = boto3.client("dynamodb", **_boto_args(handle.env))
        assert "raw-sensor-data-spawned" in ddb.list_tables()["TableNames"]
    finally:
        handle.stop()
    assert not _alive(handle.pid)
    assert not Path(state["workdir"]).exists()
    assert not (tmp_path / "state").exists() and not (tmp_path / "out").exists()
    assert not _port_open(handle.endpoint_url)


def _boto_args(env: dict[str, str]) -> dict[str, str]:
    return {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "region_name": env["AWS_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }


def test_a_child_that_fails_to_start_is_reported_and_cleaned_up(tmp_path: Path) -> None:
    from verify.sandbox.child import spawn

    with pytest.raises(VerifyError, match=r"sandbox failed to start: .*serve: error: "):
        spawn(["--bogus"], state_dir=tmp_path / "state", timeout_s=30, detach=False)
    assert not (tmp_path / "state").exists()


def test_a_child_usage_error_keeps_its_own_sentence(tmp_path: Path) -> None:
    from verify.sandbox.child import spawn

    args = ["--outputs", str(tmp_path / "o.json"), "--state-dir", str(tmp_path / "state"), "--fault", "nope"]
    with pytest.raises(UsageError, match=r"^Unknown sandbox fault 'nope'"):
        spawn(args, state_dir=tmp_path / "state", timeout_s=30, detach=False)
    assert not (tmp_path / "state").exists()


def test_spawned_sandbox_dies_with_its_parent(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from verify.sandbox import spawn_sandbox\n"
        f"h = spawn_sandbox(outputs_path=Path({str(tmp_path / 'o.json')!r}), state_dir=Path({str(tmp_path / 's')!r}))\n"
        "print(h.pid, flush=True); import time; time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=REPO, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.kill()
    parent.wait()
    try:
        assert _wait_gone(child), "the sandbox outlived the process that spawned it"
        assert not (tmp_path / "s").exists(), "the orphaned child stopped without cleaning up"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_cli_detach_status_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from verify.sandbox.commands import sandbox_main

    common = ["--state-dir", str(tmp_path / "state")]
    outputs = ["--outputs", str(tmp_path / "o.json"), "--suffix", "cli"]
    assert sandbox_main(["up", "--detach", *outputs, *common]) == 0
    printed = capsys.readouterr().out
    assert "source " in printed and "verify sandbox down" in printed
    assert sandbox_main(["status", "--json", *common]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] is True and "env" not in status
    assert status["outputs_path"] == str(tmp_path / "o.json")
    assert _port_open(status["endpoint_url"]) and _port_open(status["api_url"])
    assert sandbox_main(["down", *common]) == 0
    assert "Stopped" in capsys.readouterr().out
    assert not _alive(int(status["pid"]))
    assert not Path(status["workdir"]).exists()
    assert not _port_open(status["endpoint_url"]) and not _port_open(status["api_url"])
    assert not (tmp_path / "state").exists() and not (tmp_path / "o.json").exists()
    assert sandbox_main(["down", *common]) == 0
    assert "nothing to stop" in capsys.readouterr().out
    assert stop_detached(tmp_path / "state") is False


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from verify.sandbox.commands import sandbox_main

    assert sandbox_main(["up", "--stack", "mainframe"]) == 2
    assert "usage:" in capsys.readouterr().err
    assert sandbox_main(["up", "--fault", "stream_inactive"]) == 2
    assert "--stack platform" in capsys.readouterr().err
    assert sandbox_main([]) == 2


def test_a_refused_request_leaves_the_process_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`sandbox_process=True` sets the process up for the sandbox alone (botocore's shared decodes,
    moto's default AMIs off), but only once every check of the request passed: `verify sandbox up`
    with a bad fault, run in process, must leave the process it runs in untouched."""
    from verify.sandbox.emulator import model_cache

    monkeypatch.delenv("MOTO_EC2_LOAD_DEFAULT_AMIS", raising=False)
    monkeypatch.setattr(model_cache, "share_botocore_data", lambda: pytest.fail("process changed"))
    with pytest.raises(UsageError):
        start_sandbox(
            faults=["stream_inactive"],
            outputs_path=tmp_path / "outputs.json",
            state_dir=tmp_path / "state",
            sandbox_process=True,
        )
    assert "MOTO_EC2_LOAD_DEFAULT_AMIS" not in os.environ


def test_cli_lists_every_fault(capsys: pytest.CaptureFixture[str]) -> None:
    from verify.sandbox.commands import sandbox_main

    assert sandbox_main(["faults", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    # Every fault `--fault` accepts, the AWS-level ones included (they are in a catalogue of their own).
    assert {f["name"] for f in listed if f["category"] == "aws"} == set(AWS_FAULTS)
    assert {f["name"] for f in listed} == set(FAULTS) | set(AWS_FAULTS)
    assert sandbox_main(["faults"]) == 0
    table = capsys.readouterr().out
    assert "slow_processor" in table and "aws_throttling" in table


def test_cli_foreground_up_stops_on_sigint(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "verify.sandbox.commands", "up", "--suffix", "fg"]
    command += ["--outputs", str(tmp_path / "o.json"), "--state-dir", str(tmp_path / "state")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        endpoint = next(line for line in lines if "AWS endpoint" in line).split(":", 1)[1].split()[0]
        assert sum(endpoint in line for line in lines) == 1, lines  # said once, with its region
        state = json.loads((tmp_path / "state" / "state.json").read_text())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:  # never leave the sandbox behind when the test itself fails
            proc.kill()
            proc.wait()
    assert not (tmp_path / "state").exists() and not Path(state["workdir"]).exists()


def test_down_after_a_kill_ends_the_servers_a_stack_recorded(tmp_path: Path) -> None:
    from verify.sandbox.state import cleanup_files

    workdir = tmp_path / "verify-sandbox-killed"
    server_dir = tmp_path / "verify-pg-fake"
    workdir.mkdir()
    server_dir.mkdir()
    # A stand-in server whose command line names its directory, as postgres -D <dir>/data does.
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(server_dir)])
    # Right after fork the child still shows the parent's command line; a recorded server has long
    # since exec'd. Wait for the exec, or the clean-up rightly takes the pid for a stranger's.
    cmdline = Path(f"/proc/{server.pid}/cmdline")
    deadline = time.monotonic() + 10
    while str(server_dir).encode() not in cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    record = [{"pid": server.pid, "signal": "SIGTERM", "dir": str(server_dir), "port": 1}]
    (workdir / "platform-servers.json").write_text(json.dumps(record))
    try:
        cleanup_files({"workdir": str(workdir)}, tmp_path / "state")
        assert server.wait(timeout=5) is not None
    finally:
        if server.poll() is None:
            server.kill()
    assert not workdir.exists() and not server_dir.exists()


def test_a_recorded_pid_now_used_by_a_stranger_is_left_alone(tmp_path: Path) -> None:
    from verify.sandbox.state import cleanup_files

    workdir = tmp_path / "verify-sandbox-old"
    workdir.mkdir()
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    record = [
        {"pid": stranger.pid, "signal": "SIGKILL", "dir": str(tmp_path / "verify-pg-gone"), "port": 59999}
    ]
    (workdir / "platform-servers.json").write_text(json.dumps(record))
    try:
        cleanup_files({"workdir": str(workdir)}, tmp_path / "state")
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_output_faults_bend_only_their_stacks_key() -> None:
    from verify.sandbox.outputs import OUTPUT_FAULTS, bend_outputs

    pipeline = StackParts(name="pipeline", outputs={"QueryLogGroupName": "/aws/lambda/q", "VpcId": "vpc-1"})
    platform = StackParts(name="platform", outputs={"VpcId": "vpc-0abc12345678", "QueryLogGroupName": "x"})
    bend_outputs([pipeline, platform], ["output_placeholder", "output_malformed", "pitr_disabled"])
    assert pipeline.outputs == {"QueryLogGroupName": "unknown", "VpcId": "vpc-1"}
    assert platform.outputs == {"VpcId": "10.0.0.0/16", "QueryLogGroupName": "x"}
    assert {name: FAULTS[name].stack for name in OUTPUT_FAULTS} == {
        name: stack for name, (stack, _key, _value) in OUTPUT_FAULTS.items()
    }
