"""junit.xml from the run summary, valid against the common JUnit schema (Jenkins' junit-10.xsd).

Written from `RunSummary` rather than by pytest, so junit.xml counts exactly what summary.json
counts, merges as easily, and carries the evidence. That schema allows `<properties>` only on a
`<testsuite>`, not on a `<testcase>`: run-level facts (run id, verdict, gate reasons) are suite
properties, and each check's facts and evidence go to its `<system-out>`, which every CI shows.
One `<testsuite>` per service (per stack and service when the run spans stacks).

Advice (a failed advisory check, `CheckResult.is_advice`) follows the gate: the gate passed, and CI
widgets (Jenkins, GitLab, GitHub test reporters) draw every `<failure>` red, and a `<skipped>` would
say it did not run. So an advisory finding is a passing case whose `<system-out>` opens with
"ADVICE: <message>", and a suite property `verify.advice.N` = "<check id>: <message>" lists it where
the run's facts are. Blocking failures, and waived ones, stay `<failure>`. The `failures` and
`skipped` attributes count what the cases hold. `VERIFY_LEGACY_CI_REPORTS=1` writes advice as a
`<failure>` again, its message prefixed `[advisory]` (docs/reports.md).
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections import defaultdict

from verify.model import CheckResult, RunSummary, Severity, Status
from verify.report.allure import legacy_reports
from verify.report.text import readable_json

# XML 1.0 forbids most control characters, even escaped; a probe's output may hold any of them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: object) -> str:
    return _INVALID_XML.sub("?", str(value))


def _run_properties(summary: RunSummary) -> list[tuple[str, str]]:
    props = [
        ("verify.run_id", summary.run_id),
        ("verify.verdict", str(summary.verdict)),
        ("verify.profile", summary.profile),
        ("verify.source", summary.source or "-"),
        ("verify.region", summary.region or "-"),
    ]
    if summary.shard:
        props.append(("verify.shard", summary.shard))
    if summary.gate is not None:
        props.append(("verify.gate.policy", summary.gate.policy))
        props += [(f"verify.gate.reason.{n}", r) for n, r in enumerate(summary.gate.reasons, start=1)]
    props += [(f"verify.env.{k}", v) for k, v in sorted(summary.environment.items())]
    props += [(f"verify.left_behind.{n}", item.line()) for n, item in enumerate(summary.left_behind, start=1)]
    if not legacy_reports():
        props += [
            (f"verify.advice.{n}", f"{c.id}: {c.message}") for n, c in enumerate(summary.advice(), start=1)
        ]
    return props


def _system_out(check: CheckResult, *, advice: bool) -> str:
    lines = [f"ADVICE: {check.message}"] if advice else []
    lines += [
        f"title: {check.title}",
        f"service: {check.service}",
        f"resource: {check.resource or '-'}",
        f"category: {check.category}",
        f"severity: {check.severity}",
        f"status: {check.status}",
        f"attempts: {check.attempts}",
    ]
    if check.stack:
        lines.append(f"stack: {check.stack}")
    if check.waiver:
        lines.append(f"waiver: {check.waiver}")
    if check.message:
        lines.append(f"message: {check.message}")
    if check.evidence:
        lines += ["evidence:", readable_json(check.evidence)]
    return "\n".join(lines)


def _suite_name(check: CheckResult) -> str:
    name = f"verify.{check.stack}.{check.service}" if check.stack else f"verify.{check.service}"
    return _text(name)  # a stack's or a suite's name is text from outside: no character XML forbids


def render_junit(summary: RunSummary) -> str:
    suites: dict[str, list[CheckResult]] = defaultdict(list)
    for check in summary.checks:
        suites[_suite_name(check)].append(check)
    counts = summary.counts()
    legacy = legacy_reports()
    advice = 0 if legacy else len(summary.advice())
    root = ET.Element(
        "testsuites",
        {
            "name": "verify",
            "tests": str(len(summary.checks)),
            "failures": str(counts["failed"] - advice),
            "errors": str(counts["error"]),
            "time": f"{summary.duration_s:.3f}",
        },
    )
    host = socket.gethostname()
    for name in sorted(suites):
        checks = suites[name]
        mine = {s: sum(1 for c in checks if c.status is s) for s in Status}
        advised = 0 if legacy else sum(1 for c in checks if c.is_advice)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": name,
                "tests": str(len(checks)),
                "failures": str(mine[Status.FAILED] - advised),
                "errors": str(mine[Status.ERROR]),
                "skipped": str(mine[Status.SKIPPED] + mine[Status.UNVERIFIED]),
                "time": f"{sum(c.duration_s for c in checks):.3f}",
                "timestamp": summary.started_at,
                "hostname": host,
            },
        )
        properties = ET.SubElement(suite, "properties")
        for key, value in _run_properties(summary):
            ET.SubElement(properties, "property", {"name": key, "value": _text(value)})
        for check in checks:
            _testcase(suite, name, check, advice=check.is_advice and not legacy)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _testcase(suite: ET.Element, classname: str, check: CheckResult, *, advice: bool) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {"classname": classname, "name": _text(check.id), "time": f"{check.duration_s:.3f}"},
    )
    label = "" if check.severity is Severity.BLOCKING else "[advisory] "
    message = _text(label + check.message)
    if advice:
        pass  # a finding the gate does not block on: a passing case, its <system-out> says ADVICE
    elif check.status is Status.FAILED:
        node = ET.SubElement(case, "failure", {"type": "CheckFailed", "message": message})
        node.text = message
    elif check.status is Status.ERROR:
        node = ET.SubElement(case, "error", {"type": "CouldNotVerify", "message": message})
        node.text = message
    elif check.status in (Status.SKIPPED, Status.UNVERIFIED):
        # JUnit has no "not reachable from here": a skip whose message says so keeps CI widgets from
        # reading it as a failure (it is none) or a pass (it is none either).
        ET.SubElement(case, "skipped", {"message": message})
    out = ET.SubElement(case, "system-out")
    out.text = _text(_system_out(check, advice=advice))
