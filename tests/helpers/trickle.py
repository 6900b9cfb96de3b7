"""A loopback HTTP server that answers one byte at a time, slowly: the API an attacker (or a broken
proxy) controls. Bounded: each connection writes at most `max_bytes`, then closes."""

from __future__ import annotations

import socket
import threading
import time

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n" + b"x" * 4096


class TrickleServer:
    def __init__(self, *, every_s: float = 1.0, max_bytes: int = 200, headers_first: bool = False) -> None:
        self.every_s = every_s
        self.max_bytes = max_bytes
        self.headers_first = headers_first  # send the headers at once, then trickle the body
        self.connections = 0
        self.requests: list[bytes] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TrickleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                self.requests.append(conn.recv(65536))
                sent = 0
                if self.headers_first:
                    head = ANSWER.index(b"\r\n\r\n") + 4
                    conn.sendall(ANSWER[:head])
                    sent = head
                while sent < min(len(ANSWER), self.max_bytes + (sent if self.headers_first else 0)):
                    if self._stop.wait(self.every_s):
                        return
                    conn.sendall(ANSWER[sent : sent + 1])
                    sent += 1
            except OSError:
                return
            time.sleep(0)
