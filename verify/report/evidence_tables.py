"""A check's evidence as report.html shows it: tables a person reads, the raw JSON one click away.

- AWS calls by service, operation, status, ms and request id; a run of identical calls (a poll's 40
  `dynamodb Query -> 200`) is one row with its count, its ms range and its last request id;
- HTTP exchanges by request, status, request id and trace id;
- each wait summarised ("119 attempts, 0.3-1 s apart, last seen: no item"), its attempts folded;
- the rest (what the check recorded, expected and actual) as field/value rows.

Every value came from the stack or an API's answer: each is escaped (verify.escape.html_text).
"""

from __future__ import annotations

import html
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from verify.escape import html_text
from verify.report.text import readable_json

_VALUE_CHARS = 300
# Shown elsewhere in the card (asked), or as tables of their own.
_TABLED = {"asked", "aws_calls", "aws_calls_not_shown", "http", "polling", "attempts", "attempts_omitted"}


# ASCII without a control character escapes as html.escape would: the per-character scan of
# `html_text` is for the rest (at 1 000 checks it was 3 of report.html's 4 s).
_ASCII_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f]")


def escape_html(value: object) -> str:
    """`verify.escape.html_text`, faster on plain ASCII (most evidence)."""
    text = str(value)
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return html.escape(text, quote=True)
    return html_text(text)


_e = escape_html


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def _ms(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class CallRun:
    """Consecutive AWS calls alike in service, operation, status and error: one row."""

    service: str
    operation: str
    status: str
    error: str
    ms: list[float] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    count: int = 0

    def same(self, call: dict[str, Any]) -> bool:
        return (self.service, self.operation, self.status, self.error) == _call_key(call)

    def add(self, call: dict[str, Any]) -> None:
        self.count += 1
        ms = _ms(call.get("duration_ms"))
        if ms is not None:
            self.ms.append(ms)
        if call.get("request_id"):
            self.request_ids.append(str(call["request_id"]))

    def ms_text(self) -> str:
        if not self.ms:
            return "-"
        low, high = min(self.ms), max(self.ms)
        return f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}-{high:.0f}"

    def request_text(self) -> str:
        if not self.request_ids:
            return "-"
        more = len(self.request_ids) - 1
        return self.request_ids[-1] + (f" (last; {more} more)" if more else "")


def _call_key(call: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(call.get("service", "?")),
        str(call.get("operation", "?")),
        str(call.get("http_status", "?")),
        str(call.get("error", "") or ""),
    )


def call_runs(calls: list[Any]) -> list[CallRun]:
    runs: list[CallRun] = []
    for call in calls:
        if not isinstance(call, dict):
            continue
        if not runs or not runs[-1].same(call):
            runs.append(CallRun(*_call_key(call)))
        runs[-1].add(call)
    return runs


def wait_summary(count: int, times: list[float], last: object) -> str:
    """ "119 attempts, 0.3-1 s apart, last seen: no item" """
    gaps = [b - a for a, b in itertools.pairwise(times) if b >= a]
    apart = ""
    if gaps:
        low, high = min(gaps), max(gaps)
        apart = f", {low:.1f} s apart" if f"{low:.1f}" == f"{high:.1f}" else f", {low:.1f}-{high:.1f} s apart"
    noun = "attempt" if count == 1 else "attempts"
    return f"{count} {noun}{apart}, last seen: {_short(last)}"


def waits(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    """(what was awaited, its summary) for each wait the evidence holds."""
    found: list[tuple[str, str]] = []
    polls = evidence.get("polling")
    if isinstance(polls, list):
        by_wait: dict[str, list[dict[str, Any]]] = {}
        for poll in polls:
            if isinstance(poll, dict):
                by_wait.setdefault(str(poll.get("wait", "")), []).append(poll)
        for what, polled in by_wait.items():
            numbers = [n for a in polled if isinstance(n := a.get("attempt"), int)]
            times = [t for a in polled if (t := _ms(a.get("at_s"))) is not None]
            count = max(numbers) if numbers else len(polled)
            found.append((what, wait_summary(count, times, polled[-1].get("saw", ""))))
    failed = evidence.get("attempts")
    if isinstance(failed, list) and failed and all(isinstance(a, dict) for a in failed):
        omitted = evidence.get("attempts_omitted")
        count = len(failed) + (omitted if isinstance(omitted, int) else 0)
        times = [t for a in failed if (t := _ms(a.get("at_s"))) is not None]
        summary = wait_summary(count, times, failed[-1].get("observed", ""))
        timeout = _ms(evidence.get("timeout_s"))
        found.append((f"within {timeout:g} s" if timeout is not None else "the wait", summary))
    return found


def evidence_html(evidence: dict[str, Any]) -> str:
    """The tables of one check's evidence, then its raw JSON behind a click."""
    if not evidence:
        return ""
    parts: list[str] = []
    fields = [
        (k, v)
        for k, v in evidence.items()
        if k not in _TABLED or (k == "attempts" and not isinstance(v, list))
    ]
    if fields:
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_short(v))}</td></tr>" for k, v in fields)
        parts.append(f'<table class="fields">{rows}</table>')
    found = waits(evidence)
    if found:
        rows = "".join(f"<tr><td>{_e(what)}</td><td>{_e(text)}</td></tr>" for what, text in found)
        parts.append(f'<table class="waits"><tr><th>waited for</th><th>attempts</th></tr>{rows}</table>')
    calls = evidence.get("aws_calls")
    if isinstance(calls, list) and calls:
        parts.append(_calls_table(call_runs(calls), evidence.get("aws_calls_not_shown")))
    http = evidence.get("http")
    if isinstance(http, list) and http:
        rows = "".join(
            f"<tr><td>{_e(x.get('request', '?'))}</td><td>{_e(x.get('status', '?'))}</td>"
            f"<td><code>{_e(x.get('request_id') or '-')}</code></td><td><code>{_e(x.get('trace_id') or '-')}</code></td></tr>"
            for x in http
            if isinstance(x, dict)
        )
        parts.append(
            '<table class="http"><tr><th>HTTP request</th><th>status</th><th>request id</th>'
            f"<th>trace id</th></tr>{rows}</table>"
        )
    parts.append(
        f'<details class="raw"><summary>raw JSON</summary><pre>{_e(readable_json(evidence))}</pre></details>'
    )
    return "\n".join(parts)


def _calls_table(runs: list[CallRun], not_shown: object) -> str:
    rows = "".join(
        f"<tr><td>{_e(r.service)}</td><td>{_e(r.operation)}</td><td>{_e(r.status)}"
        + (f" {_e(r.error)}" if r.error else "")
        + f"</td><td>{_e(r.ms_text())}</td><td><code>{_e(r.request_text())}</code></td>"
        f"<td>{'&times;' + str(r.count) if r.count > 1 else ''}</td></tr>"
        for r in runs
    )
    if isinstance(not_shown, int) and not_shown:
        rows += f'<tr><td colspan="6">… {not_shown} more calls in the middle, not kept</td></tr>'
    return (
        '<table class="calls"><tr><th>service</th><th>operation</th><th>status</th><th>ms</th>'
        f"<th>request id</th><th>calls</th></tr>{rows}</table>"
    )
