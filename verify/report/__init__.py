"""Report writers. They read `verify.model` (and the policy, for the gate): no pytest, no AWS, no CLI."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from verify.model import RunSummary
from verify.redact import REDACTOR
from verify.report.files import write_text
from verify.report.html import render_html
from verify.report.junit import render_junit
from verify.report.markdown import render_markdown
from verify.report.reading import read_summary
from verify.report.timeline import timeline_dicts

__all__ = ["read_summary", "render_html", "render_junit", "render_markdown", "write_reports"]


def write_reports(summary: RunSummary, report_dir: Path, *, junit: bool = True) -> None:
    """summary.json, summary.md, report.html and junit.xml (each atomically), and the step summary
    of GitHub Actions when set. Every file passes the redactor last, whatever the caller forgot:
    a file in which it finds anything is rendered again from the summary masked value by value
    (`masked_summary`), never masked as text -- a mask put into rendered JSON or markup cuts the
    structure (a registered `true` or `">` is JSON or markup too)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    masked: list[RunSummary] = []  # built once, only when a file needs it

    def safe(render: Callable[[RunSummary], str]) -> str:
        text = render(summary)
        if REDACTOR.redact(text) == text:
            return text
        if not masked:
            masked.append(masked_summary(summary))
        return render(masked[0])

    write_text(report_dir / "summary.json", safe(lambda s: summary_json(with_flow_timeline(s))))
    markdown = safe(render_markdown)
    write_text(report_dir / "summary.md", markdown)
    write_text(report_dir / "report.html", safe(render_html))
    if junit:
        write_text(report_dir / "junit.xml", safe(render_junit))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def with_flow_timeline(summary: RunSummary) -> dict[str, Any]:
    """summary.json's data: the summary's, and the flow's hops in causal order (`flow_timeline`, the
    data of report.html's picture and summary.md's table) when a flow ran."""
    data = summary.to_dict()
    hops = timeline_dicts(summary.checks)
    if hops:
        data["flow_timeline"] = hops
    return data


def summary_json(data: dict[str, Any]) -> str:
    """summary.json's text: the run's fields indented, then one check per line.

    json.dumps with an indent runs the pure-Python encoder: at 855 checks with their evidence it took
    ~0.15 s of a 1.6 s smoke run. Each check is encoded by the C encoder on a line of its own, which
    reads as well in a diff or a pager, and parses the same."""
    checks = data.get("checks", [])
    head = json.dumps({**data, "checks": []}, indent=2, default=str)
    if not checks:
        return head + "\n"
    lines = ",\n".join("    " + json.dumps(check, default=str) for check in checks)
    return head.replace('"checks": []', '"checks": [\n' + lines + "\n  ]", 1) + "\n"


def masked_summary(summary: RunSummary) -> RunSummary:
    """`summary` with every value from outside masked on its own (titles, messages, ids, notes,
    reasons, evidence: strings, keys, numbers in evidence), its structure and verify's own numbers
    (durations, counts, attempts) and statuses as they are."""
    masked = _masked(summary)
    assert isinstance(masked, RunSummary)
    return masked


def _masked(value: object) -> object:
    if isinstance(value, Enum | bool | int | float) or value is None:
        return value  # a status, a verdict, a duration: verify's own
    if isinstance(value, str):
        return REDACTOR.redact(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _masked(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, list) and all(dataclasses.is_dataclass(item) for item in value):
        return [_masked(item) for item in value]  # checks, left-behind items
    if isinstance(value, Mapping) and all(isinstance(v, int) for v in value.values()):
        # aws_calls: verify's own counts (`secretsmanager:GetSecretValue` names an operation, not a secret)
        return {REDACTOR.redact(str(key)): count for key, count in value.items()}
    # evidence and the run's free-form maps: any number in them may echo a registered value too
    return REDACTOR.redact_json_value(value)
