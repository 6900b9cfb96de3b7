"""Start and stop sandboxes: in this process (threads) or as a child process (`child`).

A sandbox leaves three things where the user can see them: the outputs file (as a deploy would,
`outputs`), `<state_dir>/env` (to `source`), `<state_dir>/state.json` (what runs where, for
`status`/`down`; both in `state`). Stopping removes all of them except an outputs file that existed
before the sandbox started, plus the private temporary directory and, for a child, its log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from verify.errors import UsageError, VerifyError
from verify.sandbox.child import spawn
from verify.sandbox.emulator.context import StackContext, StackParts
from verify.sandbox.emulator.latency import LATENCY_MODELS
from verify.sandbox.emulator.server import Emulator
from verify.sandbox.emulator.visibility import VisibilityLog
from verify.sandbox.faults.catalogue import STACKS, validate_faults
from verify.sandbox.outputs import FORMATS, bend_outputs, render_outputs
from verify.sandbox.pipeline.growth import check_grow
from verify.sandbox.processes import pid_alive, terminate_pid
from verify.sandbox.state import (
    ENV_FILE,
    STATE_FILE,
    cleanup_files,
    env_text,
    read_state,
    sandbox_env,
    write_atomically,
)

DEFAULT_OUTPUTS = Path("cfn-outputs/flat-outputs.json")
DEFAULT_STATE_DIR = Path(".verify-sandbox")
_SUFFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")

# moto keeps its state in module globals: two live sandboxes of one process must not share names,
# and the state is wiped when the last one stops.
_LIVE: set[tuple[str, str]] = set()
_LIVE_LOCK = threading.Lock()

# The servers this machine lacks, told to the harness the way the sandbox tells it everything: through
# the environment the run inherits (verify.probes.standin reads the same name; a test holds them equal).
MISSING_ENV = "VERIFY_SANDBOX_MISSING"


@dataclass
class SandboxHandle:
    endpoint_url: str
    region: str
    outputs_path: Path
    env: dict[str, str]
    api_url: str | None
    services: dict[str, str]
    notes: list[str]
    state_dir: Path = DEFAULT_STATE_DIR
    pid: int = 0
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:
            stop()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def normalize_stacks(stacks: str | Iterable[str]) -> tuple[str, ...]:
    names = [stacks] if isinstance(stacks, str) else list(stacks)
    expanded = [s for name in names for s in (STACKS if name == "both" else (name,))]
    return tuple(s for s in STACKS if s in expanded) + tuple(s for s in expanded if s not in STACKS)


def check_arguments(
    *,
    stacks: tuple[str, ...],
    faults: Iterable[str],
    latency: str | None,
    region: str,
    suffix: str,
    outputs_format: str,
) -> frozenset[str]:
    """Every user-input problem, found before anything starts."""
    if not stacks:
        raise UsageError("No sandbox stack chosen; use --stack pipeline, platform or both.")
    chosen = validate_faults(faults, stacks)
    if outputs_format not in FORMATS:
        raise UsageError(f"Unknown outputs format {outputs_format!r}; valid formats: {', '.join(FORMATS)}.")
    if latency is not None and latency not in LATENCY_MODELS:
        raise UsageError(f"Unknown latency model {latency!r}; valid: {', '.join(LATENCY_MODELS)}.")
    if not _SUFFIX.match(suffix):
        raise UsageError(f"Suffix {suffix!r} is not usable in resource names; use 1-20 of a-z, 0-9 and '-'.")
    if not _REGION.match(region):
        raise UsageError(f"Region {region!r} is not an AWS region name such as us-east-1.")
    return chosen


PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def check_profile_environment() -> None:
    """moto builds its own boto3 sessions, which fail on an AWS_PROFILE missing from ~/.aws/config."""
    import botocore.session

    chosen = next((f"{v}={os.environ[v]}" for v in PROFILE_VARIABLES if os.environ.get(v)), None)
    if chosen is None:
        return
    try:
        botocore.session.Session().get_scoped_config()
    except Exception:
        raise UsageError(
            f"{chosen} names an AWS profile that is not configured here, and the sandbox's emulator "
            "reads it; unset it (the sandbox uses its own test credentials)."
        ) from None


def ensure_not_running(state_dir: Path) -> None:
    state = read_state(state_dir)
    if state and pid_alive(int(state.get("pid", 0))):
        raise UsageError(
            f"A sandbox already runs from {state_dir} (pid {state.get('pid')}); "
            "run `verify sandbox down` first or choose another --state-dir."
        )


def _checked_request(
    *,
    stacks: str | Iterable[str],
    faults: Iterable[str],
    latency: str | None,
    region: str,
    suffix: str,
    outputs_path: Path,
    outputs_format: str,
    state_dir: Path,
    grow: int | None = None,
) -> tuple[tuple[str, ...], frozenset[str], Path, Path]:
    """What start_sandbox and spawn_sandbox were asked for, normalized: (stacks, faults, outputs path,
    state dir). One place, so both refuse the same input with the same message before anything starts."""
    chosen_stacks = normalize_stacks(stacks)
    chosen = check_arguments(
        stacks=chosen_stacks,
        faults=faults,
        latency=latency,
        region=region,
        suffix=suffix,
        outputs_format=outputs_format,
    )
    check_grow(grow, chosen_stacks)
    state_dir, outputs_path = Path(state_dir).absolute(), Path(outputs_path).absolute()
    ensure_not_running(state_dir)
    return chosen_stacks, chosen, outputs_path, state_dir


def _provision(stack: str, ctx: StackContext) -> StackParts:
    if stack == "pipeline":
        from verify.sandbox.pipeline.stack import provision_pipeline

        return provision_pipeline(ctx)
    try:
        from verify.sandbox.platform.stack import provision_platform
    except ImportError as exc:
        if exc.name not in ("verify.sandbox.platform", "verify.sandbox.platform.stack"):
            raise
        raise UsageError("The platform stack is not available yet in this version of verify.") from None
    return provision_platform(ctx)


def _prepare_sandbox_process() -> None:
    """For a process that holds the sandbox alone and exits when it stops (`serve`, the foreground
    `verify sandbox up`): what would be wrong to change in a process that also runs other code.

    - botocore's data files decoded once for moto's many sessions (`emulator.model_cache`);
    - moto's 1 300 default AMIs not loaded (`MOTO_EC2_LOAD_DEFAULT_AMIS`, moto's own setting): neither
      stack runs an instance, and loading them cost ~0.4 s of CPU each time the EC2 backend is made.
      A user's own value of the variable wins.
    """
    from verify.sandbox.emulator.model_cache import share_botocore_data

    share_botocore_data()
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def _reset_moto() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def start_sandbox(
    *,
    stacks: str | Iterable[str] = ("pipeline",),
    faults: Iterable[str] = (),
    latency: str | None = None,
    region: str = "us-east-1",
    suffix: str = "dev",
    outputs_path: Path = DEFAULT_OUTPUTS,
    outputs_format: str = "flat",
    state_dir: Path = DEFAULT_STATE_DIR,
    grow: int | None = None,
    visibility_log: Path | None = None,
    sandbox_process: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> SandboxHandle:
    """Starts the emulator and the stacks in this process (threads); ready when it returns.

    `on_step` is told each step of the start as it is done (the console shows them).

    `grow`: the pipeline's outputs name this many resources in all (docs/sandbox.md, "Growth").
    `visibility_log`: a JSON line per signal when it became readable (`verify.sandbox.emulator.visibility`).
    `sandbox_process`: this process holds the sandbox alone and exits when it stops (`serve`, the
    foreground `verify sandbox up`). Then it is set up for the sandbox alone (`_prepare_sandbox_process`),
    and moto's state is not wiped at the stop: the wipe is for a later sandbox of the same process, and
    moto rebuilds every backend it resets (0.5 s of CPU on the platform stack).
    """
    chosen_stacks, chosen, outputs_path, state_dir = _checked_request(
        stacks=stacks,
        faults=faults,
        latency=latency,
        region=region,
        suffix=suffix,
        outputs_path=outputs_path,
        outputs_format=outputs_format,
        state_dir=state_dir,
        grow=grow,
    )
    check_profile_environment()
    if sandbox_process:
        _prepare_sandbox_process()  # after every check of the request: a refused one changes nothing
    with _LIVE_LOCK:
        if (region, suffix) in _LIVE:
            raise UsageError(f"A sandbox for suffix {suffix!r} in {region} already runs in this process.")
        _LIVE.add((region, suffix))
    visibility: VisibilityLog | None = None
    emulator = Emulator()
    workdir = Path(tempfile.mkdtemp(prefix="verify-sandbox-"))
    started: list[StackParts] = []
    state: dict[str, Any] = {
        "workdir": str(workdir),
        "outputs_path": str(outputs_path),
        "created_outputs": not outputs_path.exists(),
        "created_outputs_dir": not outputs_path.parent.exists(),
    }

    def stop() -> None:
        for parts in reversed(started):
            with contextlib.suppress(Exception):
                parts.stop()
        emulator.stop()
        if visibility is not None:
            visibility.close()  # the user's file: kept, like an outputs file that existed before
        cleanup_files(state, state_dir)
        with _LIVE_LOCK:
            _LIVE.discard((region, suffix))
            if not _LIVE and not sandbox_process:
                _reset_moto()

    try:
        visibility = VisibilityLog(visibility_log) if visibility_log is not None else None
        step = on_step or (lambda text: None)
        emulator.start()
        step("AWS emulator started")
        ctx = StackContext(
            emulator=emulator,
            region=region,
            suffix=suffix,
            faults=chosen,
            workdir=workdir,
            latency=latency,
            grow=grow,
            visibility=visibility,
        )
        for stack in chosen_stacks:
            started.append(_provision(stack, ctx))
            step(f"{stack} stack provisioned")
        from verify.sandbox.faults.aws_level import install_aws_faults

        install_aws_faults(emulator, started, chosen)  # after provisioning, which must work
        from verify.sandbox.faults.drift import apply_drift
        from verify.sandbox.templates import write_templates

        # The templates say what was deployed; drift changes the live stack after (docs/intent.md).
        kept: list[str] = []
        state["templates"] = write_templates(outputs_path.parent, started, chosen, suffix, kept)
        apply_drift(ctx, started, chosen)
        bend_outputs(started, chosen)
        rendered = render_outputs(started, outputs_format, suffix)
        write_atomically(outputs_path, json.dumps(rendered, indent=2) + "\n")
        step("outputs written")
        env = sandbox_env(emulator.endpoint_url, region)
        services = {"aws": emulator.endpoint_url}
        notes: list[str] = []
        missing: dict[str, str] = {}
        for parts in started:
            services.update({f"{parts.name}.{k}": v for k, v in parts.services.items()})
            notes += parts.notes
            missing.update(parts.missing)
        # Two sandboxes writing their outputs into one folder met here: the second one's intent
        # checks compared its stack with the first one's template and failed a healthy stack.
        notes += [
            f"{path} was there before this sandbox and is kept: the intent checks compare the stack "
            "with what it declares (write the outputs to a folder of their own for this sandbox's template)"
            for path in kept
        ]
        if missing:
            env[MISSING_ENV] = json.dumps(missing, sort_keys=True)
        api_url = next((str(p.outputs["ApiEndpoint"]) for p in started if "ApiEndpoint" in p.outputs), None)
        state.update(
            pid=os.getpid(),
            endpoint_url=emulator.endpoint_url,
            region=region,
            suffix=suffix,
            stacks=list(chosen_stacks),
            faults=sorted(chosen),
            latency=latency,
            grow=grow,
            visibility_log=str(visibility.path) if visibility else None,
            outputs_format=outputs_format,
            api_url=api_url,
            services=services,
            notes=notes,
            env=env,
            started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        state_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(state_dir / ENV_FILE, env_text(env))
        write_atomically(state_dir / STATE_FILE, json.dumps(state, indent=2) + "\n")
    except BaseException as exc:
        stop()
        if isinstance(exc, VerifyError | KeyboardInterrupt | SystemExit):
            raise
        raise VerifyError(f"The sandbox failed to start: {type(exc).__name__}: {exc}") from exc
    return SandboxHandle(
        endpoint_url=emulator.endpoint_url,
        region=region,
        outputs_path=outputs_path,
        env=env,
        api_url=api_url,
        services=services,
        notes=notes,
        state_dir=state_dir,
        pid=os.getpid(),
        _stop=stop,
    )


def sandbox_status(state_dir: Path = DEFAULT_STATE_DIR) -> dict[str, Any]:
    """What runs where: the state file's content plus `running` (is its process alive)."""
    state = read_state(Path(state_dir))
    if state is None:
        return {"running": False, "state_dir": str(state_dir)}
    return {**state, "running": pid_alive(int(state.get("pid", 0))), "state_dir": str(state_dir)}


