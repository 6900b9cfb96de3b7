"""A run's read snapshot: each distinct read call is sent once, and every check asking the same
question (same operation, same parameters) gets that one answer.

Why: the checks about one resource ask AWS the same thing -- five SQS checks each read the queue's
attributes, four DynamoDB checks each describe the table -- so a smoke run on a stack of N resources
sent ~3.7 N calls, and a grown stack's smoke time grew with them. Answered once, the checks also
judge one consistent view of the stack instead of views a few milliseconds apart.

The smoke profile, which writes nothing, answers every repeated read from it. A full run observes
the stack change (the DLQ depth before and after its reading, the log group a first invocation
creates, an alarm its malformed reading trips), so it answers only `CONFIGURATION_READS`: what a
stack is configured to be, which the run's own readings cannot change -- a function's settings, a
table's key schema and TTL, an API's routes and stage, a database's engine and subnets. A sandbox
pipeline run sent 148 calls, 19 of them the same GetFunctionConfiguration question; it now sends 93.

The retries of an `eventually` wait are never answered from it (the wait is for a change); its
first attempt is an ordinary read. Concurrent askers of the same question wait for the first one's
answer instead of all sending it (single flight). Errors are not cached: each asker sends its own
call and gets its own error. Each hit is a fresh copy, so no check can alter another's answer.
"""

from __future__ import annotations

import json
import pickle
import threading
from collections.abc import Callable
from typing import Any, cast

from verify.polling import in_wait

KEY = "verify_snapshot_key"
CACHED = "verify_snapshot_hit"  # set in a call's context when its answer came from the snapshot
_OWNER = "verify_snapshot_owner"
# (service, operation, params, http_response, parsed) of a call the snapshot answered early.
HitListener = Callable[[str, str, dict[str, Any], Any, dict[str, Any]], None]
# How long a second asker waits for the first one's answer before sending its own call.
_FOLLOWER_WAIT_S = 30.0


# What a full run answers from its snapshot: what a stack is configured to be, which a reading sent
# through it cannot change (a state changing by itself -- an instance still `modifying` -- is
# waited for, and a wait's retries always ask AWS). Not here, because a run's own readings change
# them: queue depths (GetQueueAttributes), items (Query, Scan, GetItem), logs and log groups (a
# first invocation creates its group), traces, alarm states, event-source mappings' last
# processing result.
CONFIGURATION_READS = frozenset(
    {
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:DescribeContinuousBackups",
        "lambda:GetFunctionConfiguration",
        "lambda:GetFunction",
        "lambda:GetFunctionConcurrency",
        "lambda:GetFunctionEventInvokeConfig",
        "lambda:GetPolicy",
        "apigateway:GetRestApi",
        "apigateway:GetRestApis",
        "apigateway:GetResources",
        "apigateway:GetStage",
        "apigateway:GetStages",
        "apigateway:GetDomainName",
        "apigateway:GetBasePathMappings",
        "apigatewayv2:GetApi",
        "apigatewayv2:GetRoutes",
        "apigatewayv2:GetStage",
        "apigatewayv2:GetStages",
        "apigatewayv2:GetIntegrations",
        "sns:GetTopicAttributes",
        "kms:DescribeKey",
        "kms:GetKeyRotationStatus",
        "secretsmanager:DescribeSecret",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "elasticache:DescribeReplicationGroups",
        "elasticache:DescribeCacheClusters",
        "efs:DescribeFileSystems",
        "efs:DescribeMountTargets",
        "kinesis:DescribeStreamSummary",
        "ecs:DescribeClusters",
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
    }
)


