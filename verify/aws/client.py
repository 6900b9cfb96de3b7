"""The only module that builds boto3 sessions and clients.

- Clients are cached per (service, region) and share one botocore `Config`: standard retry mode
  (throttling and transport retries live here, never in `polling`), bounded timeouts, and a
  `verify/<version>` user agent so the harness's calls are recognisable in CloudTrail.
- Endpoints come from `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` exactly as boto3 resolves
  them itself; nothing here passes `endpoint_url`, so nothing assumes an emulator.
- The read-only guard (smoke mode) hangs on botocore's `before-parameter-build` event, which fires
  before a request is even serialized: a refused write never leaves the process.
- Calls are counted on `before-call` (one per API call, not per retry) for benchmarks.
- A breaker keeps a dead endpoint from costing every check its full retries: after a few
  consecutive tries that could not connect to an endpoint (or that timed out on one operation),
  further tries there fail at once with `EndpointDown`. A run against a closed port or a hanging
  operation therefore finishes in seconds, each check still saying what it could not reach.
- Each try has one overall deadline (connect + read timeout, connect to last byte; `_BoundedSend`),
  and none starts after a stop's budget or the run's hard deadline (verify.polling): botocore's own
  timeouts bound each socket read, so a trickled answer could otherwise hold a check for minutes.
- `aws_errors()` turns botocore's exceptions into the harness's two families: a missing resource
  is `CheckFailed` (the stack is wrong), everything else is `AwsAccessError` (could not verify).
"""

from __future__ import annotations

import functools
import os
import platform
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
    StubResponseError,
    TokenRetrievalError,
)

from verify.aws.snapshot import ReadSnapshot, answer_early
from verify.errors import AwsAccessError, CheckFailed, ReadOnlyViolation
from verify.polling import hard_deadline, past_hard_deadline, stop_deadline, waits_cancelled
from verify.redact import REDACTOR

READ_PREFIXES = (
    "Describe",
    "Get",
    "List",
    "Query",
    "Scan",
    "BatchGet",
    "Head",
    "Select",
    "Search",
    "Lookup",
    "Filter",
    "Check",
    "Test",
    "Validate",
)
# Named like reads but they run the stack's code or move its data: TestInvokeMethod calls the
# integration (a Lambda that writes), TestState can call real service integrations.
_NOT_READS = frozenset(
    {
        ("apigateway", "TestInvokeMethod"),
        ("apigateway", "TestInvokeAuthorizer"),
        ("stepfunctions", "TestState"),
    }
)
# Reads whose names do not say so: a Logs Insights query changes nothing in the stack.
_EXTRA_READS = frozenset({("logs", "StartQuery"), ("logs", "StopQuery")})

NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run `aws sso login`"
)
NO_REGION = "no AWS region configured: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)"

# Parameters that name the resource an operation acts on, for the read-only refusal message.
_RESOURCE_PARAMS = (
    "TableName",
    "QueueUrl",
    "StreamName",
    "StreamARN",
    "TopicArn",
    "FunctionName",
    "Bucket",
    "SecretId",
    "Name",
    "logGroupName",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "stateMachineArn",
    "ResourceArn",
)


def is_read_operation(service: str, operation: str) -> bool:
    """Whether `operation` of `service` only reads (safe in smoke mode).

    A prefix counts only at a word boundary, so `CheckoutLicense` is not a `Check`. Receiving is
    not reading: SQS `ReceiveMessage` hides messages from the stack's own consumers.
    """
    key = (service.lower(), operation)
    if key in _NOT_READS:
        return False
    if key in _EXTRA_READS:
        return True
    for prefix in READ_PREFIXES:
        if operation.startswith(prefix):
            rest = operation[len(prefix) :]
            if not rest or rest[0].isupper():
                return True
    return False


# The form botocore used before its component user agent (1.31): what AWS sees is the SDK, its
# version and the language, and verify's own name and version (user_agent_extra).
_USER_AGENT = (
    f"Boto3/{boto3.__version__} Python/{platform.python_version()} {platform.system()}/{platform.release()} "
    f"Botocore/{botocore.__version__}"
)


def _version() -> str:
    # Imported late: verify/__init__ may one day import this module, and __version__ lives there.
    from verify import __version__

    return __version__


