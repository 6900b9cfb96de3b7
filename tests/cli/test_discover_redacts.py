"""`verify discover` passes the redactor like every report (a review of issue 16, finding 8): an
output holding a JSON object with a secret-looking field (`{"token": ...}`) was masked in every
report but printed whole by `discover` and `discover --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.cli.main import main

CANARY = "CANARYnestedTok7x"


@pytest.mark.parametrize("as_json", [False, True])
def test_discover_masks_a_secret_field_inside_an_output_value(
    as_json: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "Settings": json.dumps({"endpoint": "https://x.example", "token": CANARY}),
                "DashboardConfig": json.dumps(
                    {"url": "https://grafana.example", "admin_password": CANARY + "2"}
                ),
                "RawSensorTableName": "raw-sensor-data-dev",
            }
        ),
        encoding="utf-8",
    )
    assert main(["discover", "--outputs", str(outputs), "--no-follow", *(["--json"] if as_json else [])]) == 0
    printed = capsys.readouterr().out
    assert CANARY not in printed
    assert "raw-sensor-data-dev" in printed and "https://x.example" in printed
    if as_json:
        assert json.loads(printed)["resources"]


def test_a_fatal_error_sentence_is_masked_and_terminal_safe(capsys: pytest.CaptureFixture[str]) -> None:
    """Every VerifyError becomes `verify: <sentence>` on stderr; a path, key or value quoted in it
    is data too (`verify gate --summary $'x\\e[2J.json'` printed the ESC sequence raw)."""
    from tests.helpers.markup import control_characters
    from verify.cli.main import _guarded
    from verify.errors import UsageError
    from verify.redact import REDACTOR

    assert main(["gate", "--summary", "/nonexistent/x\x1b[2J\x1b]0;pwn\x07.json"]) == 2
    assert control_characters(capsys.readouterr().err) == []

    REDACTOR.add("CANARYfatalErr0r9")

    def fail() -> int:
        raise UsageError("output `DbPassword`: value CANARYfatalErr0r9 is not a name\r\x1b[1A")

    assert _guarded(fail) == 2
    err = capsys.readouterr().err
    assert "CANARYfatalErr0r9" not in err and control_characters(err) == []
