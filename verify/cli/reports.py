"""The commands that work on finished reports, never on AWS: `gate`, `report merge`, `checks list`.

Split from `cli.py` so the command that runs checks and the ones that judge their results each fit
on a page. Exit codes as `verify run`: 0 pass, 1 fail, 2 usage/input error, 3 could not verify.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from verify.errors import UsageError
from verify.model import RunSummary, Verdict

EXIT_BY_VERDICT = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.ERROR: 3}


def add_commands(sub: Any) -> None:
    gate = sub.add_parser("gate", help="judge a finished run's summary.json against a release-gate policy")
    gate.add_argument("--summary", metavar="PATH", required=True, help="the summary.json of a finished run")
    gate.add_argument(
        "--policy", metavar="PATH", help="a TOML file with a [policy] table (default: --config's)"
    )
    gate.add_argument(
        "--config",
        metavar="PATH",
        help="take the [policy] of this configuration (default: verify.toml, else the built-in policy)",
    )
    gate.add_argument("--json", action="store_true", help="print the gate object as JSON (default: a line)")
    where = gate.add_mutually_exclusive_group()
    where.add_argument(
        "--into",
        metavar="DIR",
        help="write the gated reports (summary.json/.md, report.html, junit.xml) into DIR "
        "(default: write none; the run's own reports stay as they are)",
    )
    where.add_argument(
        "--in-place",
        action="store_true",
        help="rewrite the run's own reports beside --summary with the gate's verdict (default: off)",
    )

    report = sub.add_parser("report", help="work on finished reports: merge")
    report_sub = report.add_subparsers(
        dest="report_command", metavar="ACTION", parser_class=sub._parser_class
    )
    report_sub.required = True
    merge = report_sub.add_parser("merge", help="merge the reports of several shards or stacks into one")
    merge.add_argument("dirs", metavar="DIR", nargs="+", help="report directories (each with summary.json)")
    merge.add_argument("--into", metavar="DIR", required=True, help="where the merged report goes")
    merge.add_argument(
        "--policy", metavar="PATH", help="a TOML file with a [policy] table (default: --config's)"
    )
    merge.add_argument(
        "--config",
        metavar="PATH",
        help="take the [policy] of this configuration (default: verify.toml, else the built-in policy)",
    )

    checks = sub.add_parser("checks", help="the checks catalogue: list")
    checks_sub = checks.add_subparsers(
        dest="checks_command", metavar="ACTION", parser_class=sub._parser_class
    )
    checks_sub.required = True
    listing = checks_sub.add_parser("list", help="every shipped check: id, service, category, fault")
    form = listing.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="machine-readable (default: a table)")
    form.add_argument("--markdown", action="store_true", help="the docs/checks.md page (default: a table)")


def _policy(args: argparse.Namespace) -> tuple[Any, str]:
    from verify.config.settings import load_config, load_policy

    if args.policy:
        return load_policy(args.policy), args.policy
    config = load_config(args.config)
    return config.policy, config.path or "built-in default"


def _print_gate(summary: RunSummary) -> None:
    from verify.escape import terminal  # a reason quotes check titles and messages: data, not commands
    from verify.report.gate import gate_line

    gate = summary.gate
    assert gate is not None  # apply_gate always sets it
    # The gate's own numbers, as every report says them: a skipped check is never counted as a pass.
    line = gate_line(summary)
    print(f"verify gate: {gate.verdict.upper()} under {terminal(gate.policy)} -- {line}")
    for reason in gate.reasons:
        if reason != line:
            print(f"  - {terminal(reason)}")


def cmd_gate(args: argparse.Namespace) -> int:
    from verify.report import read_summary, write_reports
    from verify.report.files import check_report_dir
    from verify.report.gate import apply_gate

    path = Path(args.summary)
    summary = read_summary(path)
    # The run's own reports are its record: rewritten only when asked (--in-place), else the gated
    # ones go to --into, or nowhere (the verdict and its reasons are printed either way).
    target = path.parent if args.in_place else Path(args.into) if args.into else None
    if target is not None:
        option = "--summary's directory" if args.in_place else "--into"
        check_report_dir(target, option, allure=False)
    policy, source = _policy(args)
    judged = apply_gate(summary, policy, source)
    if target is not None:  # summary.json/.md (and the reports rendered from them) now say why
        write_reports(judged, target)
    if args.json:
        print(json.dumps(judged.gate.to_dict() if judged.gate else {}, indent=2))
    else:
        _print_gate(judged)
    return EXIT_BY_VERDICT[judged.verdict]


def cmd_report(args: argparse.Namespace) -> int:
    from verify.report.merge import merge_reports

    dirs = [Path(d) for d in args.dirs]
    for directory in dirs:
        if not (directory / "summary.json").is_file():
            raise UsageError(
                f"report directory {directory} holds no summary.json: pass directories `verify run` wrote"
            )
    policy, source = _policy(args)
    merged = merge_reports(dirs, Path(args.into), policy, source)
    _print_gate(merged)
    print(f"merged {len(dirs)} reports into {args.into}/")
    return EXIT_BY_VERDICT[merged.verdict]


def cmd_checks(args: argparse.Namespace) -> int:
    from verify.cli.catalogue import catalogue_json, catalogue_markdown, collect_catalogue

    entries = collect_catalogue()
    if args.json:
        print(json.dumps(catalogue_json(entries), indent=2))
    elif args.markdown:
        sys.stdout.write(catalogue_markdown(entries))
    else:
        width = max(len(e.id) for e in entries)
        for e in entries:
            faults = ", ".join(e.faults) or "-"
            print(f"{e.id.ljust(width)}  {e.service:<15} {e.category:<10} {faults}")
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "gate": cmd_gate,
    "report": cmd_report,
    "checks": cmd_checks,
}
