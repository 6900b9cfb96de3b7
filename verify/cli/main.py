"""The `verify` command. Thin: `run`/`smoke` build pytest arguments and call `pytest.main` (one
execution path); `discover`, `init`, `sandbox`, `gate`, `report merge` and `checks list` call the
library directly (`verify.cli.reports` holds the last three).

Exit codes (docs/reference.md): 0 pass, 1 fail, 2 usage/input error, 3 could not verify, 130 interrupted.
Every `VerifyError` becomes one sentence on stderr; a traceback only ever appears for a bug, and even
then after a sentence that says so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.errors import UsageError, VerifyError
from verify.gc_pace import pace as pace_collector
from verify.version import __version__

if TYPE_CHECKING:
    from verify.engine.session import VerifySession

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: Mapping[str, argparse.ArgumentParser] = {}  # each command's parser, for its errors

    def error(self, message: str) -> Any:  # argparse's own exit code 2 is ours too; keep the usage line
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"verify: error: {message}\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        # argparse reports a command's unknown option from the top parser, with `verify COMMAND ...`
        # as the usage: the reader of `verify run --bogus` needs run's usage line instead.
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            command = self.commands.get(str(getattr(parsed, "command", "")), self)
            command.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed


def _add_stack_options(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    if several:
        parser.add_argument(
            "--outputs",
            metavar="PATH",
            action="append",
            help="outputs file (default: cfn-outputs/flat-outputs.json); repeat it to verify several stacks",
        )
    else:
        parser.add_argument(
            "--outputs", metavar="PATH", help="outputs file (default: cfn-outputs/flat-outputs.json)"
        )
    parser.add_argument(
        "--stack",
        metavar="NAME",
        help="read outputs live from this CloudFormation stack; with --outputs, pick this stack of them "
        "(default: none, every stack the outputs name)",
    )
    parser.add_argument(
        "--region", metavar="R", help="AWS region (default: from the outputs, then the AWS chain)"
    )
    parser.add_argument("--config", metavar="PATH", help="harness configuration (default: verify.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="verify", description="Verify a deployed AWS stack, with evidence.")
    parser.add_argument("--version", action="version", version=f"verify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    parser.commands = sub.choices  # the live map: filled as each command is added below

    for name, help_text in (
        ("run", "verify a deployed stack and write reports"),
        ("smoke", "read-only fast check (run --profile smoke)"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        _add_stack_options(cmd, several=True)
        if name == "run":
            cmd.add_argument(
                "--profile",
                choices=("full", "smoke"),
                default="full",
                help="full may write tagged test data and removes it; smoke only reads (default: full)",
            )
        cmd.add_argument(
            "--report-dir", metavar="DIR", default="reports", help="where reports go (default: reports)"
        )
        cmd.add_argument(
            "--timeout",
            metavar="S",
            type=_positive_float,
            default=90.0,
            help="the budget of each wait for the stack (default: 90); the checks end by 2 x S + 60 s, clean-up 30 s later",
        )
        cmd.add_argument(
            "--workers",
            metavar="N",
            type=_workers,
            default=None,
            help="run a --suite's checks in N pytest-xdist processes, each group (the flow) and shipped "
            "module in one (default: one process; the shipped checks already run concurrently in it)",
        )
        cmd.add_argument(
            "--suite",
            metavar="PATH",
            action="append",
            default=[],
            help="your own pytest checks, beside the shipped ones; repeatable (default: the shipped ones only)",
        )
        cmd.add_argument(
            "--template",
            metavar="PATH",
            help="the stack's own template to check the live stack against (default: the one beside the "
            "outputs; docs/intent.md)",
        )
        cmd.add_argument("--sandbox", action="store_true", help="start the embedded sandbox, run, stop it")
        cmd.add_argument(
            "--sandbox-stack",
            choices=("pipeline", "platform", "both"),
            default="both",
            help="with --sandbox: which of the sandbox's stacks to start (default: both)",
        )
        cmd.add_argument(
            "--fault",
            action="append",
            default=[],
            help="with --sandbox: inject a sandbox fault; repeatable (`verify sandbox faults` lists them) "
            "(default: none)",
        )
        cmd.add_argument(
            "-k",
            dest="keyword",
            metavar="EXPR",
            help="only checks matching this pytest -k expression (default: every check)",
        )
        cmd.add_argument("--json", action="store_true", help="print summary.json to stdout at the end")
        cmd.add_argument(
            "--quiet",
            action="store_true",
            help="no progress: no live status line, no heartbeat line, no sandbox start-up step; the "
            "problems and the closing line still print (default: off)",
        )
        cmd.add_argument(
            "--policy",
            metavar="PATH",
            help="release-gate policy: a TOML file whose [policy] overrides config's (default: config's)",
        )
        cmd.add_argument(
            "--shard",
            metavar="I/N",
            type=_shard,
            help="run only shard I of N (for parallel CI jobs) (default: every check)",
        )
        cmd.add_argument(
            "--run-id",
            metavar="ID",
            help="a label: the run id becomes vfy-ID-<random> (default: vfy-<time>-<random>)",
        )

    discover = sub.add_parser("discover", help="print what the outputs name, resource by resource")
    _add_stack_options(discover)
    discover.add_argument("--json", action="store_true", help="machine-readable output")
    discover.add_argument("--resolve", action="store_true", help="ask AWS (read-only) about ambiguous names")
    discover.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow the stack's wiring and its CloudFormation resource list from what the outputs name "
        "(read-only, at most 60 AWS calls); --no-follow lists only what the outputs name, asking AWS nothing "
        "(default: --follow)",
    )
    discover.add_argument(
        "--intent",
        action="store_true",
        help="also print what the stack's template declares (found beside the outputs; docs/intent.md)",
    )
    discover.add_argument(
        "--template",
        metavar="PATH",
        help="the template to read for --intent (default: the one beside the outputs)",
    )

    init = sub.add_parser("init", help="write a commented verify.toml from what discovery finds")
    _add_stack_options(init)
    init.add_argument("--force", action="store_true", help="overwrite an existing verify.toml")
    init.add_argument(
        "--learn-flow",
        action="store_true",
        help="ask the stack (read-only) for the reading's shape and write it as [flow] payload",
    )

    from verify.cli.preflight import add_command as add_preflight
    from verify.cli.reports import add_commands

    add_preflight(sub)
    add_commands(sub)

    sandbox = sub.add_parser(
        "sandbox", help="a local stand-in stack: up / down / status / faults", add_help=False
    )
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _shard(text: str) -> str:
    from verify.engine.sharding import parse_shard
    from verify.errors import UsageError

    try:
        parse_shard(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--shard {text}: ")) from None
    return text


def _workers(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


# True when the process is the `verify` command's own (not a caller's that imported main()).
_OWN_PROCESS = False


def console() -> None:
    """The `verify` command: `main`, then a fast exit."""
    # The collector's default pace spent ~0.05-0.1 s re-scanning live objects in a one-second smoke
    # run (verify.gc_pace).
    pace_collector()
    global _OWN_PROCESS
    _OWN_PROCESS = True
    code = main()
    # A run leaves a few hundred thousand objects (botocore models, evidence, reports); tearing the
    # interpreter down frees each one, ~0.1 s that nobody waits for on purpose. Everything the run
    # writes is closed by now, the sandbox child stopped, the check threads joined: flush and go.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        return _guarded(lambda: _sandbox_command(args_list[1:]))
    args = build_parser().parse_args(args_list)
    from verify.cli.preflight import cmd_preflight
    from verify.cli.reports import HANDLERS

    handlers = {"run": cmd_run, "smoke": cmd_run, "discover": cmd_discover, "init": cmd_init, **HANDLERS}
    handlers["preflight"] = cmd_preflight
    return _guarded(lambda: handlers[args.command](args))


def _guarded(action: Any) -> int:
    try:
        return int(action())
    except KeyboardInterrupt as exc:
        if not isinstance(exc, _ReportedInterrupt):  # its closing line was the last word
            print("verify: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except VerifyError as exc:
        from verify.escape import terminal
        from verify.redact import REDACTOR

        # The sentence quotes paths, keys and values: data, masked and shown terminal-safe (a
        # sandbox server's failure keeps its lines).
        print(f"verify: {terminal(REDACTOR.redact(str(exc)), multiline=True)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_ERROR


# ------------------------------------------------------------------ discover / init


def _load_inventory(args: argparse.Namespace) -> Any:
    from verify.config.settings import load_config
    from verify.stack.inventory import build_inventory
    from verify.stack.outputs import DEFAULT_OUTPUTS_PATH, MAX_OUTPUTS, load_live_outputs, load_outputs

    config = load_config(args.config)
    if args.stack and not args.outputs:
        from verify.aws.client import Aws

        outputs = load_live_outputs(args.stack, Aws(args.region, read_only=True).client("cloudformation"))
    else:
        path = args.outputs or config.outputs_path or DEFAULT_OUTPUTS_PATH
        # Beyond MAX_OUTPUTS, building the inventory takes minutes: refused before it starts.
        outputs = load_outputs(path, stack=args.stack, limit=MAX_OUTPUTS)
    from verify.redact import REDACTOR

    for secret in outputs.secret_values():  # as a run does: what discover prints passes the redactor too
        REDACTOR.add(secret)
    return build_inventory(outputs, overrides=config.aliases, region=args.region)


def cmd_discover(args: argparse.Namespace) -> int:
    from verify.escape import terminal  # keys and values are data: they must not rewrite the terminal
    from verify.redact import REDACTOR

    def shown(value: object) -> str:  # masked (`{"token": ...}` inside a value too), then terminal-safe
        return terminal(REDACTOR.redact(str(value)))

    inventory = _load_inventory(args)
    if getattr(args, "resolve", False):
        from verify.aws.client import Aws
        from verify.stack.inventory import resolve_ambiguous

        aws = Aws(args.region or inventory.region, read_only=True)
        inventory = resolve_ambiguous(inventory, aws.client)
    if getattr(args, "follow", False):
        from verify.aws.client import Aws
        from verify.stack.wiring import follow_wiring

        inventory = follow_wiring(inventory, lambda: Aws(args.region or inventory.region, read_only=True))
    wants_intent = getattr(args, "intent", False) or getattr(args, "template", None)
    intent = _discover_intent(args, inventory) if wants_intent else None
    if args.json:
        shown_json = (
            inventory.to_json() if intent is None else {**inventory.to_json(), "intent": intent.to_json()}
        )
        # Masked value by value: a secret field inside a JSON-encoded value is escaped in the text.
        print(json.dumps(REDACTOR.redact_json_value(shown_json), indent=2))
        return EXIT_PASS
    rows = [("KEY", "KIND", "ROLE", "NAME")]
    for r in inventory.resources:
        if not r.discovered:  # listed below, with how each was found
            rows.append((shown(", ".join(r.keys)), r.kind, r.role or "-", shown(r.to_json()["name"])))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(
        f"region: {shown(inventory.region or 'unknown (pass --region)')}   source: {shown(inventory.source)}"
    )
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)))
    for output in inventory.missing:
        # A sensitive output's "placeholder" may be its real value (a password set to "changeme").
        value = "its value hidden: sensitive" if output.sensitive else json.dumps(output.value)
        print(f"missing: {shown(output.key)} is a placeholder ({shown(value)}): nothing to verify there")
    from verify.stack.wiring import describe

    for line in describe(inventory):
        print(shown(line))
    if intent is not None:
        from verify.intent.show import intent_lines

        for line in intent_lines(intent):
            print(shown(line))
    return EXIT_PASS


def _discover_intent(args: argparse.Namespace, inventory: Any) -> Any:
    """What the stack's template declares: --template, else beside the outputs file, else (--stack
    without an outputs file) CloudFormation's GetTemplate; mapped to `inventory`."""
    from verify.aws.client import Aws
    from verify.config.settings import load_config
    from verify.intent.load import intent_for_inputs
    from verify.stack.outputs import DEFAULT_OUTPUTS_PATH

    live = bool(args.stack and not args.outputs)
    path = None if live else args.outputs or load_config(args.config).outputs_path or DEFAULT_OUTPUTS_PATH
    return intent_for_inputs(
        template=getattr(args, "template", None),
        outputs_path=path,
        stack=args.stack,
        inventory=inventory,
        cloudformation=lambda: Aws(args.region or inventory.region, read_only=True).client("cloudformation"),
    )


