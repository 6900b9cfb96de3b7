"""Report writers. They read only `verify.model`: no pytest, no AWS, no CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

from verify.model import RunSummary
from verify.report.markdown import render_markdown

__all__ = ["read_summary", "render_markdown", "write_reports"]


def write_reports(summary: RunSummary, report_dir: Path) -> None:
    """summary.json and summary.md (atomically), and the step summary of GitHub Actions when set."""
    report_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(report_dir / "summary.json", json.dumps(summary.to_dict(), indent=2, default=str) + "\n")
    markdown = render_markdown(summary)
    _atomic_write(report_dir / "summary.md", markdown)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def read_summary(path: Path) -> RunSummary:
    return RunSummary.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _atomic_write(path: Path, text: str) -> None:
    # A reader (CI upload, a gate job) must never see half a report.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
