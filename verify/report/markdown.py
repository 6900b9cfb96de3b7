"""summary.md: the gate's verdict and reasons, what failed first (with its evidence link), the flow
timeline hop by hop, then a compact table per stack and per service."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from verify.escape import markdown, markdown_code
from verify.model import CheckResult, RunSummary, Severity, Status
from verify.redact import REDACTOR
from verify.report.gate import gate_line
from verify.report.timeline import flow_timeline

ADVICE_ICON = "💡"
_ICON = {
    Status.PASSED: "✅",
    Status.FAILED: "❌",
    Status.ERROR: "⚠️",
    Status.UNVERIFIED: "🔭",
    Status.SKIPPED: "⏭️",
}
_ORDER = {Status.FAILED: 0, Status.ERROR: 1, Status.UNVERIFIED: 2, Status.SKIPPED: 3, Status.PASSED: 4}
HTML_REPORT = "report.html"


def icon(check: CheckResult) -> str:
    return ADVICE_ICON if check.is_advice else _ICON[check.status]


def anchor(check_id: str) -> str:
    """The id of a check's section in report.html: stable, URL-safe, unique per check id."""
    import hashlib

    return "check-" + hashlib.sha1(check_id.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


def _cell(text: object) -> str:
    # Every value here came from the stack, the outputs, an API's answer or a user: text, never markup.
    return markdown(text)


def _masked_cell(text: object) -> str:
    # Masked before it is escaped: a mask put in afterwards could split an escape (`\\*`) in two.
    return markdown(REDACTOR.redact(str(text)))


def _masked_code(text: object) -> str:
    return markdown_code(REDACTOR.redact(str(text)))


Cell = Callable[[object], str]


def first_problem(summary: RunSummary) -> CheckResult | None:
    """The check to read first: the first blocking failure in run order, else the first blocking error."""
    for wanted in (Status.FAILED, Status.ERROR):
        for check in summary.checks:
            if check.status is wanted and check.severity is Severity.BLOCKING:
                return check
    return None


def render_markdown(summary: RunSummary, *, mask_values: bool = False) -> str:
    """summary.md's text. `mask_values`: each value masked before it is escaped, for a summary whose
    values still hold a registered secret (the writer's final pass found one): slower, and exact."""
    cell: Cell = _masked_cell if mask_values else _cell
    code = _masked_code if mask_values else markdown_code
    counts = summary.counts()
    shard = f", shard {cell(summary.shard)}" if summary.shard else ""
    lines = [
        f"# verify: {cell(summary.verdict.upper())}",
        "",
        # Under the verdict, the gate's own numbers (report/gate.py): a skip is never a pass.
        f"**{gate_line(summary)}**",
        "",
        f"Run {code(summary.run_id)} ({cell(summary.profile)} profile{shard}) on "
        f"{code(summary.source or '-')}, region {code(summary.region or '-')}, "
        f"{summary.duration_s:.1f} s: "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} error, "
        f"{counts['skipped']} skipped{unverified_clause(counts)}{advice_clause(summary)}.",
        "",
    ]
    lines.extend(f"> {cell(note)}" for note in summary.notes)
    if summary.notes:
        lines.append("")
    if summary.left_behind:
        # Test data the run could not remove: what a team must delete by hand, by key.
        lines.append(f"**Left behind** ({len(summary.left_behind)}, remove by key):")
        lines += [f"- {cell(item.line())}" for item in summary.left_behind]
        lines.append("")
    first = first_problem(summary)
    if first is not None:
        lines += [
            f"**First to fix:** {_ICON[first.status]} {cell(first.title)}: {cell(first.message)} "
            f"([evidence]({HTML_REPORT}#{anchor(first.id)}))",
            "",
        ]
    if summary.gate is not None:
        lines += [
            f"## Gate: {cell(summary.gate.verdict.upper())}",
            "",
            f"Policy: {code(summary.gate.policy)}",
            "",
        ]
        lines += [f"- {cell(reason)}" for reason in summary.gate.reasons]
        lines.append("")
    lines += _problems(summary, cell)
    lines += _unverified(summary, cell)
    lines += _advice(summary, cell)
    lines += _timeline(summary, cell)
    stacks = summary.stacks()
    if stacks:
        lines += [
            "## Stacks",
            "",
            "| stack | verdict | passed | failed | error | skipped |",
            "|---|---|---|---|---|---|",
        ]
        for name, info in stacks.items():
            c = info["counts"]
            lines.append(
                f"| {cell(name)} | {cell(info['verdict'])} | {c['passed']} | {c['failed']} | {c['error']} "
                f"| {c['skipped']} |"
            )
        lines.append("")
    lines += _per_service(summary, cell)
    return "\n".join(lines)


