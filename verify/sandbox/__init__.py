"""The sandbox: a local stand-in for the IoT stacks (AWS emulator, reference pipeline, faults).

Start one with `start_sandbox` (threads of this process) or `spawn_sandbox` (a child process);
`verify sandbox ...` is `commands.sandbox_main`. The emulator (moto, werkzeug) and the local servers
come with `pip install 'verify-stack[sandbox]'`; `require_emulator()` says so in one sentence when
they are missing. Names load on first use, so importing this package (as `verify checks list` does,
for the fault matrix) needs none of them.

Layout, imports pointing down only: `commands` (the CLI) and `serve` (the child's entry point) use
`manager` (start, spawn, status, stop), which uses `child` (the parent's side of a child), `state`
(files on disk), `outputs` (the outputs file) and `processes` (pids, stop signals); the stacks in
`pipeline/` and `platform/` and the faults in `faults/` build on `emulator/` (moto and what stands
around it), which imports no other part of the sandbox.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from verify.errors import UsageError

__all__ = [
    "FAULTS",
    "Fault",
    "SandboxHandle",
    "require_emulator",
    "sandbox_status",
    "spawn_sandbox",
    "start_sandbox",
    "stop_detached",
    "validate_faults",
]

_LAZY = {
    "FAULTS": "faults.catalogue",
    "Fault": "faults.catalogue",
    "validate_faults": "faults.catalogue",
    "SandboxHandle": "manager",
    "sandbox_status": "manager",
    "spawn_sandbox": "manager",
    "start_sandbox": "manager",
    "stop_detached": "manager",
}

INSTALL_LINE = "pip install 'verify-stack[sandbox]'"
_EMULATOR_MODULES = ("moto", "werkzeug")


def require_emulator() -> None:
    """UsageError (exit 2) naming the install line when the sandbox's emulator is not installed."""
    missing = [name for name in _EMULATOR_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"the sandbox needs its AWS emulator ({', '.join(missing)} not installed): "
            f"run `{INSTALL_LINE}` (from a checkout: pip install -e '.[sandbox]')"
        )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'verify.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(f"verify.sandbox.{module}"), name)
