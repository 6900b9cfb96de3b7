"""A real, throw-away PostgreSQL server for the platform stack's RDS instance to point at.

The system's binaries or a pip package's (`server_binaries.find_pg_bin`), initdb into a private
temporary directory, loopback only, scram-sha-256 passwords, durability switched off for speed.
PostgreSQL refuses to run as root, and root is who runs the sandbox on these machines and in CI, so
when euid is 0 every PostgreSQL process runs as an unprivileged user (`postgres` where Debian's
package made it, else `nobody`). The postmaster is our direct child in its own session, so Ctrl-C on
the sandbox's console reaches the sandbox, which then stops it in order.
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
from verify.sandbox.platform.server_binaries import PG_PROGRAM, find_pg_bin, missing_reason


class SandboxServerError(VerifyError):
    """A local server the sandbox needs could not be started."""


def _run_as() -> dict[str, Any]:
    """subprocess keyword arguments that drop root to an unprivileged user (nothing when not root):
    Debian's `postgres` user where the package made one, else `nobody`, which every Debian and most
    other systems have (a fresh machine with only pip-installed binaries has no `postgres` user)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    raise SandboxServerError(
        "PostgreSQL cannot run as root and this system has neither a `postgres` nor a `nobody` user: "
        "run the sandbox as an unprivileged user."
    )


def _traversable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _reachable_install(bin_dir: Path, root: Path, as_user: dict[str, Any]) -> Path:
    """A bin directory the server's user can execute. A pip-installed PostgreSQL lives in site-packages,
    often under /root (mode 700), where the unprivileged user cannot reach it; then its install tree is
    linked (or, across file systems, copied) into the server's private directory. The layout is kept,
    `<package>/pginstall/{bin,lib,share}` beside `<package>.libs`, because the binaries find their
    libraries through relative rpaths."""
    if not as_user or _traversable_by_others(bin_dir):
        return bin_dir
    install = bin_dir.parent  # .../<package>/pginstall
    package_dir = install.parent
    target_package = root / "install" / package_dir.name
    for part in ("bin", "lib", "share"):
        if (install / part).is_dir():
            shutil.copytree(install / part, target_package / install.name / part, copy_function=_link_or_copy)
    libs = package_dir.parent / f"{package_dir.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, root / "install" / libs.name, copy_function=_link_or_copy)
    for path in [root / "install", *(root / "install").rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    return target_package / install.name / "bin"


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


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


def _setup(server: PostgresServer, app_user: str, app_password: str, dbname: str) -> str | None:
    """Create the app's role and database; answer the server version, or None while it starts up.

    psycopg (a core dependency) rather than psql: a pip-installed server may ship no working psql. The
    password travels inside the protocol, never on a command line any user could read."""
    import psycopg
    from psycopg import sql

    try:
        conn = psycopg.connect(
            host=server.host,
            port=server.port,
            user=server.superuser,
            password=server.superuser_password,
            dbname="postgres",
            connect_timeout=2,
            autocommit=True,
        )
    except psycopg.OperationalError as error:
        text = str(error)
        if "starting up" in text or "refused" in text or "timeout" in text.lower():
            return None
        raise SandboxServerError(
            f"PostgreSQL started but refused the superuser: {text.replace(app_password, '***')}"
        ) from None
    try:
        with conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(app_user), sql.Literal(app_password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(app_user)
                )
            )
            row = conn.execute("SELECT current_setting('server_version')").fetchone()
    except psycopg.Error as error:
        raise SandboxServerError(
            f"PostgreSQL started but setting up the database failed: {str(error).replace(app_password, '***')}"
        ) from None
    return str(row[0]).split()[0] if row else "unknown"


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
    if bin_dir is None:
        found = find_pg_bin()
        if found is None:
            raise SandboxServerError(missing_reason(PG_PROGRAM))
        bin_dir = found.path
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
        bin_dir = _reachable_install(bin_dir, root, as_user)
        _init_and_start(bin_dir, server, as_user)
        deadline = time.monotonic() + timeout
        while True:
            if _port_open(server.host, port):
                version = _setup(server, app_user, app_password, dbname)
                if version is not None:
                    server.version = version
                    return server
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
