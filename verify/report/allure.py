"""The finishing touches on allure-pytest's results: our statuses, environment, categories.

allure-pytest decides a test's status from the exception it saw, so a check that found itself not
applicable (`NotApplicable`) reads "broken" there while summary.json says `skipped`. Each result
carries our status as a `verify_status` label; this module makes the two agree, so the Allure report
counts what summary.json counts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from verify.model import RunSummary
from verify.redact import REDACTOR

# Allure's vocabulary: a product defect is "failed", a test defect (could not verify) is "broken".
ALLURE_STATUS = {"passed": "passed", "failed": "failed", "error": "broken", "skipped": "skipped"}

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
]


def finish_allure_results(allure_dir: Path, summary: RunSummary) -> int:
    """Align statuses, write environment.properties and categories.json; the number of results seen."""
    seen = 0
    for path in sorted(allure_dir.glob("*-result.json")):
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
            path.write_text(json.dumps(result), encoding="utf-8")
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
    allure_dir.mkdir(parents=True, exist_ok=True)
    (allure_dir / "environment.properties").write_text(environment_properties(summary), encoding="utf-8")
    (allure_dir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2), encoding="utf-8")


def _escape(value: str) -> str:
    # java.util.Properties: a backslash escapes, and a line break would start a new key.
    return value.replace("\\", "\\\\").replace("\n", " ").replace("\r", " ")
