"""`verify sandbox up | down | status | faults`: the sandbox's command line.

Exit codes follow the harness's contract: 0 done, 2 usage or input error, 3 could not start.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

from verify.errors import VerifyError
from verify.sandbox.faults.catalogue import AWS_FAULTS, FAULTS
from verify.sandbox.manager import (
    DEFAULT_OUTPUTS,
    DEFAULT_STATE_DIR,
    SandboxHandle,
    sandbox_status,
    spawn_sandbox,
    start_sandbox,
    stop_detached,
)
from verify.sandbox.outputs import FORMATS
from verify.sandbox.pipeline.growth import BASE_RESOURCES
from verify.sandbox.processes import Stopped, handle_stop_signals, ignore_stop_signals, sleep_until_stopped


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="verify sandbox", description="A local stand-in for the IoT stacks, with faults.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    up = commands.add_parser("up", help="start the sandbox (foreground, or --detach)")
    up.add_argument(
        "--stack",
        choices=("pipeline", "platform", "both"),
        default="pipeline",
        help="which stack to start (default: pipeline)",
    )
    up.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="break one thing; repeatable (default: none)",
    )
    up.add_argument(
        "--latency", choices=("aws",), default=None, help="behave with AWS's delays (default: answer at once)"
    )
    up.add_argument("--region", default="us-east-1", help="the stacks' region (default: us-east-1)")
    up.add_argument(
        "--suffix", default="dev", help="environment suffix of every resource name (default: dev)"
    )
    up.add_argument(
        "--outputs",
        type=Path,
        default=DEFAULT_OUTPUTS,
        help=f"where to write the outputs (default: {DEFAULT_OUTPUTS})",
    )
    up.add_argument(
        "--format",
        choices=FORMATS,
        default="flat",
        dest="outputs_format",
        help="the outputs file's format (default: flat)",
    )
    up.add_argument("--detach", action="store_true", help="run in the background; stop with `down`")
    up.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for a detached start (default: 120)"
    )
    up.add_argument(
        "--grow",
        type=int,
        default=None,
        metavar="N",
        help="grow the pipeline stack to N resources in all, as `verify discover` counts them (at least "
        f"{BASE_RESOURCES}, its own): healthy tables, queues with DLQs, topics, parameters, log groups "
        "and alarms, for benchmarks (default: the stack as it is)",
    )
    up.add_argument(
        "--visibility-log",
        type=Path,
        default=None,
        metavar="PATH",
        help="append a JSON line to PATH each time a reading's signal (raw, processed, query, trace, "
        "log) becomes readable through the AWS API, with its time.time() (default: no log)",
    )
    commands.add_parser("down", help="stop the sandbox and remove its data")
    commands.add_parser("status", help="say what runs where").add_argument(
        "--json", action="store_true", help="machine-readable (default: a table)"
    )
    commands.add_parser("faults", help="list the faults and what each breaks").add_argument(
        "--json", action="store_true", help="machine-readable (default: a table)"
    )
    for sub in commands.choices.values():
        sub.add_argument(
            "--state-dir",
            type=Path,
            default=DEFAULT_STATE_DIR,
            help=f"where the sandbox keeps its state, env file and log (default: {DEFAULT_STATE_DIR})",
        )
    return parser


def _rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}} : {value}")


def _describe(handle: SandboxHandle, stacks: str) -> None:
    print(f"verify sandbox ({stacks}) is ready.")
    rows = [("AWS endpoint", f"{handle.endpoint_url}  (region {handle.region})")]
    rows += sorted((name, where) for name, where in handle.services.items() if name != "aws")  # said above
    rows += [("outputs", str(handle.outputs_path))] + [("note", note) for note in handle.notes]
    _rows(rows)
    print(f"Aim your shell at it:  source {handle.state_dir / 'env'}")


def _up(options: argparse.Namespace) -> int:
    common: dict[str, Any] = {
        "stacks": options.stack,
        "faults": options.fault,
        "latency": options.latency,
        "region": options.region,
        "suffix": options.suffix,
        "outputs_path": options.outputs,
        "outputs_format": options.outputs_format,
        "state_dir": options.state_dir,
        "grow": options.grow,
        "visibility_log": options.visibility_log,
    }
    if options.detach:
        handle = spawn_sandbox(**common, timeout_s=options.timeout, detach=True)
        _describe(handle, options.stack)
        print(f"Running in the background (pid {handle.pid}); stop it with `verify sandbox down`.")
        return 0
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    handle_stop_signals()
    try:
        try:
            # This process serves the sandbox alone from here until it exits.
            handle = start_sandbox(**common, sandbox_process=True)
        except Stopped:
            return 130
        try:
            _describe(handle, options.stack)
            print("Press Ctrl-C to stop it.", flush=True)
            sleep_until_stopped()
        except Stopped:
            print("Stopping the sandbox...", flush=True)
        finally:
            ignore_stop_signals()
            handle.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _down(options: argparse.Namespace) -> int:
    if stop_detached(options.state_dir):
        print(f"Stopped the sandbox of {options.state_dir} and removed its data.")
    else:
        print(f"No sandbox runs from {options.state_dir}; nothing to stop.")
    return 0


def _status(options: argparse.Namespace) -> int:
    status = sandbox_status(options.state_dir)
    if options.json:
        status.pop("env", None)  # the test credentials belong in the env file, not on a console
        print(json.dumps(status, indent=2))
        return 0
    if not status["running"]:
        print(f"No sandbox runs from {options.state_dir}.")
        return 0
    print(f"Sandbox running (pid {status['pid']}) since {status.get('started_at', '?')}")
    rows = [
        ("stacks", ", ".join(status.get("stacks", []))),
        ("faults", ", ".join(status.get("faults", [])) or "none"),
    ]
    if status.get("grow") is not None:
        rows.append(("grown to", f"{status['grow']} pipeline resources"))
    if status.get("visibility_log"):
        rows.append(("visibility log", str(status["visibility_log"])))
    rows += sorted(status.get("services", {}).items())
    rows += [("outputs", str(status.get("outputs_path")))] + [("note", n) for n in status.get("notes", [])]
    _rows(rows)
    return 0


def _faults(options: argparse.Namespace) -> int:
    # Every fault `--fault` accepts: the stack's own faults, then AWS misbehaving (category "aws"),
    # which are kept apart in the catalogue only because checks must error on them, not fail.
    listed = sorted(FAULTS.values(), key=lambda f: (f.stack, f.name))
    listed += sorted(AWS_FAULTS.values(), key=lambda f: (f.stack, f.name))
    if options.json:
        print(json.dumps([dataclasses.asdict(fault) for fault in listed], indent=2))
        return 0
    width = max(len(fault.name) for fault in listed)
    for fault in listed:
        print(f"{fault.name:<{width}}  {fault.stack:<8}  {fault.category:<10}  {fault.breaks}")
    return 0


def sandbox_main(argv: list[str]) -> int:
    try:
        options = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help exits 0, errors exit 2
        return int(exc.code or 0)
    handlers = {"up": _up, "down": _down, "status": _status, "faults": _faults}
    try:
        return handlers[options.command](options)
    except VerifyError as exc:
        print(f"verify sandbox: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def main() -> None:
    from verify.sandbox.processes import exit_now

    exit_now(sandbox_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