def cmd_init(args: argparse.Namespace) -> int:
    target = Path("verify.toml")
    if target.exists() and not args.force:
        raise UsageError(f"{target} already exists: edit it, or pass --force to overwrite it")
    inventory = _load_inventory(args)
    from verify.config.initfile import render_config

    template = learned_from = None
    if getattr(args, "learn_flow", False):
        template, learned_from = _learned_payload(args, inventory)
    target.write_text(render_config(inventory, template, learned_from), encoding="utf-8")
    print(f"wrote {target}: review the aliases and expectations, then run `verify run`")
    return EXIT_PASS


def _learned_payload(args: argparse.Namespace, inventory: Any) -> tuple[str | None, str | None]:
    """The reading's shape the stack tells (key schemas, request model; read-only, nothing sent) as a
    `[flow] payload` template; (None, why not) when it cannot tell, and init writes the default."""
    from verify.aws.client import Aws
    from verify.config.settings import load_config
    from verify.errors import CheckFailed, NotApplicable
    from verify.scenario.flow import learn_convention

    config = load_config(args.config)
    try:
        aws = Aws(args.region or inventory.region, read_only=True)
        convention = learn_convention(aws, inventory, config)
    except (VerifyError, CheckFailed, NotApplicable) as exc:
        print(
            f"verify init: the reading's shape was not learned ({exc}); each run learns it", file=sys.stderr
        )
        return None, None
    return convention.template(config.flow.value_field), ", ".join(convention.learned_from)