class ReadSnapshot:
    """botocore event handlers that answer repeated read calls from the first answer -- of every
    read, or only of the operations in `only` ("service:Operation", as `CONFIGURATION_READS`)."""

    def __init__(self, only: frozenset[str] | None = None) -> None:
        self._only = only
        self._lock = threading.Lock()
        # key -> (HTTP response, a function returning a fresh copy of the parsed answer)
        self._answers: dict[str, tuple[Any, Callable[[], Any]]] = {}
        self._pending: dict[str, threading.Event] = {}
        self.hits = 0
        self._listeners: list[HitListener] = []

    def register(self, events: Any) -> None:
        events.register("before-parameter-build", self._key)
        # First, ahead of call counting and the breaker: a hit is no call to AWS.
        events.register_first("before-call", self._answer)
        events.register("after-call", self._store)
        events.register("after-call-error", self._release)

    def on_hit(self, listener: HitListener) -> None:
        """Call `listener(service, operation, params, http_response, parsed)` for each early answer
        (the evidence records it as a cached call; the botocore path has its own events)."""
        self._listeners.append(listener)

    def answer_early(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The stored answer to this question, before botocore prepares a request for it; None sends
        the call through botocore (and its handlers above: a first ask, or one in flight, waits there).

        Why: botocore resolves the endpoint, validates and serialises the parameters and renders the
        user agent before `before-call` may answer. At 200 resources, 660 answered calls spent ~0.4 s
        of CPU there, the largest share of a smoke run's own work."""
        if in_wait():
            return None
        key = self._key_of(service, operation, params)
        if key is None:
            return None
        with self._lock:
            answer = self._answers.get(key)
            if answer is None:
                return None
            self.hits += 1
        http_response, parsed = answer[0], cast(dict[str, Any], answer[1]())
        for listener in self._listeners:
            listener(service, operation, params, http_response, parsed)
        return parsed

    def _key(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if in_wait():
            return
        key = self._key_of(model.service_model.service_name, model.name, params)
        if key is not None:
            context[KEY] = key

    def _key_of(self, service: str, operation: str, params: dict[str, Any]) -> str | None:
        """The question's key, or None for one this snapshot never answers (always sent)."""
        if self._only is not None and f"{service}:{operation}" not in self._only:
            return None
        return _key_of(service, operation, params)

    def _answer(self, context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        key = context.get(KEY)
        if key is None:
            return None
        while True:
            with self._lock:
                answer = self._answers.get(key)
                if answer is not None:
                    self.hits += 1
                    context[CACHED] = True
                    return answer[0], answer[1]()
                pending = self._pending.get(key)
                if pending is None:
                    self._pending[key] = threading.Event()
                    context[_OWNER] = True
                    return None  # ours to send
            if not pending.wait(_FOLLOWER_WAIT_S):
                return None  # the first asker is stuck: ask for ourselves
            with self._lock:
                if key not in self._answers:
                    return None  # the first asker got an error: ours may differ, so we ask too

    def _store(self, http_response: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
        key = context.get(KEY)
        if key is None or not context.get(_OWNER):
            return
        with self._lock:
            ok = isinstance(parsed, dict) and "Error" not in parsed
            if ok and int(getattr(http_response, "status_code", 200)) < 300:
                self._answers[key] = (http_response, _frozen(parsed))
            event = self._pending.pop(key, None)
        if event is not None:
            event.set()

    def _release(self, context: dict[str, Any], **_: Any) -> None:
        key = context.get(KEY)
        if key is None or not context.get(_OWNER):
            return
        with self._lock:
            event = self._pending.pop(key, None)
        if event is not None:
            event.set()


def _key_of(service: str, operation: str, params: dict[str, Any]) -> str | None:
    try:
        body = json.dumps(params, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None  # not a question we can recognise again: sent as is
    return f"{service}:{operation}:{body}"


def answer_early(client: Any, snapshot: ReadSnapshot) -> None:
    """Let `snapshot` answer the client's repeated reads before botocore prepares a request.

    Every generated client method, and every paginator page, goes through the client's
    `_make_api_call(operation_name, params)`; the snapshot takes the call there when it holds the
    answer and hands it on unchanged otherwise. A client without that method (a botocore that no
    longer has it) keeps the event-based path above, which gives the same answers, only slower."""
    send = getattr(client, "_make_api_call", None)
    if send is None:
        return
    service = client.meta.service_model.service_name

    def make_api_call(operation_name: str, api_params: dict[str, Any]) -> Any:
        answer = snapshot.answer_early(service, operation_name, api_params)
        return answer if answer is not None else send(operation_name, api_params)

    client._make_api_call = make_api_call


def _frozen(parsed: Any) -> Callable[[], Any]:
    """A function that returns a fresh copy of `parsed` each time it is called.

    A pickle, taken once, is loaded per hit: ~5x quicker than copying the dicts and lists
    (0.05 against 0.25 ms for a DescribeAlarms answer on 100 alarms, handed to each of their
    checks). An answer pickle cannot take (a stream) is copied structurally instead."""
    try:
        blob = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        kept = _copy(parsed)
        return lambda: _copy(kept)
    # Our own bytes, made above: never a pickle read from outside.
    return lambda: pickle.loads(blob)


def _copy(value: Any) -> Any:
    """A copy of a parsed response that no check can alter through another's: dicts and lists are
    new, the leaves (str, int, datetime, bytes: immutable) are shared. copy.deepcopy did the same
    work through its memo and dispatch, several times slower: it showed when one DescribeAlarms
    answer for a whole batch of alarms was handed to each of their checks."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
