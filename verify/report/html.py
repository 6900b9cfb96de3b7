"""report.html: one self-contained page for people without Allure, in the order a reader needs
(verify.report.sections): verdict and gate line, what to fix first, what is wrong, not verified from
here, advice, the flow as a picture, then the passes per service folded away.

No external asset (inline CSS and SVG, no script). Every check is a card collapsed by default: its
title and message on the closed card, its evidence as tables (verify.report.evidence_tables) and the
raw JSON one more click away. Every string from the run is HTML-escaped -- a check message or an
HTTP body is data, never markup.
"""

from __future__ import annotations

import verify.report.sections as sections
from verify.model import CheckResult, RunSummary, Status
from verify.report.evidence_tables import escape_html, evidence_html
from verify.report.gate import gate_line
from verify.report.markdown import advice_clause, anchor, unverified_clause
from verify.report.timeline import FAILED, SEEN, Hop, flow_timeline

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
h1 .pass{color:#1a7f37}h1 .fail{color:#cf222e}h1 .error{color:#9a6700}
.gateline{font-size:110%;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.4em 0 1em}
th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
table.fields th{width:14em}
.check{border:1px solid #d0d7de;border-radius:6px;margin:.35em 0;padding:.3em .7em}
.check>summary{cursor:pointer}
.check .msg{color:#57606a}
.failed{border-left:6px solid #cf222e}.error{border-left:6px solid #9a6700}
.unverified{border-left:6px solid #8250df}
.skipped{border-left:6px solid #8c959f}.advice{border-left:6px solid #0969da}.passed{border-left:6px solid #1a7f37}
.badge{display:inline-block;font-size:80%;font-weight:700;padding:0 .4em;border-radius:4px;color:#fff;background:#57606a}
.badge.failed{background:#cf222e}.badge.error{background:#9a6700}.badge.passed{background:#1a7f37}
.badge.advice{background:#0969da}.badge.unverified{background:#8250df}.badge.skipped{background:#8c959f}
.meta{color:#57606a;font-size:90%}
details.group{margin:.3em 0}details.group>summary{cursor:pointer;font-weight:600}
pre{background:#f6f8fa;padding:.6em;overflow:auto;white-space:pre-wrap;word-break:break-word}
svg.flow text{font:12px system-ui,sans-serif}
"""
_BADGE = {
    Status.FAILED: "FAILED",
    Status.ERROR: "ERROR",
    Status.UNVERIFIED: "NOT VERIFIED",
    Status.SKIPPED: "N/A",
    Status.PASSED: "PASSED",
}


_e = escape_html


def render_html(summary: RunSummary) -> str:
    counts = summary.counts()
    verdict = str(summary.verdict)
    line = gate_line(summary)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>verify: {_e(verdict.upper())} - {_e(summary.run_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f'<h1>verify: <span class="{_e(verdict)}">{_e(verdict.upper())}</span></h1>',
        f'<p class="gateline" id="gate-line">{_e(line)}</p>',
        f'<p class="meta">run {_e(summary.run_id)} &middot; profile {_e(summary.profile)} &middot; '
        f"source {_e(summary.source or '-')} &middot; region {_e(summary.region or '-')} &middot; "
        f"started {_e(summary.started_at)} &middot; {summary.duration_s:.1f} s"
        + (f" &middot; shard {_e(summary.shard)}" if summary.shard else "")
        + (f" &middot; gate policy {_e(summary.gate.policy)}" if summary.gate is not None else "")
        + "</p>",
        f"<p>{counts['passed']} passed, {sections.failures(summary)} failed, {counts['error']} error, "
        f"{counts['skipped']} skipped{_e(unverified_clause(counts))}{_e(advice_clause(summary))}</p>",
    ]
    first = sections.first_problem(summary)
    if first is not None:
        parts.append(
            f'<p id="first-to-fix"><strong>First to fix:</strong> <a href="#{anchor(first.id)}">{_e(first.title)}</a>: '
            f"{_e(first.message)}</p>"
        )
    reasons = sections.gate_reasons(summary, line)
    if reasons:
        bullets = "<ul>" + "".join(f"<li>{_e(reason)}</li>" for reason in reasons) + "</ul>"
        # Many reasons repeat "What is wrong" check by check: folded, they do not push it down.
        folded = len(reasons) > sections.OPEN_REASONS_MAX
        parts.append(
            f'<details class="group"><summary>The gate\'s {len(reasons)} reasons</summary>{bullets}</details>'
            if folded
            else bullets
        )
    parts += [f"<p><em>{_e(note)}</em></p>" for note in summary.notes]
    if summary.left_behind:
        parts.append(
            f"<p><strong>Left behind</strong> ({len(summary.left_behind)}, remove by key):</p><ul>"
            + "".join(f"<li>{_e(item.line())}</li>" for item in summary.left_behind)
            + "</ul>"
        )
    parts += _cards("What is wrong", "problems", sections.problems(summary))
    # Not reachable from where verify ran is neither a pass nor a failure: a section of its own.
    parts += _cards("Not verified from here", "unverified", sections.unreached(summary))
    # After failures and what could not be reached: advisory findings no policy blocks on.
    parts += _cards("Advice", "advice", sections.advice(summary))
    parts += _flow(summary)
    parts += _stacks(summary)
    parts += _passes(summary)
    parts += _not_applicable(summary)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _cards(heading: str, section_id: str, checks: list[CheckResult]) -> list[str]:
    if not checks:
        return []
    return [f'<h2 id="{section_id}">{_e(heading)} ({len(checks)})</h2>', *(_card(c) for c in checks)]


def _card(check: CheckResult) -> str:
    kind = "advice" if check.is_advice else str(check.status)
    badge = "ADVICE" if check.is_advice else _BADGE[check.status]
    meta = (
        f"{_e(check.service)} &middot; {_e(check.category)} &middot; {_e(check.severity)} &middot; "
        f"{_e(check.status)} &middot; {check.duration_s:.2f} s &middot; attempts {check.attempts}"
    )
    if check.resource:
        meta += f" &middot; resource {_e(check.resource)}"
    if check.stack:
        meta += f" &middot; stack {_e(check.stack)}"
    message = f' <span class="msg">{_e(check.message)}</span>' if check.message else ""
    body = [
        # Collapsed by default: the title and the message say what happened; the evidence is a click.
        f'<details class="check {_e(kind)}" id="{anchor(check.id)}">',
        f'<summary><span class="badge {_e(kind)}">{badge}</span> <strong>{_e(check.title)}</strong>{message}</summary>',
        f'<div class="meta">{meta}<br><code>{_e(check.id)}</code></div>',
    ]
    if check.waiver:
        body.append(f"<p><em>waived: {_e(check.waiver)}</em></p>")
    asked = check.evidence.get("asked") if isinstance(check.evidence, dict) else None
    if isinstance(asked, dict):
        body.append(
            '<p class="meta">asked: '
            + " &middot; ".join(f"{_e(k)} {_e(v)}" for k, v in asked.items() if v not in ("", None))
            + "</p>"
        )
    if check.evidence:
        body.append(evidence_html(check.evidence))
    body.append("</details>")
    return "\n".join(body)


# ---------------------------------------------------------------------- the flow as a picture

_LEFT, _PLOT, _ROW, _TOP = 96, 520, 26, 30
_COLOURS = {SEEN: "#1a7f37", FAILED: "#cf222e"}


def _x(at: float, scale: float) -> float:
    return _LEFT + at * scale


def flow_svg(hops: list[Hop]) -> str:
    """The reading's hops as a waterfall: one row per hop in causal order, a bar from the previous
    seen hop to when this one became visible; a failed hop a red cross, an unseen one a hollow ring."""
    end = max(
        [h.at_s for h in hops if h.at_s is not None] + [h.waited_s for h in hops if h.waited_s] + [0.001]
    )
    scale = _PLOT / (end * 1.05)
    width, height = _LEFT + _PLOT + 250, _TOP + _ROW * len(hops) + 10
    out = [
        f'<svg class="flow" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="the reading\'s path, hop by hop">',
        "<title>The reading's path, hop by hop, timed from when each signal became visible</title>",
        f'<line x1="{_LEFT}" y1="{_TOP - 8}" x2="{_LEFT + _PLOT}" y2="{_TOP - 8}" stroke="#8c959f"/>',
    ]
    for tick in range(5):
        t = end * 1.05 * tick / 4
        x = _x(t, scale)
        out.append(
            f'<line x1="{x:.1f}" y1="{_TOP - 12}" x2="{x:.1f}" y2="{height - 6}" stroke="#eaeef2"/>'
            f'<text x="{x:.1f}" y="{_TOP - 14}" text-anchor="middle" fill="#57606a">{t:.2f} s</text>'
        )
    previous = 0.0
    for row, hop in enumerate(hops):
        y = _TOP + _ROW * row + _ROW / 2
        colour = _COLOURS.get(hop.state, "#8c959f")
        out.append(
            f'<g class="hop {hop.state}" data-hop="{_e(hop.hop)}">'
            f'<text x="8" y="{y + 4:.1f}" fill="{colour}" font-weight="600">{_e(hop.hop)}</text>'
        )
        start = _x(previous, scale)
        if hop.state == SEEN and hop.at_s is not None:
            x = _x(hop.at_s, scale)
            # The latency bar, from the previous seen hop; none when this one was seen before it (latency 0).
            if x > start:
                out.append(
                    f'<rect x="{start:.1f}" y="{y - 4:.1f}" width="{max(x - start, 1.5):.1f}" height="8" '
                    f'rx="3" fill="{colour}" opacity="0.35"/>'
                )
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"/>'
                f'<text x="{x + 9:.1f}" y="{y + 4:.1f}">+{hop.latency_s or 0:.3f} s (at {hop.at_s:.3f} s)</text>'
            )
            previous = max(previous, hop.at_s)
        elif hop.state == FAILED:
            # Where its wait gave up (its timeout after the reading was sent), else the axis's end.
            x = _x(hop.waited_s, scale) if hop.waited_s else _LEFT + _PLOT
            within = f" within {hop.waited_s:g} s" if hop.waited_s else ""
            out.append(
                f'<line x1="{start:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{colour}" '
                'stroke-dasharray="4 3"/>'
                f'<path d="M{x - 5:.1f},{y - 5:.1f} l10,10 m0,-10 l-10,10" stroke="{colour}" stroke-width="2.5"/>'
                f'<text x="{x + 10:.1f}" y="{y + 4:.1f}" fill="{colour}">failed: not seen{within}</text>'
            )
        else:
            out.append(
                f'<circle cx="{start:.1f}" cy="{y:.1f}" r="5" fill="none" stroke="{colour}" stroke-width="1.5"/>'
                f'<text x="{start + 10:.1f}" y="{y + 4:.1f}" fill="{colour}">not seen</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _flow(summary: RunSummary) -> list[str]:
    hops = flow_timeline(summary.checks)
    if not hops:
        return []
    rows = []
    for hop in hops:
        check = f'<a href="#{anchor(hop.check_id)}">{_e(hop.title)}</a>' if hop.check_id else "-"
        rows.append(
            f'<tr class="hop-{hop.state}"><td>{_e(hop.hop)}</td><td>{hop.state}</td>'
            f"<td>{'' if hop.at_s is None else f'{hop.at_s:.3f}'}</td>"
            f"<td>{'' if hop.latency_s is None else f'{hop.latency_s:.3f}'}</td>"
            f"<td>{check}</td><td>{_e(hop.reason)}</td></tr>"
        )
    return [
        '<h2 id="flow">Flow</h2>',
        '<p class="meta">The reading\'s path in causal order; each hop timed from when its signal became '
        "visible (the poll that first saw it), not from when its check finished.</p>",
        flow_svg(hops),
        "<table><tr><th>hop</th><th>state</th><th>visible at (s after ingest)</th><th>hop latency (s)</th>"
        "<th>check</th><th>why not seen</th></tr>",
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


def _passes(summary: RunSummary) -> list[str]:
    groups = sections.by_service(summary)
    if not groups:
        return []
    passed = sum(len(g.passed) for g in groups)
    rows = "".join(
        f"<tr><td>{_e(g.label)}</td><td>{g.count(Status.PASSED)}</td><td>{g.count(Status.SKIPPED) or ''}</td>"
        f"<td>{g.others or ''}</td></tr>"
        for g in groups
    )
    parts = [
        f'<h2 id="passes">Passed, by service ({passed})</h2>',
        "<table><tr><th>service</th><th>passed</th><th>not applicable</th><th>listed above</th></tr>"
        f"{rows}</table>",
    ]
    for group in groups:
        if group.passed:
            # Folded away: one line per service (the outputs' own checks one per stack) until opened.
            parts.append(
                f'<details class="group"><summary>{_e(group.label)}: {len(group.passed)} passed</summary>'
            )
            parts += [_card(c) for c in sorted(group.passed, key=lambda c: c.id)]
            parts.append("</details>")
    return parts


def _not_applicable(summary: RunSummary) -> list[str]:
    skipped = sections.not_applicable(summary)
    if not skipped:
        return []
    return [
        f'<details class="group" id="not-applicable"><summary>Not applicable here ({len(skipped)})</summary>',
        *(_card(c) for c in skipped),
        "</details>",
    ]