# ------------------------------------------------------------------ run / smoke


def _suites_dir() -> Path:
    import suites

    return Path(suites.__file__).resolve().parent


def build_pytest_args(args: argparse.Namespace, outputs_path: str | list[str] | None) -> list[str]:
    report_dir = Path(args.report_dir)
    profile = "smoke" if args.command == "smoke" else args.profile
    pytest_args = [
        str(_suites_dir()),
        *args.suite,
        "--verify",
        f"--verify-profile={profile}",
        f"--verify-report-dir={report_dir}",
        f"--verify-timeout={args.timeout}",
        # junit.xml and Allure's results are written by verify.report from the results, as without pytest.
        "--verify-allure",
        # The user's own pytest configuration (addopts, plugins) belongs to their tests, not ours.
        "-c",
        str(Path(__file__).with_name("pytest.ini")),
        f"--rootdir={Path.cwd()}",
        "-p",
        "no:cacheprovider",
        # Its clean-up runs gc.collect() five times at the end of every run (~0.15 s) to catch
        # exceptions nobody raised; the checks report their own.
        "-p",
        "no:unraisableexception",
        # verify's console, not pytest's: the checks' characters, then verify's problems and its one
        # closing line (pytest's own summary and counts disagreed with it: "4 failed" for "1 failed, 3 error").
        # Not --no-summary: before pytest 9.2 it also silenced every plugin's terminal summary, verify's
        # problems and closing line with it. -qq drops pytest's counts line, --tb=no its FAILURES and
        # ERRORS sections, -rN its short summary and its warnings.
        "-qq",
        "--no-header",
        "--tb=no",
        "-rN",
    ]
    paths = [outputs_path] if isinstance(outputs_path, str) else list(outputs_path or [])
    pytest_args += [f"--verify-outputs={path}" for path in paths]
    if getattr(args, "policy", None):
        pytest_args.append(f"--verify-policy={args.policy}")
    if getattr(args, "shard", None):
        pytest_args.append(f"--verify-shard={args.shard}")
    if getattr(args, "run_id", None):
        pytest_args.append(f"--verify-run-id={args.run_id}")
    if args.stack:
        pytest_args.append(f"--verify-stack={args.stack}")
    if getattr(args, "template", None):
        pytest_args.append(f"--verify-template={args.template}")
    if args.region:
        pytest_args.append(f"--verify-region={args.region}")
    if args.config:
        pytest_args.append(f"--verify-config={args.config}")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers and args.workers > 1:
        # loadgroup: a group's checks (the flow's steps) go to one worker, as one process runs them.
        pytest_args += ["-n", str(args.workers), "--dist", "loadgroup"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") or not args.suite:
        # Only the shipped suites run: load just the plugins they need. Autoloading every plugin of
        # the environment (hypothesis alone costs ~0.6 s) is start-up time on every run and worker.
        pytest_args += [
            "-p",
            "verify.pytest_plugin.plugin",
            "-p",
            "xdist.plugin",
        ]
    return pytest_args


def _pytest_env(args: argparse.Namespace) -> dict[str, str]:
    """Users' own suites may rely on any installed plugin; the shipped suites need only ours."""
    return {} if args.suite else {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _session(args: argparse.Namespace, outputs_path: str | list[str] | None) -> VerifySession:
    """The run's shared state from the command line: its inputs are read once, through it."""
    from verify.config.settings import load_config
    from verify.engine.session import start_session
    from verify.engine.sharding import parse_shard

    return start_session(
        config=load_config(args.config),
        profile="smoke" if args.command == "smoke" else args.profile,
        region=args.region,
        outputs_paths=[outputs_path] if isinstance(outputs_path, str) else list(outputs_path or []),
        stack=args.stack,
        policy=getattr(args, "policy", None),
        report_dir=Path(args.report_dir),
        timeout=args.timeout,
        run_id=getattr(args, "run_id", None),
        shard=parse_shard(args.shard) if getattr(args, "shard", None) else None,
        template=getattr(args, "template", None),
    )


def _validate_inputs(args: argparse.Namespace, session: VerifySession) -> None:
    """Read config, policy and outputs before anything runs, so bad input is one sentence and exit 2."""
    session.policy  # noqa: B018 -- a bad --policy file is a usage error before anything runs
    if not args.suite:  # with a --suite, the plugin checks the names against what pytest collects
        from verify.config.settings import check_policy_names
        from verify.engine.spec import shipped_checks

        check_policy_names(session.policy, (c.id for c in shipped_checks()), session.policy_source)
    if session.stack_name and not session.outputs_paths:
        return  # live outputs are read (and their errors reported) by the run itself
    outputs, inventory = session.outputs(), session.inventory()
    # Settings (region, environment) and names of no known kind are nothing a check could verify:
    # a run on them alone would be all skips and errors, never a verdict about a stack.
    if not any(r.kind not in ("scalar", "unknown") for r in inventory.resources):
        if inventory.missing:
            keys = ", ".join(o.key for o in inventory.missing[:5])
            raise UsageError(
                f"{outputs.source} names nothing to verify: its resource outputs are placeholders ({keys}); "
                "deploy the stack, then write its outputs again"
            )
        raise UsageError(
            f"{outputs.source} names no resources: nothing to verify (see `verify discover` for how its keys "
            "were read; name them in [aliases] if they are resources)"
        )
    if session.template is not None:
        session.intent()  # a template named but unreadable is the user's input error (exit 2)
    for suite in args.suite:
        if not Path(suite).exists():
            raise UsageError(f"--suite {suite}: no such file or directory")


def cmd_run(args: argparse.Namespace) -> int:
    if args.fault and not args.sandbox:
        raise UsageError("--fault only makes sense with --sandbox")
    if getattr(args, "run_id", None):
        from verify.scenario.run_ids import run_id_for

        args.run_id = run_id_for(args.run_id)  # never a bare label: it tags (and deletes) test data
    from verify.report.files import check_report_dir

    # Before anything is verified: an unusable report directory is the user's input error (exit 2).
    check_report_dir(Path(args.report_dir))
    from verify.stack.outputs import is_read_once

    workers = args.workers and args.workers > 1 and (args.suite or not _direct_eligible(args))
    if workers and any(is_read_once(p) for p in args.outputs or []):
        raise UsageError(
            "--outputs from stdin, a pipe or a FIFO can be read only once, so not by --workers processes; "
            "write the outputs to a file and pass its path"
        )
    from verify.signals import STOP_WATCHDOG_S, stop_signals_interrupt

    # SIGTERM ends a run like Ctrl-C: test data removed, partial reports written, exit 130. The
    # watchdog only where this process is verify's own (the console command), never a caller's.
    watchdog = STOP_WATCHDOG_S if _OWN_PROCESS else None
    with stop_signals_interrupt(args.timeout, watchdog_s=watchdog):  # and the run's deadline
        if args.sandbox:
            return _run_with_sandbox(args)
        return _run_checks(args, args.outputs)


def _sandbox_command(argv: list[str]) -> int:
    from verify.sandbox import require_emulator

    require_emulator()
    from verify.sandbox.commands import sandbox_main

    return sandbox_main(argv)


def _run_with_sandbox(args: argparse.Namespace) -> int:
    import tempfile

    from verify.sandbox import require_emulator

    require_emulator()
    from verify.sandbox.faults.catalogue import validate_faults
    from verify.sandbox.manager import spawn_sandbox

    stacks = ("pipeline", "platform") if args.sandbox_stack == "both" else (args.sandbox_stack,)
    # Before the start is announced: a fault typo is one sentence, naming this command's own option.
    validate_faults(args.fault, stacks, stack_option="--sandbox-stack")
    with tempfile.TemporaryDirectory(prefix="verify-sandbox-") as tmp:
        outputs_path = Path(tmp) / "flat-outputs.json"
        print(f"verify: starting the sandbox ({', '.join(stacks)})...", file=sys.stderr, flush=True)
        from verify.report.progress import step_printer

        # Its steps as they are done, with their time: a slow start is seen to move (--quiet: none).
        step = step_printer(sys.stderr, enabled=not getattr(args, "quiet", False))
        try:
            handle = spawn_sandbox(
                stacks=stacks,
                faults=tuple(args.fault),
                region=args.region or "us-east-1",
                outputs_path=outputs_path,
                state_dir=Path(tmp) / "state",
                on_step=step,
            )
        except KeyboardInterrupt:
            # The child is stopped by spawn_sandbox; exit 130 still leaves reports, as it does later.
            # A bad --config is not read yet: then the interrupt stands alone (exit 130, not 2).
            with contextlib.suppress(VerifyError):
                _interrupted_before_checks(args, _session(args, str(outputs_path)), "starting the sandbox")
            raise
        step("ready")
        saved = {k: os.environ.get(k) for k in handle.env}
        try:
            os.environ.update(handle.env)
            for note in handle.notes:
                print(f"verify: sandbox: {note}", file=sys.stderr)
            return _run_checks(args, str(outputs_path))
        finally:
            handle.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _direct_eligible(args: argparse.Namespace) -> bool:
    """A run of the shipped suites goes without pytest (verify.engine.runner): the answer in about the
    time its calls and waits take. So does one with --workers: its checks already run concurrently in
    one process, and worker processes would only add their start-up (bench/RESULTS.md, issue 18);
    workers run a --suite's checks. VERIFY_VIA_PYTEST=1 forces pytest (to compare the two)."""
    return (
        not args.suite
        and not getattr(args, "shard", None)
        and os.environ.get("VERIFY_VIA_PYTEST", "") in ("", "0")
    )


def _run_checks(args: argparse.Namespace, outputs_path: str | list[str] | None) -> int:
    from verify.report.progress import step_printer

    # Before the checks' own progress starts: a phase slow enough to pass for a hang (discovery's
    # calls, the access check on a slow network) says so when it ends; a fast run prints none.
    step = step_printer(
        sys.stderr, enabled=not getattr(args, "quiet", False), prefix="verify: ", slower_than=1.0
    )
    from verify.engine.finish import exit_code
    from verify.engine.plan import NeedsPytest, plan
    from verify.engine.runner import run

    session = _session(args, outputs_path)
    planned: list[Any] = []
    # Interrupted before any check runs (pytest's path and the runner write their own reports).
    try:
        _validate_inputs(args, session)
        step("outputs read and the stack's wiring followed")
        via_pytest = not _direct_eligible(args)
        if not via_pytest:
            try:
                planned = plan(session, args.keyword)
            except NeedsPytest:
                via_pytest = True
        if not via_pytest:
            step(f"{len(planned)} checks planned")
            if not _access_answers(args, session, planned):
                return EXIT_ERROR
            step("AWS access checked")
    except KeyboardInterrupt:
        _interrupted_before_checks(args, session)
        raise
    if via_pytest:
        return _run_pytest(args, outputs_path, session)
    done = run(
        session, planned, out=sys.stderr if args.json else sys.stdout, quiet=getattr(args, "quiet", False)
    )
    _after_run(args)
    if not planned:  # the reports say so too: verdict error, "no check ran"
        print("verify: no check was collected: nothing was verified", file=sys.stderr)
        return EXIT_ERROR
    return exit_code(done.summary, interrupted=done.interrupted)


BEFORE_CHECKS = "reading the outputs, following the stack's wiring or checking AWS access"


class _ReportedInterrupt(KeyboardInterrupt):
    """An interrupt whose reports are written and whose closing line is printed: nothing to add."""


def _interrupted_before_checks(
    args: argparse.Namespace, session: VerifySession, doing: str = BEFORE_CHECKS
) -> None:
    """Exit 130 leaves reports (docs/reference.md): stopped while starting the sandbox, reading the
    outputs, following the stack's wiring or checking access, the run wrote nothing to the stack, and
    its reports say so. The console ends as a run interrupted among its checks does, with the closing
    line (and, with --json, the summary on stdout); raises `_ReportedInterrupt` once it has."""
    from verify.engine.finish import finish, print_summary

    if session.report_dir.exists() and not session.report_dir.is_dir():
        return  # not ours to replace; the console's "interrupted" is all there is to say
    session.notes.insert(
        0,
        f"interrupted before any check ran (while {doing}): nothing was verified and no test data was written",
    )
    summary = finish(session, None, interrupted=True)
    print_summary(summary, session.report_dir, summary.duration_s, sys.stderr if args.json else sys.stdout)
    _after_run(args)
    raise _ReportedInterrupt from None


def _access_answers(args: argparse.Namespace, session: VerifySession, planned: list[Any]) -> bool:
    """The access check before the checks that ask AWS (engine/access.py). When no AWS call answers,
    none of them could verify anything: one sentence, a summary that says so, and exit 3 (not one
    error per check). A plan that asks AWS nothing (`-k test_outputs`) runs without it."""
    from verify.engine.access import check_access, needs_aws

    if not needs_aws(planned):
        return True
    access = check_access(session)
    session.access_calls = access.calls
    if not access.none:
        return True
    from verify.engine.finish import finish
    from verify.escape import terminal
    from verify.redact import REDACTOR

    sentence = access.sentence()
    session.notes.insert(0, f"access check: {sentence}")
    finish(session, None, interrupted=False)
    _after_run(args)
    print(f"verify: {terminal(REDACTOR.redact(sentence))}", file=sys.stderr)
    return False


def _after_run(args: argparse.Namespace) -> None:
    # Smoke's on-call table is its list of problems, printed above the closing line (engine/finish.py).
    summary = Path(args.report_dir) / "summary.json"
    if args.json and summary.is_file():
        print(summary.read_text(encoding="utf-8"))


class _InternalErrorWatch:
    """pytest's INTERNAL_ERROR is 3, and so is our `error` verdict: only this hook tells them apart."""

    def __init__(self) -> None:
        self.seen = False

    def pytest_internalerror(self, excrepr: object, excinfo: object) -> None:
        self.seen = True


def _run_pytest(
    args: argparse.Namespace, outputs_path: str | list[str] | None, session: VerifySession
) -> int:
    import pytest

    from verify.pytest_plugin.plugin import GivenSession

    watch = _InternalErrorWatch()
    env = _pytest_env(args)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # xdist workers inherit it too
    try:
        # With --json, stdout carries the summary alone (for `| jq`); pytest's progress goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            # The session, its inputs read: the controller uses it (xdist workers build their own).
            plugins = [watch, GivenSession(session, quiet=getattr(args, "quiet", False))]
            code = int(pytest.main(build_pytest_args(args, outputs_path), plugins=plugins))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if code == pytest.ExitCode.INTERRUPTED:
        return EXIT_INTERRUPTED
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    if code == pytest.ExitCode.INTERNAL_ERROR and watch.seen:
        print("verify: the harness hit an internal error (see above); nothing was judged", file=sys.stderr)
        return EXIT_ERROR
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("verify: no check was collected: nothing was verified", file=sys.stderr)
        return EXIT_ERROR
    _after_run(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    console()
