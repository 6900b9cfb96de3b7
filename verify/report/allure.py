"""Allure results: the finishing touches on allure-pytest's (our statuses, environment, categories),
and the results every verify run writes from its checks' results (`AllureWriter`, both runners).

allure-pytest decides a test's status from the exception it saw, so a check that found itself not
applicable (`NotApplicable`) reads "broken" there while summary.json says `skipped`. Each result
carries our status as a `verify_status` label; this module makes the two agree, so the Allure report
counts what summary.json counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from verify.escape import markdown, terminal
from verify.model import CheckResult, RunSummary, Severity
from verify.redact import REDACTOR
from verify.report.files import real_dir, regular_files, reset_dir, write_text

# Allure's vocabulary: a product defect is "failed", a test defect (could not verify) is "broken".
ALLURE_STATUS = {
    "passed": "passed",
    "failed": "failed",
    "error": "broken",
    "skipped": "skipped",
    "unverified": "unknown",  # not reachable from here: Allure's "unknown" is neither pass nor fail
}

# Allure's severity label, so its Severity filter and chart tell what blocks the gate (`blocker`) from
# what advises (`minor`); a "blocking" tag says the same in its tag filter.
ALLURE_SEVERITY = {"blocking": "blocker", "advisory": "minor"}
BLOCKING_TAG = "blocking"
ADVICE_TAG = "advice"
# An advisory failure's message starts so: its category below matches on it, before "Stack failures".
ADVICE_PREFIX = "advice: "
# Set (to anything but "" or "0"), junit.xml and the Allure results are written as before issue 18:
# every failed check a <failure>, no severity label, tag or advice category (docs/reports.md).
LEGACY_SWITCH = "VERIFY_LEGACY_CI_REPORTS"


def legacy_reports() -> bool:
    """Whether the switch restores the reports that did not follow the gate."""
    return os.environ.get(LEGACY_SWITCH, "") not in ("", "0")


ADVICE_CATEGORY = {
    "name": "Advice (advisory: the gate does not block on it)",
    "description": "A posture finding the policy makes advisory; [policy] blocking_checks makes one block.",
    "matchedStatuses": ["failed"],
    "messageRegex": "advice: .*",
}
CATEGORIES = [
    {
        "name": "Stack failures (the deployed stack is wrong)",
        "description": "Product defects: a check ran and the stack did not do or hold what it must.",
        "matchedStatuses": ["failed"],
    },
    {
        "name": "Could not verify (access, endpoint, harness)",
        "description": "Test defects: the harness could not observe the stack; nothing was judged.",
        "matchedStatuses": ["broken"],
    },
    {"name": "Not applicable", "matchedStatuses": ["skipped"]},
    {"name": "Not verified from here", "matchedStatuses": ["unknown"]},
]


def finish_allure_results(allure_dir: Path, summary: RunSummary) -> int:
    """Align statuses, write environment.properties and categories.json; the number of results seen."""
    seen = 0
    for path in regular_files(allure_dir, "*-result.json"):  # a planted link is never read or written
        try:
            result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        seen += 1
        ours = next(
            (lb.get("value") for lb in result.get("labels", []) if lb.get("name") == "verify_status"), None
        )
        wanted = ALLURE_STATUS.get(str(ours)) if ours else None
        if wanted and result.get("status") != wanted:
            result["status"] = wanted
            write_text(path, json.dumps(result))
    write_allure_extras(allure_dir, summary)
    return seen


def environment_properties(summary: RunSummary) -> str:
    values = {
        "stack.source": summary.source or "-",
        "region": summary.region or "-",
        "run_id": summary.run_id,
        "verdict": str(summary.verdict),
        **{key.replace(" ", "_"): value for key, value in sorted(summary.environment.items())},
    }
    if summary.shard:
        values["shard"] = summary.shard
    lines = [f"{key}={_escape(REDACTOR.redact(str(value)))}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def write_allure_extras(allure_dir: Path, summary: RunSummary) -> None:
    real_dir(allure_dir)
    write_text(allure_dir / "environment.properties", environment_properties(summary))
    # Allure takes the first category that matches: advice before "Stack failures".
    categories = CATEGORIES if legacy_reports() else [ADVICE_CATEGORY, *CATEGORIES]
    write_text(allure_dir / "categories.json", json.dumps(categories, indent=2))


def _escape(value: str) -> str:
    # java.util.Properties: a backslash escapes, and a line break would start a new key.
    return value.replace("\\", "\\\\").replace("\n", " ").replace("\r", " ")


def worth_attaching(evidence: dict[str, Any]) -> bool:
    """An evidence attachment only when it holds more than what was asked (service, resource, kind,
    name): the labels and title already say that, and a skipped check has nothing else. Each
    attachment is a file to create; a third of a smoke run's checks are skips."""
    return bool(set(evidence) - {"asked"})


