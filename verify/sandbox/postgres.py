"""A real, throw-away PostgreSQL server for the platform stack's RDS instance to point at.

Debian's binaries, initdb into a private temporary directory, loopback only, scram-sha-256
passwords, durability switched off for speed. PostgreSQL refuses to run as root, and root is who runs
the sandbox on these machines and in CI, so when euid is 0 every PostgreSQL process runs as the
unprivileged `postgres` user (the package creates it). The postmaster is our direct child in its own
session, so Ctrl-C on the sandbox's console reaches the sandbox, which then stops it in order.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.errors import VerifyError


class SandboxServerError(VerifyError):
    """A local server the sandbox needs could not be started."""


def find_pg_bin() -> Path | None:
    """The directory holding initdb/postgres: $PG_BIN, else the newest Debian install, else PATH."""
    override = os.environ.get("PG_BIN")
    if override:
        return Path(override) if (Path(override) / "postgres").exists() else None

    def major(path: Path) -> float:
        try:
            return float(path.parent.name)
        except ValueError:
            return -1.0

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=major, reverse=True)
    for bin_dir in candidates:
        if (bin_dir / "initdb").exists() and (bin_dir / "postgres").exists():
            return bin_dir
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path and shutil.which("postgres") else None


def _run_as() -> dict[str, Any]:
    """subprocess keyword arguments that drop root to the `postgres` user (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise SandboxServerError(
            "PostgreSQL cannot run as root and there is no `postgres` user: "
            "install Debian's postgresql package or run the sandbox as an unprivileged user."
        ) from exc
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _traversable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _make_private_dir() -> Path:
    # The server's user must reach its data dir; a TMPDIR under /root would not be reachable.
    base = Path(tempfile.gettempdir())
    if os.geteuid() == 0 and not _traversable_by_others(base):
        base = Path("/tmp")
    return Path(tempfile.mkdtemp(prefix="verify-pg-", dir=base))


@dataclass
class PostgresServer:
    """A running server: connect with (host, port, superuser or the app user)."""

    host: str
    port: int
    version: str  # server_version, e.g. "15.10"
    root: Path  # private directory: data/, socket, log
    superuser: str
    superuser_password: str = field(repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Immediate shutdown (what `pg_ctl stop -m immediate` sends), then remove every file."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)


def _psql_setup(bin_dir: Path, server: PostgresServer, sql: str) -> subprocess.CompletedProcess[bytes]:
    # SQL (with the app password) goes through stdin, never argv, where any user could read it.
    env = {**os.environ, "PGPASSWORD": server.superuser_password, "PGCONNECT_TIMEOUT": "2"}
    return subprocess.run(
        [
            str(bin_dir / "psql"),
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            server.host,
            "-p",
            str(server.port),
            "-U",
            server.superuser,
            "-d",
            "postgres",
            "-f",
            "-",
        ],
        input=sql.encode(),
        env=env,
        capture_output=True,
        timeout=15,
        check=False,
    )


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def start_postgres(
    *,
    port: int,
    app_user: str,
    app_password: str,
    dbname: str = "iot",
    bin_dir: Path | None = None,
    timeout: float = 30.0,
) -> PostgresServer:
    """initdb, start, wait until it answers, create `dbname` owned by `app_user`. Cleans up on failure."""
    bin_dir = bin_dir or find_pg_bin()
    if bin_dir is None:
        raise SandboxServerError("PostgreSQL server not installed: no initdb/postgres binaries found.")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", app_user) or not re.fullmatch(r"[a-z_][a-z0-9_]*", dbname):
        raise SandboxServerError("database and user names must be plain lower-case identifiers.")
    as_user = _run_as()
    root = _make_private_dir()
    server = PostgresServer(
        host="127.0.0.1",
        port=port,
        version="",
        root=root,
        superuser="postgres",
        superuser_password=secrets.token_urlsafe(18),
    )
    try:
        _init_and_start(bin_dir, server, as_user)
        deadline = time.monotonic() + timeout
        sql = (
            f"CREATE ROLE {app_user} LOGIN PASSWORD {_quote_literal(app_password)};\n"
            f"CREATE DATABASE {dbname} OWNER {app_user};\n"
            "SELECT current_setting('server_version');\n"
        )
        while True:
            if _port_open(server.host, port):
                done = _psql_setup(bin_dir, server, sql)
                if done.returncode == 0:
                    server.version = done.stdout.decode().strip().split()[0]
                    return server
                retry = b"starting up" in done.stderr or b"Connection refused" in done.stderr
                if not retry and _running(server):
                    error = done.stderr.decode(errors="replace").replace(app_password, "***").strip()
                    raise SandboxServerError(
                        f"PostgreSQL started but setting up the database failed: {error}"
                    )
            if not _running(server):
                code = server.process.returncode if server.process else None
                raise SandboxServerError(
                    f"PostgreSQL exited during start-up (code {code}); server log:\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise SandboxServerError(
                    f"PostgreSQL did not accept connections on {server.host}:{port} within {timeout:.0f} s; "
                    f"server log:\n{server.log_tail()}"
                )
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise


def _init_and_start(bin_dir: Path, server: PostgresServer, as_user: dict[str, Any]) -> None:
    root, data = server.root, server.root / "data"
    pwfile = root / "superuser.pw"
    pwfile.write_text(server.superuser_password + "\n")
    pwfile.chmod(0o600)
    if as_user:
        for path in (root, pwfile):
            os.chown(path, as_user["user"], as_user["group"])
    initdb = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            server.superuser,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        capture_output=True,
        timeout=120,
        check=False,
        **as_user,
    )
    pwfile.unlink()
    if initdb.returncode != 0:
        tail = "\n".join(initdb.stderr.decode(errors="replace").splitlines()[-10:])
        raise SandboxServerError(f"initdb failed (code {initdb.returncode}):\n{tail}")
    settings = {
        "listen_addresses": server.host,
        "port": str(server.port),
        "unix_socket_directories": str(root),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "shared_buffers": "16MB",
        "max_connections": "30",
        # A failed statement would otherwise be logged with its text, passwords included.
        "log_min_error_statement": "panic",
    }
    argv = [str(bin_dir / "postgres"), "-D", str(data)]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    with server.log_path.open("ab") as log:
        server.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **as_user,
        )


def _running(server: PostgresServer) -> bool:
    return server.process is not None and server.process.poll() is None


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
