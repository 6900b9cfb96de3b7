"""The sandbox: a local stand-in for the IoT stacks (AWS emulator, reference pipeline, faults).

Start one with `start_sandbox` (threads of this process) or `spawn_sandbox` (a child process);
`verify sandbox ...` is `commands.sandbox_main`. Heavy modules (moto, boto3) load only when a
sandbox starts, so importing this package is cheap.
"""

from __future__ import annotations

from verify.sandbox.faults import FAULTS, Fault, validate_faults
from verify.sandbox.manager import SandboxHandle, sandbox_status, spawn_sandbox, start_sandbox, stop_detached

__all__ = [
    "FAULTS",
    "Fault",
    "SandboxHandle",
    "sandbox_status",
    "spawn_sandbox",
    "start_sandbox",
    "stop_detached",
    "validate_faults",
]
