"""What one check observed, gathered while it runs: its own records, polling attempts, every AWS call
and every HTTP exchange, with timing and request ids.

The plugin makes one `CheckRecorder` current per check, per thread: checks run ahead concurrently
(verify.engine.ahead), each in its own thread, and botocore's event hooks and the observed HTTP session run
in the thread that makes the call, so each writes into the recorder of the check that made it. A
probe needs no extra parameter to leave evidence. Everything is redacted on the way in.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from verify.aws.snapshot import CACHED as SNAPSHOT_HIT
from verify.aws.snapshot import ReadSnapshot
from verify.redact import REDACTOR, is_secret_key

if TYPE_CHECKING:
    import boto3

    from verify.aws.http import HttpResult
    from verify.polling import Attempt

# A long poll makes hundreds of calls; a report needs the first ones and the last ones.
MAX_CALLS = 40
MAX_POLLS = 40
_STARTED = "verify_started"
_PARAMS = "verify_params"

# API parameters that say which resource a call is about (never a value, a body or a secret).
RESOURCE_PARAMS = (
    "TableName",
    "IndexName",
    "QueueUrl",
    "QueueName",
    "StreamName",
    "StreamARN",
    "TopicArn",
    "FunctionName",
    "Bucket",
    "Key",
    "SecretId",
    "Name",
    "Names",
    "logGroupName",
    "logGroupNamePrefix",
    "logGroupIdentifier",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "CacheClusterId",
    "ReplicationGroupId",
    "FileSystemId",
    "cluster",
    "services",
    "stateMachineArn",
    "ResourceArn",
    "AlarmNames",
    "TraceIds",
    "KeyId",
    "VpcIds",
    "SubnetIds",
    "GroupIds",
    "StackName",
    "restApiId",
    "stageName",
    "domainName",  # custom domains asked about before a signed request goes there (verify.aws.http)
)


# Evidence whose every entry is redacted as it is recorded (AWS calls: verify.engine.evidence; HTTP
# exchanges: verify.aws.http): the result does not redact them again. At 200 resources that second pass
# over the AWS calls was ~5 % of a smoke run's CPU.
REDACTED_ON_RECORD = ("aws_calls", "http")


@dataclass
class CheckRecorder:
    """What one check observed: polling attempts and evidence, carried to the report."""

    attempts: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)
    aws_calls: list[dict[str, Any]] = field(default_factory=list)
    http: list[dict[str, Any]] = field(default_factory=list)
    polls: list[dict[str, Any]] = field(default_factory=list)
    dropped_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, key: str, value: Any) -> None:
        self.evidence[key] = value

    def record_all(self, evidence: Mapping[str, object]) -> None:
        """Record each entry of `evidence` in its order: what a probe returns as its findings goes
        into the report in one call, as if each were `record`ed."""
        for key, value in evidence.items():
            self.record(key, value)

    def add_call(self, call: dict[str, Any]) -> None:
        with self._lock:
            if len(self.aws_calls) >= MAX_CALLS:
                # Keep the first half and a sliding last half: how it started and how it ended.
                self.aws_calls.pop(MAX_CALLS // 2)
                self.dropped_calls += 1
            self.aws_calls.append(call)

    def add_poll(self, what: str, attempt: Attempt) -> None:
        with self._lock:
            if len(self.polls) >= MAX_POLLS:
                self.polls.pop(MAX_POLLS // 2)
            self.polls.append(
                {
                    "wait": what,
                    "attempt": attempt.number,
                    "at_s": round(attempt.at_s, 3),
                    "saw": attempt.observed,
                }
            )

    def add_http(self, result: HttpResult) -> None:
        with self._lock:
            if len(self.http) < MAX_CALLS:
                self.http.append(result.evidence())

    def collected(self) -> dict[str, Any]:
        """The evidence as reports carry it: the check's own records, then what the harness saw."""
        data: dict[str, Any] = dict(self.evidence)
        if self.polls:
            data["polling"] = list(self.polls)
        if self.aws_calls:
            data["aws_calls"] = list(self.aws_calls)
            if self.dropped_calls:
                data["aws_calls_not_shown"] = self.dropped_calls
        if self.http:
            data["http"] = list(self.http)
        return data


# A new thread starts with an empty context, so a check running ahead in a pool thread never sees
# (or writes into) the recorder of the check pytest is reporting in the main thread.
_current_var: ContextVar[CheckRecorder | None] = ContextVar("verify_current_recorder", default=None)


def current() -> CheckRecorder | None:
    return _current_var.get()


@contextmanager
def recording(recorder: CheckRecorder) -> Iterator[CheckRecorder]:
    """Make `recorder` the one this thread's AWS and HTTP observations go to, for one check."""
    token = _current_var.set(recorder)
    try:
        yield recorder
    finally:
        _current_var.reset(token)


def observe_aws(session: boto3.session.Session, snapshot: ReadSnapshot | None = None) -> None:
    """Hook a boto3 session so every client made from it afterwards reports its calls to the current
    check, including the calls a read-only run's `snapshot` answers before botocore sees them."""
    if snapshot is not None:
        snapshot.on_hit(_answered_early)
    events = session.events
    # The after-call hook also registers secret values a call returns, so it runs even between checks.
    events.register("before-parameter-build", _before_parameter_build, unique_id="verify-evidence-params")
    events.register("before-call", _before_call, unique_id="verify-evidence-start")
    events.register("after-call", _after_call, unique_id="verify-evidence-end")
    events.register("after-call-error", _after_call_error, unique_id="verify-evidence-error")


