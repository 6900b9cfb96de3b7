"""`pip install verify-stack` without the `sandbox` extra: no moto, no werkzeug. Every sandbox command
names the install line (exit 2, one sentence, no traceback); everything else works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import clean_env

pytestmark = pytest.mark.sandbox

# Makes `import moto` / `import werkzeug` fail and find_spec answer None, as in an environment that
# never installed them, then runs the CLI's main.
WITHOUT_EMULATOR = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('moto', 'werkzeug'):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
for name in list(sys.modules):
    if name.split('.')[0] in ('moto', 'werkzeug'):
        del sys.modules[name]
sys.meta_path.insert(0, Absent())
import importlib.util
_find = importlib.util.find_spec
def find_spec(name, package=None):
    if name.split('.')[0] in ('moto', 'werkzeug'):
        return None
    return _find(name, package)
importlib.util.find_spec = find_spec
from verify.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def run_without_emulator(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EMULATOR, *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["sandbox", "up"],
        ["sandbox", "status"],
        ["sandbox", "down"],
        ["sandbox", "faults"],
        ["run", "--sandbox"],
    ],
    ids=lambda a: "-".join(a),
)
def test_sandbox_commands_name_the_install_line(tmp_path: Path, args: list[str]) -> None:
    proc = run_without_emulator(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "pip install 'verify-stack[sandbox]'" in lines[0]
    assert not (tmp_path / "reports").exists()


def test_checks_list_needs_no_sandbox(tmp_path: Path) -> None:
    proc = run_without_emulator("checks", "list", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    checks = json.loads(proc.stdout)
    # The fault matrix comes from verify.sandbox, which must load without the emulator.
    assert len(checks) > 50 and sum(1 for check in checks if check["faults"]) > 50
