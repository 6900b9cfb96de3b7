"""An engine session as `verify run --outputs` starts one, for the tests that drive the engine in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers.moto import MOTO_REGION
from verify.config.settings import Config
from verify.engine.session import VerifySession, start_session


def engine_session(
    folder: Path,
    outputs: dict[str, Any] | Path,
    *,
    config: Config | None = None,
    profile: str = "full",
    region: str | None = MOTO_REGION,
    timeout: float = 90.0,
) -> VerifySession:
    """A session on `outputs` (a document, written to folder/outputs.json, or a file), its reports in
    folder/reports."""
    if isinstance(outputs, Path):
        path = outputs
    else:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "outputs.json"
        path.write_text(json.dumps(outputs), encoding="utf-8")
    return start_session(
        config=config if config is not None else Config(),
        profile=profile,
        region=region,
        outputs_paths=[str(path)],
        stack=None,
        policy=None,
        report_dir=folder / "reports",
        timeout=timeout,
    )
