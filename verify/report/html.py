"""report.html: one self-contained page for people without Allure.

No external asset (inline CSS, no script), failures first, each check's evidence in a collapsible
`<details>`, and every string from the run HTML-escaped -- a check message or an HTTP body is data,
never markup.
"""

from __future__ import annotations

from verify.escape import html_text
from verify.model import CheckResult, RunSummary, Severity, Status
from verify.report.markdown import advice_clause, anchor, first_problem, unverified_clause
from verify.report.text import readable_json
from verify.report.timeline import flow_timeline

_ORDER = {Status.FAILED: 0, Status.ERROR: 1, Status.UNVERIFIED: 2, Status.SKIPPED: 3, Status.PASSED: 4}
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
h1 .pass{color:#1a7f37}h1 .fail{color:#cf222e}h1 .error{color:#9a6700}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.check{border:1px solid #d0d7de;border-radius:6px;margin:.4em 0;padding:.4em .7em}
.failed{border-left:6px solid #cf222e}.error{border-left:6px solid #9a6700}
.skipped{border-left:6px solid #8c959f}.advice{border-left:6px solid #0969da}.passed{border-left:6px solid #1a7f37}
.meta{color:#57606a;font-size:90%}
pre{background:#f6f8fa;padding:.6em;overflow:auto;white-space:pre-wrap;word-break:break-word}
"""


def _e(value: object) -> str:
    return html_text(value)


def render_html(summary: RunSummary) -> str:
    counts = summary.counts()
    verdict = str(summary.verdict)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>verify: {_e(verdict.upper())} - {_e(summary.run_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f'<h1>verify: <span class="{_e(verdict)}">{_e(verdict.upper())}</span></h1>',
        f'<p class="meta">run {_e(summary.run_id)} &middot; profile {_e(summary.profile)} &middot; '
        f"source {_e(summary.source or '-')} &middot; region {_e(summary.region or '-')} &middot; "
        f"started {_e(summary.started_at)} &middot; {summary.duration_s:.1f} s"
        + (f" &middot; shard {_e(summary.shard)}" if summary.shard else "")
        + "</p>",
        f"<p>{counts['passed']} passed, {counts['failed']} failed, {counts['error']} error, "
        f"{counts['skipped']} skipped{_e(unverified_clause(counts))}{_e(advice_clause(summary))}</p>",
    ]
    parts += [f"<p><em>{_e(note)}</em></p>" for note in summary.notes]
    if summary.left_behind:
        parts.append(
            f"<p><strong>Left behind</strong> ({len(summary.left_behind)}, remove by key):</p><ul>"
            + "".join(f"<li>{_e(item.line())}</li>" for item in summary.left_behind)
            + "</ul>"
        )
    first = first_problem(summary)
    if first is not None:
        parts.append(
            f'<p><strong>First to fix:</strong> <a href="#{anchor(first.id)}">{_e(first.title)}</a>: '
            f"{_e(first.message)}</p>"
        )
    if summary.gate is not None:
        parts.append(f"<h2>Gate: {_e(summary.gate.verdict.upper())}</h2>")
        parts.append(f'<p class="meta">policy: {_e(summary.gate.policy)}</p><ul>')
        parts += [f"<li>{_e(reason)}</li>" for reason in summary.gate.reasons]
        parts.append("</ul>")
    unreached = [c for c in summary.checks if c.status is Status.UNVERIFIED]
    if unreached:
        # Its own section: not reachable from where verify ran is neither a pass nor a failure.
        parts.append("<h2>Not verified from here</h2><ul>")
        parts += [
            f'<li><a href="#{anchor(c.id)}">{_e(c.title)}</a>: '
            f"{_e(c.message.removeprefix('not verified from here: '))}</li>"
            for c in sorted(unreached, key=lambda c: c.id)
        ]
        parts.append("</ul>")
    advice = summary.advice()
    if advice:
        # After failures and what could not be reached: advisory findings no policy blocks on.
        parts.append(f"<h2>Advice ({len(advice)})</h2>")
        parts.append('<p class="meta">advisory findings: worth a look, not why a gate fails</p><ul>')
        parts += [
            f'<li><a href="#{anchor(c.id)}">{_e(c.title)}</a>: {_e(c.message)}</li>'
            for c in sorted(advice, key=lambda c: (c.service, c.id))
        ]
        parts.append("</ul>")
    parts += _timeline(summary)
    parts += _stacks(summary)
    parts.append("<h2>Checks</h2>")
    ordered = sorted(
        summary.checks,
        key=lambda c: (_rank(c), c.severity is not Severity.BLOCKING, c.service, c.id),
    )
    parts += [_check(c) for c in ordered]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _rank(check: CheckResult) -> float:
    # Advice sorts after what could not be reached and before skips: not a failure, still a finding.
    return 2.5 if check.is_advice else _ORDER[check.status]


def _timeline(summary: RunSummary) -> list[str]:
    hops = flow_timeline(summary.checks)
    if not hops:
        return []
    rows = [
        f'<tr><td><a href="#{anchor(h.check_id)}">{_e(h.step)}</a></td>'
        f"<td>{h.at_s:.3f}</td><td>{h.since_previous_s:.3f}</td></tr>"
        for h in hops
    ]
    return [
        "<h2>Flow timeline</h2><table><tr><th>step</th><th>at (s since ingest)</th>"
        "<th>since previous hop (s)</th></tr>",
        *rows,
        "</table>",
    ]


def _stacks(summary: RunSummary) -> list[str]:
    stacks = summary.stacks()
    if not stacks:
        return []
    rows = [
        f"<tr><td>{_e(name)}</td><td>{_e(info['verdict'])}</td>"
        + "".join(f"<td>{info['counts'][s]}</td>" for s in ("passed", "failed", "error", "skipped"))
        + "</tr>"
        for name, info in stacks.items()
    ]
    head = (
        "<tr><th>stack</th><th>verdict</th><th>passed</th><th>failed</th><th>error</th><th>skipped</th></tr>"
    )
    return ["<h2>Stacks</h2><table>", head, *rows, "</table>"]


def _check(check: CheckResult) -> str:
    meta = (
        f"{_e(check.service)} &middot; {_e(check.category)} &middot; {_e(check.severity)} &middot; "
        f"{_e(check.status)} &middot; {check.duration_s:.2f} s &middot; attempts {check.attempts}"
    )
    if check.is_advice:
        meta += " &middot; advice"
    if check.resource:
        meta += f" &middot; resource {_e(check.resource)}"
    if check.stack:
        meta += f" &middot; stack {_e(check.stack)}"
    body = [
        f'<div class="check {"advice" if check.is_advice else _e(check.status)}" id="{anchor(check.id)}">',
        f"<strong>{_e(check.title)}</strong>",
        f'<div class="meta">{meta}<br><code>{_e(check.id)}</code></div>',
    ]
    if check.message:
        body.append(f"<p>{_e(check.message)}</p>")
    if check.waiver:
        body.append(f"<p><em>waived: {_e(check.waiver)}</em></p>")
    if check.evidence:
        opened = " open" if check.status in (Status.FAILED, Status.ERROR) and not check.is_advice else ""
        evidence = readable_json(check.evidence)
        body.append(f"<details{opened}><summary>evidence</summary><pre>{_e(evidence)}</pre></details>")
    body.append("</div>")
    return "\n".join(body)