def _problems(summary: RunSummary, cell: Cell) -> list[str]:
    # Advice has its own section below: a healthy run's first screen is not a list of failures.
    problems = [c for c in summary.checks if c.status in (Status.FAILED, Status.ERROR) and not c.is_advice]
    if not problems:
        return []
    problems.sort(key=lambda c: (c.severity is not Severity.BLOCKING, _ORDER[c.status], c.id))
    lines = ["## What is wrong", "", "| | severity | check | reason | |", "|---|---|---|---|---|"]
    for check in problems:
        waived = f" (waived: {check.waiver})" if check.waiver else ""
        lines.append(
            f"| {_ICON[check.status]} | {check.severity} | {cell(check.title)} | "
            f"{cell(check.message + waived)} | [evidence]({HTML_REPORT}#{anchor(check.id)}) |"
        )
    lines.append("")
    return lines


def unverified_clause(counts: dict[str, int]) -> str:
    """ ", N not verified from here" when there are any: a count of its own, never folded into skipped."""
    n = counts.get("unverified", 0)
    return f", {n} not verified from here" if n else ""


def advice_clause(summary: RunSummary) -> str:
    """ "; N advice" when there is any: how many of the failed checks are advice, not failures."""
    n = len(summary.advice())
    return f"; {n} advice" if n else ""


def _advice(summary: RunSummary, cell: Cell) -> list[str]:
    advice = summary.advice()
    if not advice:
        return []
    lines = [
        f"## Advice ({len(advice)})",
        "",
        "Advisory findings the policy does not block on (summary.json: `status: failed`, `severity: advisory`):",
        "worth a look, not why a gate fails. `[policy] blocking_checks` makes one a failure.",
        "",
        "| check | finding | |",
        "|---|---|---|",
    ]
    for check in sorted(advice, key=lambda c: (c.service, c.id)):
        lines.append(
            f"| {cell(check.title)} | {cell(check.message)} | [evidence]({HTML_REPORT}#{anchor(check.id)}) |"
        )
    lines.append("")
    return lines


def _unverified(summary: RunSummary, cell: Cell) -> list[str]:
    unreached = [c for c in summary.checks if c.status is Status.UNVERIFIED]
    if not unreached:
        return []
    lines = [
        "## Not verified from here",
        "",
        "Not reachable from where verify ran (normal for private subnets seen from outside the VPC):",
        "neither a pass nor a failure. `[policy] require_reachable = true` makes them block.",
        "",
        "| check | address | reason |",
        "|---|---|---|",
    ]
    for check in sorted(unreached, key=lambda c: c.id):
        address = str(check.evidence.get("address", "")) if isinstance(check.evidence, dict) else ""
        reason = check.message.removeprefix("not verified from here: ")
        lines.append(f"| {cell(check.title)} | {cell(address or '-')} | {cell(reason)} |")
    lines.append("")
    return lines


def _timeline(summary: RunSummary, cell: Cell) -> list[str]:
    hops = flow_timeline(summary.checks)
    if not hops:
        return []
    lines = [
        "## Flow timeline",
        "",
        "| step | at (s since ingest) | since previous hop (s) |",
        "|---|---|---|",
    ]
    for hop in hops:
        lines.append(f"| {cell(hop.step)} | {hop.at_s:.3f} | {hop.since_previous_s:.3f} |")
    lines.append("")
    return lines


def _per_service(summary: RunSummary, cell: Cell) -> list[str]:
    by_service: dict[str, list[CheckResult]] = defaultdict(list)
    for check in summary.checks:
        by_service[check.service].append(check)
    lines: list[str] = []
    for service in sorted(by_service):
        lines += [
            f"## {cell(service)}",
            "",
            "| | check | category | severity | time | note |",
            "|---|---|---|---|---|---|",
        ]
        for check in sorted(by_service[service], key=lambda c: (_ORDER[c.status], c.id)):
            lines.append(
                f"| {icon(check)} | {cell(check.title)} | {check.category} | {check.severity} "
                f"| {check.duration_s:.2f}s | {cell(check.message)} |"
            )
        lines.append("")
    return lines
