"""`verify preflight`: ask the account, read-only, about a template before it is deployed.

The template is `--template PATH`, else the one beside the outputs file (as `discover --intent` finds
it). Its checks (`suites/preflight.py`) run on the engine's runner and write `verify run`'s reports;
the exit code is `run`'s: 0 pass, 1 fail, 2 bad input (nothing asked), 3 could not verify, 130
interrupted. With `--sandbox` the questions go to the embedded sandbox (its platform stack answers
RDS's and ElastiCache's catalogue questions), started and stopped around the run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from verify.errors import UsageError

DEFAULT_REPORT_DIR = "reports"


def add_command(sub: Any) -> None:
    cmd = sub.add_parser(
        "preflight",
        help="before a deploy: ask the account (read-only) whether a template's engine versions, "
        "instance classes, runtimes, rotations and names will deploy",
        description="Read a template (CDK or CloudFormation JSON/YAML, CDKTF cdk.tf.json, or `terraform "
        "show -json`) and ask the account, read-only, what would fail its deploy. Reports and exit codes "
        "as `verify run` (docs/intent.md, Preflight).",
    )
    cmd.add_argument(
        "--template",
        metavar="PATH",
        help="the template (default: the one beside the outputs file: cdk.out/*.template.json or "
        "cdktf.out/stacks/*/cdk.tf.json in its folder or the folder above)",
    )
    cmd.add_argument(
        "--outputs",
        metavar="PATH",
        help="outputs file to look beside for the template (default: cfn-outputs/flat-outputs.json); "
        "it need not exist",
    )
    cmd.add_argument("--stack", metavar="NAME", help="chooses among several templates found (default: none)")
    cmd.add_argument(
        "--region", metavar="R", help="the region asked about (default: AWS_REGION, then the AWS chain)"
    )
    cmd.add_argument("--config", metavar="PATH", help="harness configuration (default: verify.toml)")
    cmd.add_argument(
        "--report-dir",
        metavar="DIR",
        default=DEFAULT_REPORT_DIR,
        help=f"where reports go (default: {DEFAULT_REPORT_DIR})",
    )
    cmd.add_argument("--policy", metavar="PATH", help="release-gate policy (default: the configuration's)")
    cmd.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPR",
        help="only checks matching this -k expression (default: every check)",
    )
    cmd.add_argument(
        "--json", action="store_true", help="print summary.json to stdout at the end (default: off)"
    )
    cmd.add_argument(
        "--sandbox",
        action="store_true",
        help="ask the embedded sandbox instead of AWS: start it (platform stack), check, stop it (default: off)",
    )


def cmd_preflight(args: argparse.Namespace) -> int:
    from verify.report.files import check_report_dir

    check_report_dir(Path(args.report_dir))  # an unusable report directory: exit 2 before anything
    if args.template is not None and not Path(args.template).exists():
        # Said before any sandbox starts or region is looked up: the one thing the user must fix.
        from verify.intent.documents import read_document

        read_document(args.template)  # raises the template's own sentence (exit 2)
    if args.sandbox:
        return _with_sandbox(args)
    return _preflight(args)


def _preflight(args: argparse.Namespace) -> int:
    from verify.aws.client import Aws
    from verify.config.settings import load_config
    from verify.engine.finish import exit_code
    from verify.engine.preflight import PROFILE, declared_intent, plan_preflight, preflight_session
    from verify.engine.runner import run
    from verify.engine.session import start_session
    from verify.stack.outputs import DEFAULT_OUTPUTS_PATH

    config = load_config(args.config)
    outputs_path = args.outputs or config.outputs_path or DEFAULT_OUTPUTS_PATH
    # The template first: a missing or malformed one is the user's input error (exit 2), said before
    # the region or credentials are looked at.
    from verify.engine.preflight import read_template

    document, stack = read_template(template=args.template, outputs_path=outputs_path, stack=args.stack)
    region = Aws(args.region, read_only=True).region  # no region anywhere: one sentence, exit 3
    intent = declared_intent(document, stack, region)
    base = start_session(
        config=config,
        profile=PROFILE,
        region=region,
        outputs_paths=[],
        stack=None,
        policy=args.policy,
        report_dir=Path(args.report_dir),
        timeout=30.0,
    )
    session = preflight_session(base, intent.source)
    session.policy  # noqa: B018 -- a bad --policy file is a usage error before anything is asked
    planned = plan_preflight(intent, region, args.keyword)
    done = run(session, planned, out=sys.stderr if args.json else sys.stdout)
    summary = Path(args.report_dir) / "summary.json"
    if args.json and summary.is_file():
        print(summary.read_text(encoding="utf-8"))
    if not planned:
        print(
            f"verify: {intent.source} declares nothing preflight asks about: nothing was verified",
            file=sys.stderr,
        )
        return 3
    return exit_code(done.summary, interrupted=done.interrupted)


def _with_sandbox(args: argparse.Namespace) -> int:
    import tempfile

    from verify.sandbox import require_emulator

    require_emulator()
    from verify.sandbox.manager import spawn_sandbox

    if args.template is None:
        raise UsageError(
            "--sandbox needs --template PATH: the sandbox has no template of yours to look beside"
        )
    with tempfile.TemporaryDirectory(prefix="verify-preflight-") as tmp:
        print("verify: starting the sandbox (platform)...", file=sys.stderr, flush=True)
        handle = spawn_sandbox(
            stacks=("platform",),
            faults=(),
            region=args.region or "us-east-1",
            outputs_path=Path(tmp) / "flat-outputs.json",
            state_dir=Path(tmp) / "state",
        )
        saved = {k: os.environ.get(k) for k in handle.env}
        try:
            os.environ.update(handle.env)
            return _preflight(args)
        finally:
            handle.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
