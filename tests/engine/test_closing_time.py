"""The console's closing line gives the run the same duration as its reports: from the session's start,
discovery included (it used to count from the checks' start, ~1.4 s less than summary.md said)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from tests.helpers.engine import engine_session
from tests.helpers.moto import MOTO_REGION
from verify.engine.plan import plan
from verify.engine.runner import run


def test_the_closing_line_and_summary_json_give_one_duration(aws_mock: None, tmp_path: Path) -> None:
    session = engine_session(tmp_path, {"Region": MOTO_REGION}, timeout=5.0)
    session.started_monotonic -= 42.0  # as if discovery had taken 42 s before the checks started
    out = io.StringIO()
    run(session, plan(session, "test_apigateway"), out=out)
    said = re.search(r"\) in ([0-9.]+) s; reports in ", out.getvalue())
    assert said, out.getvalue()
    recorded = json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))["duration_s"]
    assert recorded >= 42.0
    assert said.group(1) == f"{recorded:.1f}"
