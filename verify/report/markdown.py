"""summary.md, in the order a reader needs (verify.report.sections): the verdict and the gate's line,
what to fix first, what is wrong, what was not verified from here, advice, the flow's hops, then the
passes counted per service with the checks folded away. A healthy run fits on one screen; every
check, with its evidence, is in report.html and summary.json."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import verify.report.sections as sections
from verify.escape import markdown, markdown_code
from verify.model import CheckResult, RunSummary, Status
from verify.redact import REDACTOR
from verify.report.gate import gate_line
from verify.report.sections import first_problem
from verify.report.timeline import FAILED, SEEN, flow_timeline

ADVICE_ICON = "💡"
_ICON = {
    Status.PASSED: "✅",
    Status.FAILED: "❌",
    Status.ERROR: "⚠️",
    Status.UNVERIFIED: "🔭",
    Status.SKIPPED: "⏭️",
}
HOP_ICON = {SEEN: "✅", FAILED: "❌"}
UNSEEN_ICON = "◌"
HTML_REPORT = "report.html"
# Past this many, the not-applicable list is left to report.html: summary.md stays one screen.
_FOLDED_SKIPS_MAX = 15

__all__ = [
    "ADVICE_ICON",
    "HTML_REPORT",
    "advice_clause",
    "anchor",
    "first_problem",
    "icon",
    "render_markdown",
]


def icon(check: CheckResult) -> str:
    return ADVICE_ICON if check.is_advice else _ICON[check.status]


def anchor(check_id: str) -> str:
    """The id of a check's section in report.html: stable, URL-safe, unique per check id."""
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


def unverified_clause(counts: dict[str, int]) -> str:
    """ ", N not verified from here" when there are any: a count of its own, never folded into skipped."""
    n = counts.get("unverified", 0)
    return f", {n} not verified from here" if n else ""


def advice_clause(summary: RunSummary) -> str:
    """ "; N advice" when there is any: the failed checks that are advice, counted apart from
    `sections.failures` (as the console's closing line and the gate's "0 failed" count them)."""
    n = len(summary.advice())
    return f"; {n} advice" if n else ""


def render_markdown(summary: RunSummary, *, mask_values: bool = False) -> str:
    """summary.md's text. `mask_values`: each value masked before it is escaped, for a summary whose
    values still hold a registered secret (the writer's final pass found one): slower, and exact."""
    cell: Cell = _masked_cell if mask_values else _cell
    code = _masked_code if mask_values else markdown_code
    counts = summary.counts()
    shard = f", shard {cell(summary.shard)}" if summary.shard else ""
    line = gate_line(summary)
    policy = f"; gate policy {code(summary.gate.policy)}" if summary.gate is not None else ""
    lines = [
        f"# verify: {cell(summary.verdict.upper())}",
        "",
        # Under the verdict, the gate's own numbers (report/gate.py): a skip is never a pass.
        f"**{line}**",
        "",
        f"Run {code(summary.run_id)} ({cell(summary.profile)} profile{shard}) on "
        f"{code(summary.source or '-')}, region {code(summary.region or '-')}, "
        f"{summary.duration_s:.1f} s: "
        f"{counts['passed']} passed, {sections.failures(summary)} failed, {counts['error']} error, "
        f"{counts['skipped']} skipped{unverified_clause(counts)}{advice_clause(summary)}{policy}.",
        "",
    ]
    first = first_problem(summary)
    if first is not None:
        lines += [
            f"**First to fix:** {_ICON[first.status]} {cell(first.title)}: {cell(first.message)} "
            f"([evidence]({HTML_REPORT}#{anchor(first.id)}))",
            "",
        ]
    lines += _gate_reasons(summary, line, cell)
    lines.extend(f"> {cell(note)}" for note in summary.notes)
    if summary.notes:
        lines.append("")
    if summary.left_behind:
        # Test data the run could not remove: what a team must delete by hand, by key.
        lines.append(f"**Left behind** ({len(summary.left_behind)}, remove by key):")
        lines += [f"- {cell(item.line())}" for item in summary.left_behind]
        lines.append("")
    lines += _problems(summary, cell)
    lines += _unverified(summary, cell)
    lines += _advice(summary, cell)
    lines += _timeline(summary, cell)
    lines += _stacks(summary, cell)
    lines += _passes(summary, cell)
    lines += _not_applicable(summary, cell)
    return "\n".join(lines).rstrip("\n") + "\n"