def _before_parameter_build(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if _current_var.get() is None:
        return
    context[_PARAMS] = _picked(params)


def _picked(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters that say which resource a call is about: what the evidence keeps of them."""
    return {k: params[k] for k in RESOURCE_PARAMS if k in params and _small(params[k])}


def _add_response(call: dict[str, Any], http_response: Any, parsed: object) -> None:
    meta = parsed.get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
    call["http_status"] = meta.get("HTTPStatusCode", getattr(http_response, "status_code", None))
    call["request_id"] = meta.get("RequestId") or None


def _before_call(context: dict[str, Any], **_: Any) -> None:
    context[_STARTED] = time.monotonic()


def _call(model: Any, context: dict[str, Any]) -> dict[str, Any]:
    started = context.get(_STARTED)
    return {
        "service": model.service_model.service_name,
        "operation": model.name,
        "params": REDACTOR.redact_obj(context.get(_PARAMS, {})),
        "duration_ms": round((time.monotonic() - started) * 1000, 1) if started else None,
    }


def _secret_parts(text: str) -> list[str]:
    """What of a secret's value to mask. A JSON object (RDS credentials: username, password, host,
    dbInstanceIdentifier...) is masked by the values of its secret-looking keys (all its values when
    no key looks secret), not as one text: the
    redactor also masks any part of a registered value that keeps its first or last characters, and
    the JSON's tail (`...": "iot-db-dev"}`) then masked the instance's name and the quotes around it
    wherever that name appeared, breaking summary.json. Anything else is masked whole."""
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    if not isinstance(value, dict):
        return [text]
    values = {
        str(key): str(item) for key, item in value.items() if isinstance(item, str | int) and item != ""
    }
    secret = [item for key, item in values.items() if is_secret_key(key)]
    # No key says which value is the secret ({"value": "..."}): every value is masked, one by one.
    return secret or list(values.values())


def _register_secret_values(service: str, operation: str, parsed: dict[str, Any]) -> None:
    """A value read from Secrets Manager or an SSM SecureString is masked from then on, everywhere."""
    if service == "secretsmanager" and operation == "GetSecretValue":
        for part in _secret_parts(str(parsed.get("SecretString") or "")):
            REDACTOR.add(part)
        binary = parsed.get("SecretBinary")
        if isinstance(binary, bytes | bytearray):
            REDACTOR.add(bytes(binary).decode("utf-8", errors="replace"))
    elif service == "ssm" and operation in ("GetParameter", "GetParameters", "GetParametersByPath"):
        params = parsed.get("Parameters") or [parsed.get("Parameter") or {}]
        for param in params:
            if isinstance(param, dict) and param.get("Type") == "SecureString":
                REDACTOR.add(str(param.get("Value") or ""))


def _after_call(
    http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
) -> None:
    if isinstance(parsed, dict):
        # First, and whichever check (or none) is current: from now on the value is known and masked.
        _register_secret_values(model.service_model.service_name, model.name, parsed)
    recorder = _current_var.get()
    if recorder is None:
        return
    call = _call(model, context)
    if context.get(SNAPSHOT_HIT):
        call["cached"] = True  # the run's snapshot answered: no call went to AWS
    _add_response(call, http_response, parsed)
    error = parsed.get("Error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and error.get("Code"):
        call["error"] = REDACTOR.redact(str(error["Code"]))
    recorder.add_call(call)


def _answered_early(
    service: str, operation: str, params: dict[str, Any], http_response: Any, parsed: dict[str, Any]
) -> None:
    # The same record as a snapshot hit on botocore's path (_after_call): no call went to AWS.
    _register_secret_values(service, operation, parsed)
    recorder = _current_var.get()
    if recorder is None:
        return
    call: dict[str, Any] = {
        "service": service,
        "operation": operation,
        "params": REDACTOR.redact_obj(_picked(params)),
        "duration_ms": None,
        "cached": True,
    }
    _add_response(call, http_response, parsed)
    recorder.add_call(call)


def _after_call_error(context: dict[str, Any], exception: Exception, event_name: str = "", **_: Any) -> None:
    # botocore passes no operation model with this event (only its name says what was called):
    # requiring one turned every unreachable endpoint into a TypeError instead of its own reason.
    recorder = _current_var.get()
    if recorder is None:
        return
    parts = event_name.split(".")
    started = context.get(_STARTED)
    call: dict[str, Any] = {
        "service": parts[1] if len(parts) > 2 else "",
        "operation": parts[2] if len(parts) > 2 else "",
        "params": REDACTOR.redact_obj(context.get(_PARAMS, {})),
        "duration_ms": round((time.monotonic() - started) * 1000, 1) if started else None,
    }
    call["error"] = REDACTOR.redact(f"{type(exception).__name__}: {exception}")[:200]
    recorder.add_call(call)


def _small(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= 300
    if isinstance(value, list | tuple):
        return len(value) <= 10 and all(isinstance(v, str) and len(v) <= 300 for v in value)
    return isinstance(value, int | float | bool)


def observed_http(http_cls: type[Any]) -> type[Any]:
    """A subclass of `SignedHttp` whose every exchange also lands in the current check's evidence."""

    class ObservedHttp(http_cls):  # type: ignore[misc]
        def request(self, *args: Any, **kwargs: Any) -> Any:
            result = super().request(*args, **kwargs)
            recorder = _current_var.get()
            if recorder is not None:
                recorder.add_http(result)
            return result

    return ObservedHttp
