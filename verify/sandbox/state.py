"""A sandbox's files on disk: `<state_dir>/state.json` (what runs where), `<state_dir>/env` (to
`source`), a child's `<state_dir>/serve.log`, and their removal.

Shared by the in-process start (`manager`) and the parent's side of a child (`child`), so neither
imports the other for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from verify.sandbox.emulator.context import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from verify.sandbox.processes import end_recorded_servers

STATE_FILE = "state.json"
ENV_FILE = "env"
LOG_FILE = "serve.log"  # a child sandbox's stdout and stderr


def read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads((state_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def sandbox_env(endpoint_url: str, region: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


def env_text(env: dict[str, str]) -> str:
    import shlex

    lines = ["# verify sandbox: `source` this file to aim boto3 and the AWS CLI at the sandbox."]
    # A profile or session token left in the shell would win over (or mix with) the test credentials.
    lines.append("unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    return "\n".join(lines) + "\n"


def cleanup_files(state: dict[str, Any], state_dir: Path) -> None:
    """Removes what a sandbox left on disk (used by its own stop and by `down` after a kill)."""
    workdir = state.get("workdir")
    if workdir and Path(workdir).name.startswith("verify-sandbox-"):
        end_recorded_servers(Path(workdir))
        shutil.rmtree(workdir, ignore_errors=True)
    for folder in state.get("templates") or ():  # the templates written beside the outputs file
        if Path(folder).name in ("cdk.out", "cdktf.out"):
            shutil.rmtree(folder, ignore_errors=True)
    if state.get("created_outputs") and state.get("outputs_path"):
        outputs = Path(state["outputs_path"])
        with contextlib.suppress(OSError):
            outputs.unlink()
        if state.get("created_outputs_dir"):
            with contextlib.suppress(OSError):
                outputs.parent.rmdir()  # only when the sandbox's file was all it held
    for name in (STATE_FILE, ENV_FILE, LOG_FILE):
        with contextlib.suppress(OSError):
            (state_dir / name).unlink()
    with contextlib.suppress(OSError):
        state_dir.rmdir()