def _gate_reasons(summary: RunSummary, line: str, cell: Cell) -> list[str]:
    reasons = sections.gate_reasons(summary, line)
    if not reasons:
        return []
    bullets = [f"- {cell(reason)}" for reason in reasons]
    if len(reasons) <= sections.OPEN_REASONS_MAX:
        return [*bullets, ""]
    return [
        f"<details><summary>The gate's {len(reasons)} reasons</summary>",
        "",
        *bullets,
        "",
        "</details>",
        "",
    ]


def _problems(summary: RunSummary, cell: Cell) -> list[str]:
    # Advice has its own section below: a healthy run's first screen is not a list of failures.
    problems = sections.problems(summary)
    if not problems:
        return []
    lines = [
        f"## What is wrong ({len(problems)})",
        "",
        "| | severity | check | reason | |",
        "|---|---|---|---|---|",
    ]
    for check in problems:
        waived = f" (waived: {check.waiver})" if check.waiver else ""
        lines.append(
            f"| {_ICON[check.status]} | {check.severity} | {cell(check.title)} | "
            f"{cell(check.message + waived)} | [evidence]({HTML_REPORT}#{anchor(check.id)}) |"
        )
    lines.append("")
    return lines


def _unverified(summary: RunSummary, cell: Cell) -> list[str]:
    unreached = sections.unreached(summary)
    if not unreached:
        return []
    lines = [
        f"## Not verified from here ({len(unreached)})",
        "",
        "Not reachable from where verify ran (normal for private subnets seen from outside the VPC):",
        "neither a pass nor a failure. `[policy] require_reachable = true` makes them block.",
        "",
        "| check | address | reason |",
        "|---|---|---|",
    ]
    for check in unreached:
        address = str(check.evidence.get("address", "")) if isinstance(check.evidence, dict) else ""
        reason = check.message.removeprefix(sections.NOT_VERIFIED_PREFIX)
        lines.append(f"| {cell(check.title)} | {cell(address or '-')} | {cell(reason)} |")
    lines.append("")
    return lines


def _advice(summary: RunSummary, cell: Cell) -> list[str]:
    advice = sections.advice(summary)
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
    for check in advice:
        lines.append(
            f"| {cell(check.title)} | {cell(check.message)} | [evidence]({HTML_REPORT}#{anchor(check.id)}) |"
        )
    lines.append("")
    return lines


def _timeline(summary: RunSummary, cell: Cell) -> list[str]:
    hops = flow_timeline(summary.checks)
    if not hops:
        return []
    lines = [
        "## Flow",
        "",
        "The reading's path in causal order; each hop timed from when its signal became visible.",
        "",
        "| | hop | visible at (s after ingest) | hop latency (s) | check |",
        "|---|---|---|---|---|",
    ]
    for hop in hops:
        at = f"{hop.at_s:.3f}" if hop.at_s is not None else hop.state
        latency = f"{hop.latency_s:.3f}" if hop.latency_s is not None else "-"
        what = f"[{cell(hop.title)}]({HTML_REPORT}#{anchor(hop.check_id)})" if hop.check_id else ""
        if hop.state != SEEN and hop.reason:
            what += f": {cell(hop.reason)}" if what else cell(hop.reason)
        lines.append(f"| {HOP_ICON.get(hop.state, UNSEEN_ICON)} | {hop.hop} | {at} | {latency} | {what} |")
    lines.append("")
    return lines


def _stacks(summary: RunSummary, cell: Cell) -> list[str]:
    stacks = summary.stacks()
    if not stacks:
        return []
    lines = [
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
    return lines


def _passes(summary: RunSummary, cell: Cell) -> list[str]:
    groups = sections.by_service(summary)
    if not groups:
        return []
    lines = [
        "## Passed, by service",
        "",
        f"Each passing check, with its evidence: [report.html]({HTML_REPORT}) and summary.json.",
        "",
        "| service | passed | not applicable | listed above |",
        "|---|---|---|---|",
    ]
    for group in groups:
        lines.append(
            f"| {cell(group.label)} | {group.count(Status.PASSED)} | {group.count(Status.SKIPPED) or ''} "
            f"| {group.others or ''} |"
        )
    lines.append("")
    return lines


def _not_applicable(summary: RunSummary, cell: Cell) -> list[str]:
    skipped = sections.not_applicable(summary)
    if not skipped:
        return []
    if len(skipped) > _FOLDED_SKIPS_MAX:
        return [
            f"{len(skipped)} checks did not apply here; each with its reason in [report.html]({HTML_REPORT}).",
            "",
        ]
    return [
        f"<details><summary>Not applicable here ({len(skipped)})</summary>",
        "",
        "| check | reason |",
        "|---|---|",
        *(f"| {cell(c.title)} | {cell(c.message)} |" for c in skipped),
        "",
        "</details>",
        "",
    ]
