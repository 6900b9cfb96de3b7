"""A real, throw-away PostgreSQL server for the platform stack's RDS instance to point at.

The system's binaries or a pip package's (`server_binaries.find_pg_bin`), a data directory in a private
temporary directory, loopback only, scram-sha-256 passwords, durability switched off for speed.

initdb is the slow part of a start (1.3-2 s of CPU), and its result depends only on the binaries and
its options. So its first result is kept as a template in the user's cache directory (`pg-templates/`
under `VERIFY_SANDBOX_CACHE`, default `$XDG_CACHE_HOME/verify-stack` or `~/.cache/verify-stack`; `off`
keeps nothing), keyed by the binaries' identity, and later starts copy it (~0.2 s). The template's
superuser password is replaced by a fresh random one at every start, before anything else runs.
PostgreSQL refuses to run as root, and root is who runs the sandbox on these machines and in CI, so
when euid is 0 every PostgreSQL process runs as an unprivileged user (`postgres` where Debian's
package made it, else `nobody`). The postmaster is our direct child in its own session, so Ctrl-C on
the sandbox's console reaches the sandbox, which then stops it in order.
"""

from __future__ import annotations

import contextlib
import hashlib
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


# A template's layout and initdb options: bump when either changes, so an old template is not reused.
TEMPLATE_FORMAT = "1"
CACHE_ENV = "VERIFY_SANDBOX_CACHE"
_CACHE_OFF = ("off", "none", "no", "0", "false")
TEMPLATES_KEPT = 4  # one per binary and server user; older ones are removed when a new one is made
_TEMPLATE_PASSWORD = "superuser.pw"


def cache_dir() -> Path | None:
    """Where the sandbox keeps what it may reuse between starts (None: keep nothing)."""
    chosen = os.environ.get(CACHE_ENV, "").strip()
    if chosen.lower() in _CACHE_OFF:
        return None
    if chosen:
        return Path(chosen)
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except (RuntimeError, KeyError):  # no home directory to be found
        return None
    return base / "verify-stack"


def _template_dir(bin_dir: Path, as_user: dict[str, Any]) -> Path | None:
    """This install's template: keyed by the binaries (a PostgreSQL upgrade makes a new one) and the
    server's user (who owns the files)."""
    root = cache_dir()
    if root is None:
        return None
    parts = [TEMPLATE_FORMAT, str(as_user.get("user", os.geteuid()))]
    try:
        for name in ("initdb", "postgres"):
            found = (bin_dir / name).stat()
            parts += [name, str(found.st_size), str(found.st_mtime_ns)]
    except OSError:
        return None
    return root / "pg-templates" / hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _copy_tree(source: Path, target: Path) -> None:
    """A data directory copied with its owners and modes (PostgreSQL checks both). `cp -a` is several
    times faster than shutil's copy here (~970 small files); shutil is the fallback."""
    cp = shutil.which("cp")
    if cp is not None:
        done = subprocess.run([cp, "-a", str(source), str(target)], capture_output=True, check=False)
        if done.returncode == 0:
            return
        shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    owner = source.stat()
    if os.geteuid() == 0 and (owner.st_uid, owner.st_gid) != (0, 0):
        for path in [target, *target.rglob("*")]:
            os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)


def _from_template(template: Path | None, data: Path) -> str | None:
    """Copy the template's data directory to `data`; answer its superuser password, or None (no template)."""
    if template is None or not (template / "data").is_dir():
        return None
    try:
        password = (template / _TEMPLATE_PASSWORD).read_text().strip()
        _copy_tree(template / "data", data)
    except OSError:
        shutil.rmtree(data, ignore_errors=True)
        return None
    return password or None


