"""`verify report merge`: the reports of several shards or stacks as one report with one verdict.

The checks of every input are concatenated and judged again under one policy (so the merged verdict
is exactly what one run over all the checks would have said); junit.xml is rendered from the merged
summary (one document, every suite); allure-results are copied side by side. A shard set with a
shard missing never merges into a green verdict.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from verify.config.settings import Policy
from verify.errors import UsageError
from verify.model import RunSummary, Verdict
from verify.report import read_summary, write_reports
from verify.report.allure import write_allure_extras
from verify.report.files import check_report_dir, real_dir, regular_files, write_bytes
from verify.report.gate import apply_gate


def merge_summaries(summaries: list[RunSummary], labels: list[str]) -> RunSummary:
    sources = list(dict.fromkeys(s.source for s in summaries))
    checks = []
    for summary in summaries:
        for check in summary.checks:
            if len(sources) > 1 and not check.stack:
                # Runs over different stacks: each check says which one it verified.
                check = dataclasses.replace(check, stack=Path(summary.source).stem or summary.source)
            checks.append(check)
    notes = [f"merged from {len(summaries)} reports: {', '.join(labels)}"]
    for summary in summaries:
        notes += [n for n in summary.notes if n not in notes]
    notes += _missing_shards(summaries)
    environment = dict(summaries[0].environment)
    aws_calls: dict[str, int] = {}
    for summary in summaries:
        for operation, count in summary.aws_calls.items():
            aws_calls[operation] = aws_calls.get(operation, 0) + count
    profiles = {s.profile for s in summaries}
    return RunSummary(
        verdict=Verdict.ERROR,  # judged by the gate below
        profile=profiles.pop() if len(profiles) == 1 else "mixed",
        run_id="+".join(dict.fromkeys(s.run_id for s in summaries)),
        started_at=min(s.started_at for s in summaries),
        duration_s=max(s.duration_s for s in summaries),  # shards run side by side
        source=", ".join(sources),
        region=next((s.region for s in summaries if s.region), None),
        checks=checks,
        notes=notes,
        interrupted=any(s.interrupted for s in summaries),
        environment=environment,
        aws_calls=aws_calls,
        left_behind=[item for summary in summaries for item in summary.left_behind],
    )


def refuse_duplicates(dirs: list[Path], summaries: list[RunSummary]) -> None:
    """One report given twice (the same directory, a copy of it: one run id), or one shard of one
    stack twice, would count its checks twice: refused with one sentence, exit 2."""
    runs: dict[tuple[str, str], Path] = {}  # shards of one run may share its id (a --run-id of ours)
    shards: dict[tuple[str, str], Path] = {}
    for directory, summary in zip(dirs, summaries, strict=True):
        first = runs.get((summary.run_id, summary.shard))
        if first is not None:
            raise UsageError(
                f"report merge: {directory} holds the same run as {first} ({summary.run_id}): pass each report once"
            )
        runs[(summary.run_id, summary.shard)] = directory
        if summary.shard:
            first = shards.get((summary.source, summary.shard))
            if first is not None:
                raise UsageError(
                    f"report merge: {directory} is shard {summary.shard} of {summary.source} again "
                    f"(so is {first}): pass each shard once"
                )
            shards[(summary.source, summary.shard)] = directory


def _missing_shards(summaries: list[RunSummary]) -> list[str]:
    shards = [s.shard for s in summaries if s.shard]
    if not shards:
        return []
    totals = {int(s.split("/")[1]) for s in shards}
    seen = {int(s.split("/")[0]) for s in shards}
    notes = []
    for total in sorted(totals):
        missing = sorted(set(range(1, total + 1)) - seen)
        if missing:
            notes.append(
                "incomplete: shard "
                + ", ".join(f"{i}/{total}" for i in missing)
                + " is missing from the merge"
            )
    return notes


def merge_reports(dirs: list[Path], into: Path, policy: Policy, policy_source: str) -> RunSummary:
    if not dirs:
        raise UsageError("report merge needs at least one report directory")
    summaries = [read_summary(d / "summary.json") for d in dirs]
    refuse_duplicates(dirs, summaries)
    merged = merge_summaries(summaries, [str(d) for d in dirs])
    judged = apply_gate(merged, policy, policy_source)
    incomplete = [n for n in merged.notes if n.startswith("incomplete:")]
    if incomplete and judged.gate is not None:
        # Part of the checks never ran: whatever the rest says, that is not a pass.
        verdict = Verdict.FAIL if judged.verdict is Verdict.FAIL else Verdict.ERROR
        gate = dataclasses.replace(judged.gate, verdict=verdict, reasons=[*judged.gate.reasons, *incomplete])
        judged = dataclasses.replace(judged, verdict=verdict, gate=gate)
    check_report_dir(into, "--into")
    _copy_allure(dirs, into / "allure-results")
    write_allure_extras(into / "allure-results", judged)
    write_reports(judged, into)
    return judged


def _copy_allure(dirs: list[Path], target: Path) -> None:
    real_dir(target)
    for number, source_dir in enumerate(dirs, start=1):
        allure = source_dir / "allure-results"
        if allure.is_symlink() or not allure.is_dir() or allure.resolve() == target.resolve():
            continue  # a linked results directory is not a run's own: never read through it
        for path in regular_files(allure):
            if path.name in ("environment.properties", "categories.json"):
                continue
            destination = target / path.name
            if destination.exists() or destination.is_symlink():
                # uuid-named files never collide in practice; when they do, keep both.
                destination = target / f"shard{number}-{path.name}"
            write_bytes(destination, path.read_bytes())
