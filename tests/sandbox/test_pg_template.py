"""PostgreSQL's data directory from a cached template: the first start runs initdb and keeps the
result, later starts copy it, and each start still gets its own superuser password. A template no
server can start from is replaced, and VERIFY_SANDBOX_CACHE=off keeps nothing."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from verify.sandbox.emulator.server import free_port
from verify.sandbox.platform import postgres as postgres_module
from verify.sandbox.platform.postgres import CACHE_ENV, PostgresServer, cache_dir, start_postgres
from verify.sandbox.platform.server_binaries import find_pg_bin

pytestmark = pytest.mark.sandbox


def _connects(server: PostgresServer, user: str, password: str, dbname: str) -> bool:
    try:
        with psycopg.connect(
            host=server.host, port=server.port, user=user, password=password, dbname=dbname, connect_timeout=3
        ) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def _templates(cache: Path) -> list[Path]:
    root = cache / "pg-templates"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def _count_initdb(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    ran: list[Path] = []
    original = postgres_module._initdb

    def counting(bin_dir: Path, server: PostgresServer, as_user: dict[str, object]) -> None:
        ran.append(server.root)
        original(bin_dir, server, as_user)

    monkeypatch.setattr(postgres_module, "_initdb", counting)
    return ran


def test_the_second_start_copies_the_template_and_changes_the_superuser_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    ran = _count_initdb(monkeypatch)
    first = start_postgres(port=free_port(), app_user="iot_app", app_password="first-pw")
    try:
        assert first.template is None and len(ran) == 1  # nothing cached yet: initdb
        [template] = _templates(tmp_path / "cache")
        assert (template / "data" / "PG_VERSION").is_file()
        secret = template / "superuser.pw"
        assert oct(secret.stat().st_mode & 0o777) == "0o600"
        template_password = secret.read_text().strip()
        # The template's password was this server's first, never its last.
        assert first.superuser_password != template_password
        assert not _connects(first, "postgres", template_password, "postgres")
        assert _connects(first, "postgres", first.superuser_password, "postgres")
    finally:
        first.stop()
    second = start_postgres(port=free_port(), app_user="iot_app", app_password="second-pw")
    try:
        assert second.template == template and len(ran) == 1  # copied, no second initdb
        assert _connects(second, "iot_app", "second-pw", "iot")
        assert not _connects(second, "iot_app", "first-pw", "iot")
        assert second.superuser_password not in (template_password, first.superuser_password)
        assert not _connects(second, "postgres", template_password, "postgres")
        assert _connects(second, "postgres", second.superuser_password, "postgres")
    finally:
        second.stop()
    assert not second.root.exists() and (template / "data" / "PG_VERSION").is_file()


def test_a_template_no_server_starts_from_is_replaced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    start_postgres(port=free_port(), app_user="iot_app", app_password="pw").stop()
    [template] = _templates(tmp_path / "cache")
    (template / "data" / "global" / "pg_control").unlink()  # the server refuses such a directory
    ran = _count_initdb(monkeypatch)
    server = start_postgres(port=free_port(), app_user="iot_app", app_password="pw")
    try:
        assert server.template is None and len(ran) == 1
        assert _connects(server, "iot_app", "pw", "iot")
    finally:
        server.stop()
    [fresh] = _templates(tmp_path / "cache")
    assert (fresh / "data" / "global" / "pg_control").is_file()


def test_cache_off_keeps_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() is None
    ran = _count_initdb(monkeypatch)
    server = start_postgres(port=free_port(), app_user="iot_app", app_password="pw")
    try:
        assert server.template is None and len(ran) == 1
        assert _connects(server, "iot_app", "pw", "iot")
    finally:
        server.stop()
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()


def test_the_default_cache_is_the_users(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "verify-stack"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "verify-stack"


def test_another_build_of_postgres_gets_its_own_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    found = find_pg_bin()
    assert found is not None
    as_user = postgres_module._run_as()
    here = postgres_module._template_dir(found.path, as_user)
    other = tmp_path / "bin"
    other.mkdir()
    for name in ("initdb", "postgres"):
        (other / name).write_bytes(b"another build")
    assert here is not None and postgres_module._template_dir(other, as_user) not in (None, here)
    # The same build found through another path (a link, a copy keeping its times) shares it.
    for name in ("initdb", "postgres"):
        stat = (found.path / name).stat()
        os.truncate(other / name, stat.st_size)
        os.utime(other / name, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert postgres_module._template_dir(other, as_user) == here
