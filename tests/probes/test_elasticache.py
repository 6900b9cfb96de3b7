"""ElastiCache probes: groups against moto; PING against a tiny local server that answers PONG."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from verify.errors import CheckFailed, NotReachable
from verify.polling import NotYet
from verify.probes import elasticache


@pytest.fixture
def client(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("elasticache")


def _group(client: Any, group_id: str, encrypted: bool) -> None:
    client.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="cache",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=2,
        AtRestEncryptionEnabled=encrypted,
        TransitEncryptionEnabled=encrypted,
    )


def test_available_encrypted_group_passes(client: Any) -> None:
    _group(client, "iot-cache", encrypted=True)
    cache = elasticache.describe(client, "iot-cache")
    assert cache.kind == "replication group"
    assert elasticache.check_available(client, cache)["status"] == "available"
    assert elasticache.check_encryption(cache)["in_transit"] is True


def test_unencrypted_and_missing_fail(client: Any) -> None:
    _group(client, "plain-cache", encrypted=False)
    with pytest.raises(
        CheckFailed, match="expected encryption at rest and in transit, got none at rest and in transit"
    ):
        elasticache.check_encryption(elasticache.describe(client, "plain-cache"))
    with pytest.raises(CheckFailed, match="expected a replication group or cache cluster, got not found"):
        elasticache.describe(client, "nope")


class _Groups:
    def __init__(self, status: str) -> None:
        self.status = status

    def describe_replication_groups(self, ReplicationGroupId: str) -> dict[str, Any]:
        return {"ReplicationGroups": [{"ReplicationGroupId": ReplicationGroupId, "Status": self.status}]}


def test_modifying_waits_and_create_failed_fails() -> None:
    cache = elasticache.Cache("replication group", "g", {})
    with pytest.raises(NotYet):
        elasticache.check_available(_Groups("modifying"), cache)
    with pytest.raises(CheckFailed, match="expected status available, got create-failed"):
        elasticache.check_available(_Groups("create-failed"), cache)


def _replies(data: bytes) -> bytes:
    """+PONG for PING, +OK for any other RESP command; non-RESP bytes (a TLS hello) get +PONG too."""
    lines = data.split(b"\r\n")
    if not lines[0].startswith(b"*"):
        return b"+PONG\r\n"
    answer, index = b"", 0
    while index < len(lines) and lines[index].startswith(b"*"):
        count = int(lines[index][1:])
        command = lines[index + 2].upper() if count else b""
        answer += b"+PONG\r\n" if command == b"PING" else b"+OK\r\n"
        index += 1 + 2 * count
    return answer


def _serve(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback server giving each connection to `answer` on a thread of its own; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()


@pytest.fixture
def pong_server() -> Iterator[int]:
    """A stand-in for a plain redis-server: answers RESP commands, knows nothing of TLS."""

    def answer(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # the TLS attempt hangs up on our reply
            while data := connection.recv(65536):
                connection.sendall(_replies(data))

    yield from _serve(answer)


def test_ping_falls_back_to_plain_and_says_so(pong_server: int) -> None:
    assert elasticache.ping("127.0.0.1", pong_server, tls_first=False) == {
        "transport": "plain",
        "answer": "PONG",
    }
    # The TLS handshake gets a non-TLS answer and fails fast; plain TCP then answers.
    assert elasticache.ping("127.0.0.1", pong_server, tls_first=True)["transport"] == "plain"


def test_refused_ping_is_not_verified_from_here_unless_it_must_be_reachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with pytest.raises(NotReachable, match="not reachable from here") as caught:
        elasticache.ping("127.0.0.1", port)
    assert not isinstance(caught.value, CheckFailed)
    assert caught.value.address == f"127.0.0.1:{port}"
    with pytest.raises(CheckFailed, match=r"expect.cache_must_be_reachable"):
        elasticache.ping("127.0.0.1", port, must_be_reachable=True)


@pytest.fixture
def plain_only_silent_to_tls() -> Iterator[int]:
    """A plain Redis stand-in that, like a real one, never answers a TLS ClientHello (it waits for
    a RESP command that never comes), so a TLS attempt hangs until its timeout."""

    def answer(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            while data := connection.recv(65536):
                if data[:1] == b"\x16":  # a TLS handshake record: say nothing
                    continue
                connection.sendall(_replies(data))

    yield from _serve(answer)


def test_ping_tries_both_transports_at_once(plain_only_silent_to_tls: int) -> None:
    # One after the other, the hanging TLS attempt would cost its whole 3 s timeout first.
    started = time.monotonic()
    answer = elasticache.ping("127.0.0.1", plain_only_silent_to_tls, tls_first=True, timeout_s=3.0)
    assert answer == {"transport": "plain", "answer": "PONG"}
    assert time.monotonic() - started < 2.0
