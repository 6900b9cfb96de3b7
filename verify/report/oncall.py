"""The table on-call reads after `verify smoke`: what is wrong first, one line each, then the rest.

A renderer of summary.json's shape, so it lives with the other report writers, not with the probes.
"""

from __future__ import annotations

from typing import Any

from verify.escape import terminal
from verify.model import is_advice
from verify.report.text import error_reason, shorten


def on_call_table(summary: dict[str, Any], limit: int = 30, *, framed: bool = True) -> str:
    """What is wrong first (blocking before advisory, one line each), then one line for the rest.

    Reads summary.json's shape only, so it prints the same for a run that just finished and for a
    report fetched from CI. Errors of one cause are one row ("N checks could not run: <reason>").
    `framed=False`: without its verdict and "the rest" lines, for a console whose closing line says them.
    """
    checks = summary.get("checks", [])
    # Advice (failed, advisory, not waived) is a finding, not what is wrong: listed after, apart.
    advice = [c for c in checks if _advice(c)]
    wrong = [c for c in checks if c.get("status") in ("failed", "error") and not _advice(c)]
    wrong.sort(key=lambda c: (c.get("severity") != "blocking", c.get("status") != "failed", c.get("id", "")))
    lines = [
        f"verify smoke: {terminal(str(summary.get('verdict', '?')).upper())} ({summary.get('duration_s', 0):.1f} s)"
    ]
    wrong = _one_row_per_cause(wrong)
    if wrong:
        rows = [("STATUS", "SEVERITY", "SERVICE", "WHAT IS WRONG")]
        for c in wrong[:limit]:
            # Keys and answers are data: no control character of theirs reaches the terminal.
            reason = terminal(" ".join(str(c.get("message") or c.get("title") or "").split()))
            rows.append(
                (
                    terminal(str(c.get("status", "?")).upper()),
                    terminal(c.get("severity", "")),
                    terminal(c.get("service", "")),
                    reason,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:3])]
            lines.append("  ".join([*cells, shorten(row[3], 240)]))
        if len(wrong) > limit:
            lines.append(f"... and {len(wrong) - limit} more in summary.json")
    else:
        lines.append("nothing is wrong")
    passed = sum(1 for c in checks if c.get("status") == "passed")
    skipped = sum(1 for c in checks if c.get("status") == "skipped")
    unreached = [c for c in checks if c.get("status") == "unverified"]
    for c in unreached[:limit]:
        reason = terminal(" ".join(str(c.get("message") or "").split()))
        lines.append(f"NOT VERIFIED FROM HERE  {terminal(c.get('service', ''))}  {shorten(reason, 160)}")
    for c in advice[:limit]:
        reason = terminal(" ".join(str(c.get("message") or c.get("title") or "").split()))
        lines.append(f"ADVICE  {terminal(c.get('service', ''))}  {shorten(reason, 160)}")
    if len(advice) > limit:
        lines.append(f"... and {len(advice) - limit} more advice in summary.json")
    tail = f", {len(advice)} advice" if advice else ""
    lines.append(f"the rest: {passed} passed, {skipped} skipped (not applicable or writes test data){tail}")
    if not framed:
        lines = [line for line in lines[1:-1] if line != "nothing is wrong"]
    return "\n".join(lines)


def _one_row_per_cause(wrong: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors sharing one cause (no credentials, an unreachable endpoint) as one row, where the first
    of them stood: "64 checks could not run: <reason>", over the services they were about."""
    by_reason: dict[str, list[dict[str, Any]]] = {}
    for c in wrong:
        if c.get("status") == "error":
            by_reason.setdefault(error_reason(str(c.get("message") or "")), []).append(c)
    rows: list[dict[str, Any]] = []
    for c in wrong:
        if c.get("status") != "error":
            rows.append(c)
            continue
        reason = error_reason(str(c.get("message") or ""))
        group = by_reason.get(reason)
        if group is None:
            continue  # already shown as one row
        if len(group) == 1:
            rows.append(c)
        else:
            services = sorted({str(g.get("service", "")) for g in group})
            service = services[0] if len(services) == 1 else f"{len(services)} services"
            rows.append({**c, "service": service, "message": f"{len(group)} checks could not run: {reason}"})
        del by_reason[reason]
    return rows


def _advice(check: dict[str, Any]) -> bool:
    if "advice" in check:  # written by this version's summary.json
        return bool(check["advice"])
    return is_advice(
        str(check.get("status", "")), str(check.get("severity", "")), str(check.get("waiver", ""))
    )
