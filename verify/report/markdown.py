"""summary.md: what failed first, with its one-line reason; then a compact table per service."""

from __future__ import annotations

from collections import defaultdict

from verify.model import CheckResult, RunSummary, Severity, Status

_ICON = {Status.PASSED: "✅", Status.FAILED: "❌", Status.ERROR: "⚠️", Status.SKIPPED: "⏭️"}
_ORDER = {Status.FAILED: 0, Status.ERROR: 1, Status.SKIPPED: 2, Status.PASSED: 3}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: RunSummary) -> str:
    counts = summary.counts()
    lines = [
        f"# verify: {summary.verdict.upper()}",
        "",
        f"Run `{summary.run_id}` ({summary.profile} profile) on `{summary.source or '-'}`, "
        f"region `{summary.region or '-'}`, {summary.duration_s:.1f} s: "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} error, "
        f"{counts['skipped']} skipped.",
        "",
    ]
    lines.extend(f"> {note}" for note in summary.notes)
    if summary.notes:
        lines.append("")
    problems = [c for c in summary.checks if c.status in (Status.FAILED, Status.ERROR)]
    problems.sort(key=lambda c: (c.severity is not Severity.BLOCKING, _ORDER[c.status], c.id))
    if problems:
        lines += ["## What is wrong", "", "| | severity | check | reason |", "|---|---|---|---|"]
        for check in problems:
            lines.append(
                f"| {_ICON[check.status]} | {check.severity} | {_cell(check.title)} | {_cell(check.message)} |"
            )
        lines.append("")
    by_service: dict[str, list[CheckResult]] = defaultdict(list)
    for check in summary.checks:
        by_service[check.service].append(check)
    for service in sorted(by_service):
        lines += [
            f"## {service}",
            "",
            "| | check | category | severity | time | note |",
            "|---|---|---|---|---|---|",
        ]
        for check in sorted(by_service[service], key=lambda c: (_ORDER[c.status], c.id)):
            lines.append(
                f"| {_ICON[check.status]} | {_cell(check.title)} | {check.category} | {check.severity} "
                f"| {check.duration_s:.2f}s | {_cell(check.message)} |"
            )
        lines.append("")
    return "\n".join(lines)