def _publish_template(template: Path, data: Path, password: str) -> None:
    """Keep a freshly made (never started) data directory as the template. Atomic: a copy is staged
    beside the templates, then renamed into place; when another start got there first, theirs stays."""
    parent = template.parent
    staging: Path | None = None
    try:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = Path(tempfile.mkdtemp(prefix=".new-", dir=parent))
        _copy_tree(data, staging / "data")
        secret = staging / _TEMPLATE_PASSWORD
        secret.touch(mode=0o600)
        secret.write_text(password + "\n")
        os.rename(staging, template)
        staging = None
        _prune_templates(parent, keep=template)
    except OSError:
        pass  # no cache this time: the next start runs initdb again
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _prune_templates(parent: Path, keep: Path) -> None:
    now = time.time()
    entries = [p for p in parent.iterdir() if p.is_dir() and p != keep]
    stale_staging = [p for p in entries if p.name.startswith(".new-") and now - p.stat().st_mtime > 3600]
    templates = sorted((p for p in entries if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
    for path in [*stale_staging, *templates[: max(0, len(templates) - (TEMPLATES_KEPT - 1))]]:
        shutil.rmtree(path, ignore_errors=True)


def _discard_template(template: Path) -> None:
    """A template a server could not start from is removed, so the next start makes a fresh one."""
    with contextlib.suppress(OSError):
        doomed = template.with_name(f".old-{template.name}-{os.getpid()}")
        os.rename(template, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


# A data directory is ~970 files, created at every start and removed at every stop. On a disk file
# system that churn is slow when other work deletes files too (ext4 steps over every recently freed
# inode: 1-1.8 s of system time for one copy, measured, against 0.1 s on tmpfs), so a throw-away data
# directory goes to memory when the system has a roomy tmpfs and the user chose no TMPDIR.
SHM = Path("/dev/shm")
SHM_MIN_FREE = 512 * 1024 * 1024  # a server's data grows from ~45 MB; Docker's default /dev/shm is 64 MB


def _roomy_shm() -> bool:
    try:
        found = os.statvfs(SHM)
    except OSError:
        return False
    return found.f_bavail * found.f_frsize >= SHM_MIN_FREE and os.access(SHM, os.W_OK | os.X_OK)


def _make_private_dir(in_memory: bool = True) -> Path:
    if in_memory and "TMPDIR" not in os.environ and _roomy_shm():
        base = SHM
    else:
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
    template: Path | None = None  # the cached template the data directory was copied from, if any

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


def _setup(
    server: PostgresServer, app_user: str, app_password: str, dbname: str, new_superuser_password: str | None
) -> str | None:
    """Create the app's role and database; answer the server version, or None while it starts up.
    With `new_superuser_password` (a data directory from a template), the superuser's password is
    changed to it first.

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
            if new_superuser_password is not None:
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(server.superuser), sql.Literal(new_superuser_password)
                    )
                )
                server.superuser_password = new_superuser_password
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
    template = _template_dir(bin_dir, as_user)  # from the binaries as found, before any linking below
    try:
        return _attempt(bin_dir, port, app_user, app_password, dbname, timeout, as_user, template, copy=True)
    except _BadTemplate:
        # A template no server can start from (damaged, or from another build with the same size and
        # time): removed, so this start and the next ones run initdb and make a fresh one.
        assert template is not None
        _discard_template(template)
        return _attempt(bin_dir, port, app_user, app_password, dbname, timeout, as_user, template, copy=False)


class _BadTemplate(Exception):
    """The server did not start from a data directory copied from the template."""


def _attempt(
    bin_dir: Path,
    port: int,
    app_user: str,
    app_password: str,
    dbname: str,
    timeout: float,
    as_user: dict[str, Any],
    template: Path | None,
    *,
    copy: bool,
) -> PostgresServer:
    """One start: the data directory copied from the template (when `copy` and there is one), else
    made by initdb and then kept as the template."""
    # An install the server's user cannot reach is linked into the private directory (below), which
    # only works on the install's own file system: then the directory stays on disk.
    root = _make_private_dir(in_memory=not as_user or _traversable_by_others(bin_dir))
    server = PostgresServer(
        host="127.0.0.1",
        port=port,
        version="",
        root=root,
        superuser="postgres",
        superuser_password=secrets.token_urlsafe(18),
    )
    # A data directory from (or made into) a template starts with the template's superuser password;
    # the server gets this start's own random one before anything else.
    own_password: str | None = None
    try:
        bin_dir = _reachable_install(bin_dir, root, as_user)
        if as_user:
            os.chown(root, as_user["user"], as_user["group"])
        template_password = _from_template(template, root / "data") if copy else None
        if template_password is not None:
            server.template = template
            own_password, server.superuser_password = server.superuser_password, template_password
        else:
            if template is not None:
                own_password, server.superuser_password = server.superuser_password, secrets.token_urlsafe(18)
            _initdb(bin_dir, server, as_user)
            if template is not None:
                _publish_template(template, root / "data", server.superuser_password)
        _start(bin_dir, server, as_user)
        deadline = time.monotonic() + timeout
        while True:
            if _port_open(server.host, port):
                version = _setup(server, app_user, app_password, dbname, own_password)
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
    except SandboxServerError as error:
        # A port another process took is no fault of the template's; anything else from a copy is.
        blame_template = server.template is not None and "could not bind" not in server.log_tail(50)
        server.stop()
        if blame_template:
            raise _BadTemplate() from error
        raise
    except BaseException:
        server.stop()
        raise


def _initdb(bin_dir: Path, server: PostgresServer, as_user: dict[str, Any]) -> None:
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


def _start(bin_dir: Path, server: PostgresServer, as_user: dict[str, Any]) -> None:
    root, data = server.root, server.root / "data"
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
