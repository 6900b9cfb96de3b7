"""The smoke floor: the read calls of a smoke run (bench/calls.py) replayed by the plainest fast script.

    python3 bench/floor.py calls.json [--workers 16] [--clients upfront|threads]

One process, one boto3 session, one client per service, every call through one ThreadPoolExecutor;
the API calls signed with botocore's SigV4Auth and sent with urllib. It prints the call count and
the wall time, and exits 1 if any call failed (an AWS error other than the one the run recorded, an
HTTP status other than the recorded one, or no answer): then the floor is invalid. Exit 2: bad input.

Clients: `upfront` (the default) creates them all, one after another in the main thread, before
the first call; `threads` creates each service's client as a pool task and queues that service's
calls as soon as it exists. Measured on the pipeline smoke (71 AWS + 2 HTTP calls, 8 clients, 15
alternating runs, process start to exit): upfront median 0.70 s, threads 0.80 s. Client creation is
CPU work under the GIL, so doing it in threads only adds contention to the calls already in flight.
The credentials are resolved once before any thread starts, so the threads never race to load them.
Imports are what the calls need and nothing more: it is the floor.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402  (the clock above starts before the imports, which are part of the cost)
import sys  # noqa: E402
import threading  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from concurrent.futures import Future, ThreadPoolExecutor, as_completed  # noqa: E402
from typing import Any  # noqa: E402

import boto3.session  # noqa: E402
from botocore import xform_name  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

MODES = ("upfront", "threads")


def method_name(operation: str) -> str:
    """The boto3 client method of an API operation: DescribeDBInstances -> describe_db_instances."""
    return str(xform_name(operation))


class Floor:
    def __init__(self, calls: list[dict[str, Any]], workers: int, clients: str) -> None:
        self.calls = calls
        self.workers = workers
        self.mode = clients
        self.session = boto3.session.Session()
        # Resolved here, in one thread: the session's credential chain is not safe to walk concurrently.
        credentials = self.session.get_credentials()
        if credentials is None:
            raise ValueError("no AWS credentials found (source the sandbox's env, or set a profile)")
        self.credentials = credentials
        self.config = Config(max_pool_connections=workers)
        self.clients: dict[str, Any] = {}
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        made = self.session.client(service, config=self.config)  # type: ignore[call-overload]
        self.clients[service] = made
        return made

    def aws(self, call: dict[str, Any]) -> None:
        client = self.clients[call["service"]]
        name = f"{call['service']}.{call['operation']}"
        try:
            getattr(client, method_name(call["operation"]))(**call.get("params", {}))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code != call.get("expect_error"):
                self._fail(f"{name}: {code}")
            return
        except Exception as error:
            self._fail(f"{name}: {type(error).__name__}")
            return
        if call.get("expect_error"):
            self._fail(f"{name}: answered, but the run got {call['expect_error']}")

    def http(self, spec: dict[str, Any]) -> None:
        method, url = spec["method"], spec["url"]
        headers: dict[str, str] = {}
        if spec.get("signed", True):
            request = AWSRequest(method=method, url=url)
            SigV4Auth(self.credentials, "execute-api", self.session.region_name).add_auth(request)
            headers = dict(request.headers.items())
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, headers=headers, method=method)
            ) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            error.read()
            status = error.code
        except (OSError, ValueError) as error:
            self._fail(f"HTTP {method} {url}: {type(error).__name__}")
            return
        expected = spec.get("status")
        if (expected is not None and status != expected) or (expected is None and status >= 500):
            self._fail(f"HTTP {method} {url}: {status}, the run got {expected}")

    def _fail(self, reason: str) -> None:
        with self._lock:
            self.failures.append(reason)

    def run(self) -> None:
        by_service: dict[str, list[dict[str, Any]]] = {}
        for call in self.calls:
            if "service" in call:
                by_service.setdefault(call["service"], []).append(call)
        with ThreadPoolExecutor(self.workers) as pool:
            pending: list[Future[None]] = []
            made: dict[Future[Any], str] = {}
            if self.mode == "upfront":
                for service in by_service:
                    self.client(service)
                pending += [pool.submit(self.aws, c) for calls in by_service.values() for c in calls]
            else:
                made = {pool.submit(self.client, s): s for s in by_service}
            pending += [pool.submit(self.http, c["http"]) for c in self.calls if "http" in c]
            for future in as_completed(made):
                future.result()  # a client that cannot be made ends the run here, not silently
                pending += [pool.submit(self.aws, c) for c in by_service[made[future]]]
            for future in pending:
                future.result()


def main(argv: list[str]) -> int:
    args = list(argv)
    workers, mode = 16, "upfront"
    try:
        if "--workers" in args:
            at = args.index("--workers")
            workers = int(args.pop(at + 1))
            args.pop(at)
        if "--clients" in args:
            at = args.index("--clients")
            mode = args.pop(at + 1)
            args.pop(at)
        (path,) = args
        if mode not in MODES or workers < 1:
            raise ValueError(mode)
        with open(path) as file:
            calls: list[dict[str, Any]] = json.load(file)
    except (ValueError, IndexError, OSError) as error:
        print(
            f"usage: floor.py CALLS.json [--workers N] [--clients {'|'.join(MODES)}] ({error})",
            file=sys.stderr,
        )
        return 2
    try:
        floor = Floor(calls, workers, mode)
    except ValueError as error:
        print(f"floor: {error}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    floor.run()
    ended = time.perf_counter()
    aws = sum(1 for c in calls if "service" in c)
    print(
        f"floor: {len(calls)} calls ({aws} AWS, {len(calls) - aws} HTTP) in {ended - began:.3f} s wall, "
        f"{ended - STARTED:.3f} s since the script's first line; {len(floor.clients)} clients ({mode}), "
        f"{workers} workers"
    )
    if floor.failures:
        print(f"floor: INVALID, {len(floor.failures)} call(s) failed:", file=sys.stderr)
        for reason in floor.failures[:10]:
            print(f"  {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