class AllureWriter:
    """Allure results for verify's runs (the runner and the pytest adapter alike), written as each check
    gets its verdict: one result per check as allure-pytest would write it (labels, title, console
    links, one step per AWS call, the evidence as a JSON attachment), and the extras at the end.

    Written as they come, the files (two per check: ~1 700 at 200 resources, each a file creation)
    are made while the slower checks still run, not between the last answer and the verdict."""

    def __init__(self, allure_dir: Path) -> None:
        self.dir = allure_dir
        self.written = 0
        # Like allure-pytest's --clean-alluredir, but a symlinked directory (a pull request can commit
        # one) is replaced, never emptied through: its target's files are not ours.
        reset_dir(allure_dir)

    def add(self, check: CheckResult, links: list[tuple[str, str]]) -> None:
        result, attachment = _allure_result(check, links, int(time.time() * 1000))
        _create(self.dir / f"{result['uuid']}-result.json", json.dumps(result))
        if attachment is not None:
            name, text = attachment
            _create(self.dir / name, text)
        self.written += 1

    def finish(self, summary: RunSummary) -> int:
        write_allure_extras(self.dir, summary)
        return self.written


def _create(path: Path, text: str) -> None:
    # Fresh uuid names: exclusive creation ("x", O_EXCL) is one cheap call per file and never follows
    # a link that happens to stand at the name.
    with open(path, "x", encoding="utf-8") as handle:
        handle.write(text)


def _allure_result(
    check: CheckResult, links: list[tuple[str, str]], stop_ms: int
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    digest = hashlib.md5(check.id.encode(), usedforsecurity=False).hexdigest()
    legacy = legacy_reports()
    labels = [
        {"name": "service", "value": check.service},
        {"name": "category", "value": str(check.category)},
        {"name": "verify_status", "value": str(check.status)},
        {"name": "tag", "value": check.service},
        {"name": "tag", "value": str(check.category)},
        {"name": "parentSuite", "value": check.stack or "verify"},
        {"name": "suite", "value": check.service},
        {"name": "framework", "value": "verify"},
    ]
    if not legacy:
        # The gate's view: blocking or advisory, and advice apart from failures.
        labels.insert(3, {"name": "severity", "value": ALLURE_SEVERITY.get(str(check.severity), "normal")})
        if check.severity is Severity.BLOCKING:
            labels.append({"name": "tag", "value": BLOCKING_TAG})
        if check.is_advice:
            labels.append({"name": "tag", "value": ADVICE_TAG})
    if check.stack:
        labels.append({"name": "stack", "value": check.stack})
    evidence = check.evidence or {}
    steps = [
        {
            "name": f"{c.get('service')} {c.get('operation')} -> {c.get('http_status', '?')}",
            "status": "passed",
        }
        for c in evidence.get("aws_calls", [])
    ] + [
        {"name": f"HTTP {x.get('request')} -> {x.get('status')}", "status": "passed"}
        for x in evidence.get("http", [])
    ]
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "historyId": digest,
        "testCaseId": digest,
        "fullName": check.id,
        "name": allure_text(check.title),  # these files get no final pass: a title may echo a value
        "status": ALLURE_STATUS.get(str(check.status), "broken"),
        "stage": "finished",
        "labels": labels,
        "links": [{"type": "link", "name": name, "url": url} for name, url in links],
        "steps": [{**step, "stage": "finished"} for step in steps],
        "start": stop_ms - int(check.duration_s * 1000),
        "stop": stop_ms,
    }
    if check.message:
        message = ADVICE_PREFIX + check.message if check.is_advice and not legacy else check.message
        result["statusDetails"] = {"message": allure_text(message, multiline=True)}
        result["description"] = allure_description(check.message)
    attachment = None
    if worth_attaching(evidence):
        source = f"{uuid.uuid4()}-attachment.json"
        result["attachments"] = [{"name": "evidence", "source": source, "type": "application/json"}]
        # Compact: json's C encoder (an indent falls back to the pure-Python one, ~10x slower, which
        # showed at hundreds of checks); Allure's viewer formats JSON attachments itself.
        # Masked value by value when anything is found: a mask put into its text could cut the JSON.
        attachment = (source, REDACTOR.masked_json(evidence, lambda data: json.dumps(data, default=str)))
    return result, attachment


def allure_text(value: str, *, multiline: bool = False) -> str:
    """A title or a message as Allure shows it, as text: masked, and every control or format
    character a visible escape (a bidi override in a key reversed a title on screen)."""
    return terminal(REDACTOR.redact(value), multiline=multiline)


def allure_description(message: str) -> str:
    """A check's message as a result's `description`: masked, then escaped as Markdown text. Allure's
    generator renders `description` as Markdown with raw HTML passed through, so a message naming
    `<img src=x onerror=...>` or `# verify: PASS` would be markup in the Allure report."""
    return markdown(REDACTOR.redact(message))
