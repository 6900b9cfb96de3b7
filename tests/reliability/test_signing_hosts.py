"""Finding 1 of issue 16, as the attacker did it: an `ApiEndpoint` output naming a local
header-logging listener (not in AWS_ENDPOINT_URL*), with AWS_SESSION_TOKEN set to a canary. Across
discover, smoke and run the listener receives no request at all -- so none carrying Authorization or
the token -- and the run says, naming the output, that it refused to send there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import HeaderListener, clean_env, header_listener, run_verify, summary
from verify.sandbox.manager import SandboxHandle, spawn_sandbox

pytestmark = pytest.mark.sandbox

CANARY = "CANARYSESSIONTOKEN0123456789abcdef"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHandle, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("signing")
    handle = spawn_sandbox(stacks=("pipeline",), outputs_path=root / "flat.json", state_dir=root / "state")
    try:
        yield handle, json.loads((root / "flat.json").read_text(encoding="utf-8"))
    finally:
        handle.stop()


@pytest.fixture
def listener() -> Iterator[HeaderListener]:
    with header_listener() as server:
        yield server


def test_signed_requests_never_reach_a_host_an_output_names(
    sandbox: tuple[SandboxHandle, dict[str, Any]], listener: HeaderListener, tmp_path: Path
) -> None:
    handle, outputs = sandbox
    base = f"http://127.0.0.1:{listener.server_address[1]}"
    hostile = dict(outputs)
    hostile["ApiEndpoint"] = base + "/prod/"
    # No attacker needed for these: keys that merely hold a URL.
    hostile["DashboardUrl"] = base + "/dashboard"
    hostile["SlackWebhookUrl"] = base + "/hooks/T000/B000/XXXX"
    (tmp_path / "outputs.json").write_text(json.dumps(hostile), encoding="utf-8")
    env = clean_env({**handle.env, "AWS_SESSION_TOKEN": CANARY})
    assert not any(k.startswith("AWS_ENDPOINT_URL_") for k in env)

    runs = {
        "discover": ["discover", "--outputs=outputs.json"],
        "smoke": ["smoke", "--outputs=outputs.json", "--report-dir=smoke-reports", "--timeout=5"],
        # The run's clean-up waits for the readings it meant to send until twice --timeout after
        # (5 s at least): 2 s ends it ~5 s sooner than 5 s did, and nothing here waits on the stack.
        "run": ["run", "--outputs=outputs.json", "--report-dir=reports", "--timeout=2"],
    }
    done = {name: run_verify(*args, cwd=tmp_path, env=env, timeout=120) for name, args in runs.items()}

    assert listener.seen == [], f"the listener received {len(listener.seen)} requests: {listener.seen[:3]}"
    for name, result in done.items():
        console = result.stdout + result.stderr
        assert "Traceback" not in console, (name, console[-2000:])
        assert CANARY not in console, name
    assert done["discover"].returncode == 0

    # The run names the output and the host it refused, and never calls that a pass.
    checks = summary(tmp_path / "reports")["checks"]
    refused = [c for c in checks if "refused" in c["message"] and "`ApiEndpoint`" in c["message"]]
    assert refused, [c["message"] for c in checks if c["status"] == "error"]
    assert all(c["status"] == "error" for c in refused)
    assert f"127.0.0.1:{listener.server_address[1]}" in refused[0]["message"]
    assert summary(tmp_path / "reports")["verdict"] != "pass"
    # Neither URL-only key became an API that a check would call.
    api_checks = [c for c in checks if c["service"] == "apigateway"]
    assert api_checks and not [c for c in api_checks if c["resource"] in ("DashboardUrl", "SlackWebhookUrl")]
    for report in (tmp_path / "reports", tmp_path / "smoke-reports"):
        for path in report.rglob("*"):
            if path.is_file():
                assert CANARY not in path.read_text(errors="replace"), path


def test_an_absolute_flow_path_is_exit_2_and_sends_nothing(
    sandbox: tuple[SandboxHandle, dict[str, Any]], listener: HeaderListener, tmp_path: Path
) -> None:
    handle, outputs = sandbox
    (tmp_path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    target = f"http://127.0.0.1:{listener.server_address[1]}/collect"
    (tmp_path / "verify.toml").write_text(f'[flow]\ningest_path = "{target}"\n', encoding="utf-8")
    env = clean_env({**handle.env, "AWS_SESSION_TOKEN": CANARY})
    result = run_verify(
        "run", "--outputs=outputs.json", "--report-dir=reports", cwd=tmp_path, env=env, timeout=60
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "ingest_path" in lines[0] and "Traceback" not in result.stderr
    assert listener.seen == []