class Aws:
    """One boto3 session for the run, its cached clients, the read-only guard and call counters."""

    def __init__(
        self,
        region: str | None = None,
        *,
        read_only: bool = False,
        profile: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        max_attempts: int = 5,
    ) -> None:
        # botocore reads only AWS_DEFAULT_REGION; AWS_REGION is what the other SDKs, the CLI v2 and
        # Lambda set, and it wins over AWS_DEFAULT_REGION there, so it does here too.
        wanted_region = region or os.environ.get("AWS_REGION") or None
        try:
            self.session = boto3.session.Session(profile_name=profile, region_name=wanted_region)
        except ProfileNotFound:
            raise AwsAccessError(
                f"AWS profile {profile or os.environ.get('AWS_PROFILE')!r} not found in the AWS config "
                "files: fix --profile / AWS_PROFILE or run `aws configure sso`"
            ) from None
        resolved = wanted_region or self.session.region_name
        if not resolved:
            raise AwsAccessError(NO_REGION)
        self.region: str = resolved
        self.read_only = read_only
        self._config = Config(
            # botocore's "max_attempts" key counts retries (so 5 means 6 tries); "total_max_attempts"
            # counts tries, which is what `max_attempts` means here.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # A fixed user agent: botocore otherwise renders its ~35 components, each through a
            # sanitiser, twice per request (~0.3 ms: 8 % of a 200-resource smoke's CPU).
            user_agent=_USER_AGENT,
            user_agent_extra=f"verify/{_version()}",
            # Checks run ahead on up to 32 threads sharing one client per service: botocore's default
            # pool of 10 would make the others open (and throw away) a connection per call.
            max_pool_connections=32,
        )
        # One try's whole budget, connect to last byte: botocore's timeouts bound each socket read.
        self._try_budget_s = connect_timeout + read_timeout
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self.breaker = Breaker()
        # A read-only run (smoke) asks each question once: see verify.aws.snapshot.
        self.snapshot: ReadSnapshot | None = ReadSnapshot() if read_only else None

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached boto3 client for `service` in `region` (default: the run's region)."""
        key = (service, region or self.region)
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None:
                return cached
            try:
                # boto3-stubs types client() per literal service name; ours is a runtime string.
                client = self.session.client(service, region_name=key[1], config=self._config)  # type: ignore[call-overload]
            except NoRegionError:
                raise AwsAccessError(NO_REGION) from None
            events = client.meta.events
            events.register("before-parameter-build", self._guard_read_only)
            events.register("before-call", self._count_call)
            endpoint = str(client.meta.endpoint_url)
            events.register("before-send", functools.partial(self.breaker.before_send, endpoint))
            events.register("before-send", _deadline_guard)
            events.register("response-received", functools.partial(self.breaker.observe, endpoint))
            if self.snapshot is not None:
                self.snapshot.register(events)
                answer_early(client, self.snapshot)
            _bound_each_try(client, self._try_budget_s)
            _load_paginators(client)
            self._clients[key] = client
            return client

    def credentials(self) -> botocore.credentials.Credentials:
        """The session's (refreshable) credentials; `AwsAccessError` when there are none."""
        try:
            credentials = self.session.get_credentials()
        except (CredentialRetrievalError, TokenRetrievalError, PartialCredentialsError) as error:
            raise AwsAccessError(
                f"could not load AWS credentials ({type(error).__name__}): refresh them "
                "(e.g. `aws sso login`) and retry"
            ) from None
        if credentials is None:
            raise AwsAccessError(NO_CREDENTIALS)
        return credentials

    def call_count(self) -> int:
        with self._lock:
            return sum(self._calls.values())

    def calls_by_operation(self) -> dict[str, int]:
        """Calls so far, keyed like IAM actions: `dynamodb:DescribeTable`."""
        with self._lock:
            return dict(self._calls)

    def _guard_read_only(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.read_only:
            return
        service = model.service_model.service_name
        if is_read_operation(service, model.name):
            return
        target = next((str(params[p]) for p in _RESOURCE_PARAMS if params.get(p)), "")
        on = f" on {REDACTOR.redact(target)}" if target else ""
        raise ReadOnlyViolation(
            f"read-only mode: refused {service} {model.name}{on} (smoke mode never writes to the stack)"
        )

    def _count_call(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self._calls[name] += 1


def _deadline_guard(**_: Any) -> None:
    """No AWS try starts once a stop's budget, or the run's deadline and its clean-up grace, is spent."""
    why = past_hard_deadline()
    if why is not None:
        raise AwsAccessError(f"AWS call not sent: {why}")


class _BoundedSend:
    """Wraps a client's HTTP session: each try is sent from a daemon thread, and the calling thread
    waits at most `budget_s` -- and never past a stop's budget or the run's hard deadline.

    botocore's read timeout bounds each socket read: an answer trickled a byte at a time (through a
    proxy, say) never trips it, and held a check -- and its pool thread -- for minutes. A try cut
    here raises botocore's own ReadTimeoutError, so retries and the breaker treat it like any read
    timeout. Unit tests' stubs (moto) answer before the session is reached, so they never come here.
    """

    def __init__(self, session: Any, budget_s: float) -> None:
        self._session = session
        self._budget_s = budget_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def send(self, request: Any) -> Any:
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                outcome["response"] = self._session.send(request)
            except BaseException as error:  # handed to the calling thread
                outcome["error"] = error
            finally:
                done.set()

        threading.Thread(target=work, name="verify-aws-send", daemon=True).start()
        until = time.monotonic() + self._budget_s
        for bound in (stop_deadline(), hard_deadline()):
            if bound is not None:
                until = min(until, bound)
        while not done.wait(min(0.05, max(0.0, until - time.monotonic()))):
            if waits_cancelled():
                # Not a timeout: the breaker must not count it against an operation the clean-up
                # still needs, and botocore does not retry it.
                raise AwsAccessError("AWS call abandoned: the run is being stopped")
            if time.monotonic() >= until:
                raise ReadTimeoutError(endpoint_url=getattr(request, "url", "?"))
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]


def _bound_each_try(client: Any, budget_s: float) -> None:
    endpoint: Any = getattr(client, "_endpoint", None)  # botocore keeps the HTTP session here
    session = getattr(endpoint, "http_session", None)
    if session is not None and not isinstance(session, _BoundedSend):
        endpoint.http_session = _BoundedSend(session, budget_s)


def _load_paginators(client: Any) -> None:
    """Load the client's paginator model now, while the caller holds the clients' lock.

    botocore loads it on the first get_paginator() and lists every service directory it ships
    (~420) to do so. Its cache is not single-flight: when checks running ahead on 30 threads reach
    their first paginator together, each thread repeats that listing (12 000 directory reads at
    200 resources, measured with strace). Loading it here does it once per service.
    """
    operations = client.meta.method_to_api_mapping
    if operations:
        client.can_paginate(next(iter(operations)))


class EndpointDown(AwsAccessError):
    """An endpoint (or one operation on it) the breaker gave up on; `aws_errors` adds the resource."""

    def __init__(self, endpoint: str, operation: str, reason: str) -> None:
        self.endpoint, self.operation, self.reason = endpoint, operation, reason
        self.server_error = reason.startswith("HTTP 5")
        super().__init__(f"could not reach {endpoint} for {operation}: {reason}")


# Consecutive failed tries before the breaker opens: enough for botocore's retries to ride out a
# blip, few enough that a dead endpoint costs seconds, not a retry budget per check.
UNREACHABLE_TRIES = 3
TIMED_OUT_TRIES = 2
SERVER_ERROR_TRIES = 3


class Breaker:
    """Counts consecutive failed tries per endpoint (could not connect) and per endpoint+operation
    (read timed out, HTTP 5xx); once open for a key, every further try there fails at once. Never closes
    again within a run: a run is short, and a dead endpoint that comes back halfway would only make
    the report harder to read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: Counter[tuple[str, str]] = Counter()
        self._open: dict[tuple[str, str], str] = {}

    def before_send(self, endpoint: str, event_name: str = "", **_: Any) -> None:
        operation = _operation_of(event_name)
        with self._lock:
            reason = self._open.get((endpoint, "")) or self._open.get((endpoint, operation))
        if reason is not None:
            raise EndpointDown(endpoint, operation, reason)

    def observe(
        self,
        endpoint: str,
        exception: Exception | None = None,
        response_dict: dict[str, Any] | None = None,
        event_name: str = "",
        **_: Any,
    ) -> None:
        operation = _operation_of(event_name)
        status = int((response_dict or {}).get("status_code") or 0)
        if isinstance(exception, EndpointConnectionError | ConnectTimeoutError | ProxyConnectionError):
            self._fail((endpoint, ""), UNREACHABLE_TRIES, f"{type(exception).__name__} on every try")
        elif isinstance(exception, ReadTimeoutError):
            self._fail((endpoint, operation), TIMED_OUT_TRIES, "no answer within the read timeout")
        elif status >= 500:
            self._fail((endpoint, operation), SERVER_ERROR_TRIES, f"HTTP {status} on every try")
        elif exception is None:
            with self._lock:
                self._failures.pop((endpoint, ""), None)
                self._failures.pop((endpoint, operation), None)

    def _fail(self, key: tuple[str, str], limit: int, reason: str) -> None:
        with self._lock:
            self._failures[key] += 1
            if self._failures[key] >= limit:
                self._open.setdefault(key, f"{reason} ({self._failures[key]} tries)")

    def is_open(self, endpoint: str, operation: str = "") -> bool:
        with self._lock:
            return (endpoint, "") in self._open or (endpoint, operation) in self._open


def _operation_of(event_name: str) -> str:
    # "before-send.dynamodb.DescribeTable" -> "dynamodb DescribeTable"
    parts = event_name.split(".")
    return " ".join(parts[1:3]) if len(parts) >= 3 else event_name


# Error codes, by what they mean for a verifier.
_NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ResourceNotFound",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NotFoundException",
        "NotFound",
        "NoSuchEntity",
        "NoSuchBucket",
        "NoSuchKey",
        "ParameterNotFound",
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "StateMachineDoesNotExist",
        "404",
    }
)
_NOT_FOUND_SUFFIXES = ("NotFound", "NotFoundFault", "NotFoundException", "DoesNotExist")
_ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "403",
    }
)
_BAD_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AuthFailure",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "RequestExpired",
    }
)
# botocore's standard retry mode treats these as throttling; seen here, its retries ran out.
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ProxyConnectionError,
    SSLError,
)


def _is_not_found(code: str, status: int) -> bool:
    return code in _NOT_FOUND_CODES or code.endswith(_NOT_FOUND_SUFFIXES) or status == 404


@contextmanager
def aws_errors(service: str, operation: str, resource: str) -> Iterator[None]:
    """Translate botocore exceptions raised inside into `CheckFailed` / `AwsAccessError`."""
    try:
        yield
    except EndpointDown as error:
        if error.server_error:
            raise AwsAccessError(
                f"{service} {operation} on {resource}: AWS answered {error.reason}; retry later"
            ) from None
        raise AwsAccessError(
            f"could not reach {error.endpoint} for {service} {operation} on {resource}: {error.reason}; "
            "check the network, the region and AWS_ENDPOINT_URL"
        ) from None
    except ClientError as error:
        raise _from_client_error(error, service, operation, resource) from error
    except StubResponseError:
        raise  # a test's stub mismatch is a bug in the test, not an AWS answer
    except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, TokenRetrievalError):
        raise AwsAccessError(NO_CREDENTIALS + f" (needed for {service}:{operation} on {resource})") from None
    except _UNREACHABLE as error:
        endpoint = error.kwargs.get("endpoint_url") or error.kwargs.get("proxy_url") or service
        raise AwsAccessError(
            f"could not reach {endpoint} for {service} {operation} on {resource} "
            f"({type(error).__name__}): check the network, the region and AWS_ENDPOINT_URL"
        ) from error
    except NoRegionError:
        raise AwsAccessError(NO_REGION) from None
    except BotoCoreError as error:
        detail = REDACTOR.redact(str(error))
        raise AwsAccessError(
            f"{service} {operation} on {resource} failed: {type(error).__name__}: {detail}"
        ) from error


def _from_client_error(
    error: ClientError, service: str, operation: str, resource: str
) -> CheckFailed | AwsAccessError:
    info = error.response.get("Error", {})
    code = str(info.get("Code", "Unknown"))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if _is_not_found(code, status):
        return CheckFailed(
            f"{service} {resource}: expected it to exist, got not found ({operation}: {code})",
            resource=resource,
        )
    if code in _ACCESS_DENIED_CODES or (status == 403 and code not in _BAD_CREDENTIAL_CODES):
        return AwsAccessError(
            f"access denied: the credentials in use lack permission {service}:{operation} "
            f"on {resource} ({code}); grant it or use a role that has it"
        )
    if code in _BAD_CREDENTIAL_CODES:
        return AwsAccessError(
            f"AWS rejected the credentials for {service}:{operation} on {resource} ({code}): "
            "they are invalid or expired; refresh them (e.g. `aws sso login`) and retry"
        )
    if code in _THROTTLING_CODES or status == 429:
        return AwsAccessError(
            f"{service} {operation} on {resource}: throttled by AWS ({code}) even after retries; "
            "retry later or lower --workers"
        )
    if status >= 500:
        return AwsAccessError(
            f"{service} {operation} on {resource}: AWS returned HTTP {status} ({code}) after retries; "
            "retry later"
        )
    message = REDACTOR.cut(re.sub(r"\s+", " ", str(info.get("Message", ""))), 300)  # masked, then cut
    return AwsAccessError(f"{service} {operation} on {resource} was rejected: {code}: {message}")
