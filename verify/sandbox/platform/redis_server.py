"""A real, throw-away redis-server for the platform stack's ElastiCache endpoint to point at.

The binary is the system's or the one a pip package ships (`server_binaries.find_redis_server`).

Loopback only, nothing persisted (`--save ''`, no AOF), its working directory inside the sandbox's
own temporary directory. It speaks plain TCP: the emulated replication group claims in-transit
encryption, which the local server does not reproduce.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from verify.sandbox.platform.postgres import SandboxServerError
from verify.sandbox.platform.server_binaries import REDIS_PROGRAM, find_redis_server, missing_reason


@dataclass
class RedisServer:
    host: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _pong(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(*, port: int, workdir: Path, binary: str | None = None, timeout: float = 10.0) -> RedisServer:
    """Start redis-server on 127.0.0.1:port and wait until it answers PING. Cleans up on failure."""
    if binary is None:
        found = find_redis_server()
        if found is None:
            raise SandboxServerError(missing_reason(REDIS_PROGRAM))
        binary = str(found.path)
    workdir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(host="127.0.0.1", port=port, workdir=workdir)
    argv = [
        binary,
        "--bind",
        server.host,
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--daemonize",
        "no",
        "--logfile",
        str(server.log_path),
    ]
    try:
        server.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not _pong(server.host, port):
            if server.process.poll() is not None or time.monotonic() > deadline:
                try:
                    tail = "\n".join(server.log_path.read_text(errors="replace").splitlines()[-10:])
                except OSError:
                    tail = "(no server log)"
                raise SandboxServerError(f"redis-server did not answer PING on {server.host}:{port}:\n{tail}")
            time.sleep(0.02)
        return server
    except BaseException:
        server.stop()
        raise