def stop_detached(state_dir: Path = DEFAULT_STATE_DIR, timeout_s: float = 10.0) -> bool:
    """Stops the sandbox recorded in state_dir (a detached child); True when one was stopped."""
    state_dir = Path(state_dir)
    state = read_state(state_dir)
    if state is None:
        return False
    pid = int(state.get("pid", 0))
    if pid == os.getpid():
        raise UsageError(f"The sandbox of {state_dir} runs inside this process; stop it through its handle.")
    was_running = pid_alive(pid)
    if was_running:
        terminate_pid(pid, timeout_s)
    cleanup_files(state, state_dir)
    return was_running


def spawn_sandbox(
    *,
    stacks: str | Iterable[str] = ("pipeline",),
    faults: Iterable[str] = (),
    latency: str | None = None,
    region: str = "us-east-1",
    suffix: str = "dev",
    outputs_path: Path = DEFAULT_OUTPUTS,
    outputs_format: str = "flat",
    state_dir: Path = DEFAULT_STATE_DIR,
    # A hang guard, not a budget: a loaded 2-core CI runner took 30 s to start both stacks, and the
    # console shows each step as it is done, so a slow start is seen to move.
    timeout_s: float = 120,
    detach: bool = False,
    grow: int | None = None,
    visibility_log: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> SandboxHandle:
    """Starts the sandbox as a child process (`python -m verify.sandbox.serve`), ready when it returns.
    `on_step` is told each step of the child's start as it is done."""
    chosen_stacks, chosen, outputs_path, state_dir = _checked_request(
        stacks=stacks,
        faults=faults,
        latency=latency,
        region=region,
        suffix=suffix,
        outputs_path=outputs_path,
        outputs_format=outputs_format,
        state_dir=state_dir,
        grow=grow,
    )
    args = [
        "--region",
        region,
        "--suffix",
        suffix,
        "--outputs",
        str(outputs_path),
        "--format",
        outputs_format,
    ]
    args += ["--state-dir", str(state_dir), *[a for s in chosen_stacks for a in ("--stack", s)]]
    args += [a for f in sorted(chosen) for a in ("--fault", f)]
    if latency:
        args += ["--latency", latency]
    if grow is not None:
        args += ["--grow", str(grow)]
    if visibility_log is not None:
        args += ["--visibility-log", str(Path(visibility_log).absolute())]
    pid, state, stop = spawn(args, state_dir=state_dir, timeout_s=timeout_s, detach=detach, on_step=on_step)
    return SandboxHandle(
        endpoint_url=state["endpoint_url"],
        region=region,
        outputs_path=outputs_path,
        env=dict(state["env"]),
        api_url=state.get("api_url"),
        services=dict(state.get("services", {})),
        notes=list(state.get("notes", [])),
        state_dir=state_dir,
        pid=pid,
        _stop=stop,
    )
