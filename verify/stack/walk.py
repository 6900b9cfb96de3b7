"""One discovery's walk along a stack's wiring (see `verify.stack.wiring`, its public face).

Waves of steps: the first hop from what the outputs name (and, for an outputs file, the question
which CloudFormation stack holds a named resource), then the functions it found, then the URL of
each queue found by ARN. Then the stack's resource list (`verify.stack.cloudformation`), last, so
that what a relationship of the wiring reached is said to be found by it, and the functions only the
stack lists get their own wave (log group, failure targets). A wave's steps run at once, each on the
shared call budget (checked and spent under one lock); what each found is applied in the steps'
order between waves. Only the operations in `READ_OPERATIONS` are ever sent.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from verify.errors import VerifyError
from verify.stack import cloudformation
from verify.stack.inventory import DiscoveryReport, Inventory, Resource, classify
from verify.stack.kinds import Kind
from verify.stack.outputs import StackResource
from verify.stack.resources import with_relation

# The operations discovery may send, as (service, boto3 method): every one a Describe, Get or List.
READ_OPERATIONS = (
    frozenset(
        {
            ("apigateway", "get_resources"),
            ("apigatewayv2", "get_routes"),
            ("apigatewayv2", "get_integrations"),
            ("sqs", "get_queue_url"),
            ("sqs", "get_queue_attributes"),
            ("lambda", "list_event_source_mappings"),
            ("lambda", "get_function_configuration"),
            ("lambda", "get_function_event_invoke_config"),
            ("dynamodb", "describe_table"),
            ("logs", "describe_log_groups"),
        }
    )
    | cloudformation.READ_OPERATIONS
)
# A first page is asked with exactly the parameters the checks' probes send: in a read-only run the
# snapshot (verify.aws.snapshot) then answers the checks from discovery's reads, and discovery costs
# smoke almost no calls of its own.
_PAGE = 100  # items asked per page where the probes ask nothing alike (API Gateway v2)
_THREADS = 8  # steps of one wave asked at once (the run's clients pool 32 connections)
# API Gateway ids: 10 lower-case letters and digits on AWS (moto makes HTTP API ids of 8). A Lambda
# function URL's id is 32 long and is no API Gateway.
_API_ID = re.compile(r"^[a-z0-9]{6,12}$")
_FUNCTION_ARN = re.compile(
    r"(?P<arn>arn:aws[\w-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64}))"
    r"(?::[A-Za-z0-9_$-]+)?(?=/|$)"
)
_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "NotFoundException",
        "NotFound",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)


class BoundReached(Exception):
    """The call or time bound is spent: the current step and every later one are not followed."""


@dataclass
class _Findings:
    """What one step found, in the order it found it; applied to the inventory after its wave, in the
    steps' order, so what is added (and how it is said to be found) never depends on thread timing."""

    adds: list[tuple[str, str, str | None, str | None, Kind | None, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    urls: list[tuple[str, str]] = field(default_factory=list)  # (queue name, its URL)
    # (stack name, its resources, the output key whose resource led to it): the stacks asked for
    stacks: list[tuple[str, tuple[StackResource, ...], str]] = field(default_factory=list)
    error: str | None = None
    cut: bool = False  # the bound was reached inside this step

    def add(
        self, value: str, via: str, origin: str | None, *, role: str | None = None, kind: Kind | None = None
    ) -> None:
        self.adds.append((value, via, origin, role, kind, False))

    def function(self, arn: str, via: str, origin: str | None) -> None:
        """A function found at the first hop: its own step (log group, failure targets) follows."""
        self.adds.append((arn, via, origin, None, None, True))


@dataclass(frozen=True)
class _Step:
    what: str  # for the note when it cannot be followed: "redrive policy of IngestionQueueUrl"
    run: Callable[[_Findings], None]


class Walk:
    """One discovery: waves of steps (first hop, functions, queue URLs), each wave's steps run
    concurrently on one shared call budget, their findings applied in order between waves."""

    def __init__(
        self,
        inventory: Inventory,
        factory: Callable[[str], Any],
        *,
        max_calls: int,
        max_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._factory = factory
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._clients_lock = threading.Lock()
        self._max_calls = max_calls
        self._max_seconds = max_seconds
        self._deadline = clock() + max_seconds
        self._clock = clock
        self._calls: Counter[str] = Counter()
        self._notes: list[str] = []
        self._found: list[Resource] = []
        self._names: set[tuple[str, str]] = set()
        self._arns: set[str] = set()
        self._cut: list[str] = []
        # (kind, name, ARN, relationship) of each thing found again: see `relate`.
        self.again: list[tuple[str, str, str | None, str]] = []
        self._start = [r for r in inventory.resources if not r.sensitive]
        # The stack's resource list: read with the outputs (`--stack`), else asked for below.
        # (stack name, its resources, the output key whose resource led to it) of each stack read.
        self._stacks: list[tuple[str, tuple[StackResource, ...], str | None]] = (
            [(inventory.stack or "?", inventory.stack_resources, None)] if inventory.stack_resources else []
        )
        self._lookups = [] if self._stacks else cloudformation.lookups(self._start)
        self._urls_asked: set[str] = set()
        for resource in inventory.resources:
            for named in (resource, *resource.members):  # every item of a merged one, its ARN too
                self._remember(named)

    # ------------------------------------------------------------------ the walk

    def run(self) -> tuple[list[Resource], DiscoveryReport]:
        wave = self._first_hop()
        if self._lookups:
            # Last of the first wave: cut first should the bound be reached, and asked at once with
            # the rest, so the question costs the run no round trip of its own.
            about = " or ".join(r.key for r, _ in self._lookups)
            wave.append(_Step(f"CloudFormation stack of {about}", self._stack_of()))
        self._follow(wave)
        # The stack's resource list last: what the wiring reached first keeps that relationship as
        # how it was found, the stack said on it too.
        self._follow(self._apply_stack())
        if self._cut:
            shown = "; ".join(self._cut[:5]) + (
                f"; and {len(self._cut) - 5} more" if len(self._cut) > 5 else ""
            )
            self._notes.append(
                f"discovery stopped at its bound ({self._max_calls} AWS calls or "
                f"{self._max_seconds:g} s): not followed: {shown}"
            )
        report = DiscoveryReport(
            calls=sum(self._calls.values()),
            max_calls=self._max_calls,
            found=len(self._found),
            calls_by_operation=tuple(sorted(self._calls.items())),
            notes=tuple(self._notes),
            bound_reached=bool(self._cut),
            stacks=tuple(name for name, _, _ in self._stacks),
        )
        return [self.relate(r) for r in self._found], report

    def _follow(self, wave: list[_Step]) -> None:
        """Runs `wave`, then each wave of function steps it leads to, until nothing is left."""
        while wave:
            functions: list[_Step] = []
            for step, findings in zip(wave, self._run_wave(wave), strict=True):
                functions += self._apply(step, findings)
            # A queue named by ARN alone (a redrive policy, a dead-letter config) gets its URL before
            # the next wave: SQS, and the flow reading the dead-letter queue, address a queue by URL.
            queues = [
                r
                for r in self._found
                if r.kind == Kind.SQS_QUEUE and r.url is None and r.arn and r.arn not in self._urls_asked
            ]
            self._urls_asked.update(q.arn for q in queues if q.arn)  # a queue that is gone is asked once
            urls = [_Step(f"URL of queue {q.name} ({q.found_via})", self._queue_url(q)) for q in queues]
            for step, findings in zip(urls, self._run_wave(urls), strict=True):
                self._apply(step, findings)
            wave = functions

    def relate(self, resource: Resource) -> Resource:
        """`resource` with every relationship that found it again (a resource is found once, and
        said to be reached by each relationship that leads to it)."""
        arn = _unqualified(resource.arn) if resource.arn else None
        for kind, name, found_arn, via in self.again:
            if (kind, name) == (resource.kind, resource.name) or (arn is not None and found_arn == arn):
                resource = with_relation(resource, via)
        return resource

    def _first_hop(self) -> list[_Step]:
        # Most telling first, should the bound cut the rest (a wave's steps start in this order):
        # queues (their DLQs hold the backlog a healthy-looking run misses), APIs, the functions the
        # outputs name, tables' streams, and last the queues that are themselves dead-letter queues
        # (they seldom have a DLQ or a consumer of their own). Functions found come in the next wave.
        start = self._start
        queues = [r for r in start if r.kind == Kind.SQS_QUEUE]
        steps = [
            _Step(f"redrive policy and consumers of {r.key}", self._queue(r))
            for r in queues
            if r.role != "dlq"
        ]
        seen_apis: set[str] = set()
        for resource in start:
            if resource.kind == Kind.API and _API_ID.match(resource.name) and resource.name not in seen_apis:
                seen_apis.add(resource.name)  # `ApiId` and `ApiEndpoint` name one API: read it once
                steps.append(_Step(f"routes of {resource.key}", self._api(resource)))
        functions = [r for r in start if r.kind == Kind.LAMBDA_FUNCTION]
        steps += [_Step(f"log group and failure targets of {r.key}", self._function(r)) for r in functions]
        tables = [r for r in start if r.kind == Kind.DYNAMODB_TABLE]
        steps += [_Step(f"stream consumers of {r.key}", self._table(r)) for r in tables]
        steps += [
            _Step(f"redrive policy and consumers of {r.key}", self._queue(r))
            for r in queues
            if r.role == "dlq"
        ]
        return steps

    def _run_wave(self, steps: list[_Step]) -> list[_Findings]:
        """Each step's findings, the steps run at once: a wave costs its slowest step, not the sum."""
        if len(steps) <= 1:
            return [self._run_step(step) for step in steps]
        with ThreadPoolExecutor(max_workers=min(_THREADS, len(steps)), thread_name_prefix="wiring") as pool:
            return list(pool.map(self._run_step, steps))

    def _run_step(self, step: _Step) -> _Findings:
        findings = _Findings()
        try:
            step.run(findings)
        except BoundReached:
            findings.cut = True  # what it found before the bound is kept
        except Exception as error:  # an AWS error (or any surprise) is said, never raised
            findings.error = f"could not follow the {step.what}: {_error_text(error)}"
        return findings

    def _apply(self, step: _Step, findings: _Findings) -> list[_Step]:
        """The step's findings, added to the inventory in order; the function steps they lead to."""
        functions: list[_Step] = []
        for value, via, origin, role, kind, is_function in findings.adds:
            added = self._add(value, via, origin=origin, role=role, kind=kind)
            if added is not None and is_function:
                what = f"log group and failure targets of function {added.name}"
                functions.append(_Step(what, self._function(added)))
        for name, url in findings.urls:
            self._found = [
                replace(r, url=url) if r.kind == Kind.SQS_QUEUE and r.name == name else r for r in self._found
            ]
        self._stacks.extend(findings.stacks)
        self._notes.extend(findings.notes)
        if findings.error:
            self._notes.append(findings.error)
        if findings.cut:
            self._cut.append(step.what)
        return functions

    # ------------------------------------------------------------------ the CloudFormation stack

    def _stack_of(self) -> Callable[[_Findings], None]:
        """Which stack holds a named resource: DescribeStackResources by its physical id answers with
        that stack's resources in one call (`verify.stack.cloudformation`). The second named resource
        is asked only when the first's stack does not list it (an app of several stacks)."""

        def follow(out: _Findings) -> None:
            unmanaged: list[str] = []
            for resource, physical_id in self._lookups:
                if any(physical_id == r.physical_id for _, rows, _ in out.stacks for r in rows):
                    continue  # in a stack already read: nothing new to learn
                try:
                    answer = self._ask(
                        "cloudformation", "describe_stack_resources", PhysicalResourceId=physical_id
                    )
                except Exception as error:
                    if not cloudformation.is_unmanaged(_error_code(error), _error_message(error)):
                        raise
                    unmanaged.append(resource.key)
                    continue
                described = [r for r in answer.get("StackResources", []) if isinstance(r, dict)]
                stack = next((str(r["StackName"]) for r in described if r.get("StackName")), None)
                if stack is None:
                    unmanaged.append(resource.key)
                    continue
                if any(stack == name for name, _, _ in out.stacks):
                    continue
                rows = tuple(cloudformation.row(r) for r in described)
                if len(rows) >= cloudformation.DESCRIBE_CAP:  # a full answer may hold back the rest
                    stack_id = next((str(r["StackId"]) for r in described if r.get("StackId")), stack)
                    rows = tuple(self._listed_rows(stack_id))
                out.stacks.append((stack, rows, resource.key))
            if unmanaged and not out.stacks:
                out.notes.append(
                    f"CloudFormation manages none of {', '.join(unmanaged)} (asked by physical id): "
                    "no stack's resource list was read"
                )
            elif unmanaged:
                out.notes.append(
                    f"CloudFormation manages none of {', '.join(unmanaged)} (asked by physical id)"
                )

        return follow

    def _listed_rows(self, stack: str) -> Iterator[StackResource]:
        token: str | None = None
        while True:
            params: dict[str, Any] = {"StackName": stack, **({"NextToken": token} if token else {})}
            answer = self._ask("cloudformation", "list_stack_resources", **params)
            for summary in answer.get("StackResourceSummaries", []):
                if isinstance(summary, dict):
                    yield cloudformation.row(summary)
            token = answer.get("NextToken")
            if not token:
                return

    def _apply_stack(self) -> list[_Step]:
        """Each stack's resources verify checks, added unless already in the inventory; the steps
        that follow the functions only a stack lists (their log groups, failure targets)."""
        functions: list[_Step] = []
        for stack, rows, origin in self._stacks:
            listed = cloudformation.listed(rows)
            via = f"CloudFormation stack {stack}"
            for physical_id, kind in listed.resources:
                added = self._add(physical_id, via, origin=origin, kind=kind)
                if added is not None and kind == Kind.LAMBDA_FUNCTION:
                    what = f"log group and failure targets of function {added.name}"
                    functions.append(_Step(what, self._function(added)))
            if listed.nested:
                self._notes.append(
                    f"{via}: the resources of its nested stack(s) {', '.join(listed.nested)} were not read"
                )
        return functions

    # ------------------------------------------------------------------ first hop

    def _queue(self, queue: Resource) -> Callable[[_Findings], None]:
        def follow(out: _Findings) -> None:
            url = queue.url
            if url is None:
                params: dict[str, str] = {"QueueName": queue.name}
                if queue.arn:
                    params["QueueOwnerAWSAccountId"] = queue.arn.split(":")[4]
                url = str(self._ask("sqs", "get_queue_url", **params)["QueueUrl"])
            attributes = self._ask("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["All"]).get(
                "Attributes", {}
            )
            redrive = attributes.get("RedrivePolicy")
            if redrive:
                target = _json_object(redrive).get("deadLetterTargetArn")
                if isinstance(target, str) and target:
                    out.add(target, f"redrive policy of {queue.key}", queue.key, role="dlq")
            queue_arn = attributes.get("QueueArn") or queue.arn
            if queue_arn:
                self._consumers(out, str(queue_arn), f"event-source mapping of {queue.key}", queue.key)

        return follow

    def _table(self, table: Resource) -> Callable[[_Findings], None]:
        def follow(out: _Findings) -> None:
            described = self._ask("dynamodb", "describe_table", TableName=table.name).get("Table", {})
            stream_arn = described.get("LatestStreamArn")
            if stream_arn and described.get("StreamSpecification", {}).get("StreamEnabled", True):
                self._consumers(out, str(stream_arn), f"stream consumer of {table.key}", table.key)

        return follow

    def _api(self, api: Resource) -> Callable[[_Findings], None]:
        def follow(out: _Findings) -> None:
            try:
                routes = list(self._rest_integrations(api.name))
            except _AwsNotFound:
                routes = list(self._http_integrations(api.name))  # not a REST API: an HTTP API (v2)?
            for route, uri in routes:
                via = f"integration of {api.key} {route}"
                match = _FUNCTION_ARN.search(uri)
                if match is not None:
                    out.function(match["arn"], via, api.key)
                elif ":lambda:" in uri:  # a Lambda integration naming no function (a stage variable)
                    out.notes.append(f"{via}: its Lambda integration names no function we can resolve")
                # else an HTTP, mock or other AWS service integration: no function behind it

        return follow

    def _rest_integrations(self, api_id: str) -> Iterator[tuple[str, str]]:
        position: str | None = None
        while True:
            params: dict[str, Any] = {"restApiId": api_id, "embed": ["methods"]}
            if position:
                params["position"] = position
            answer = self._ask("apigateway", "get_resources", **params)
            for item in answer.get("items", []):
                for method, body in sorted((item.get("resourceMethods") or {}).items()):
                    uri = ((body or {}).get("methodIntegration") or {}).get("uri")
                    if isinstance(uri, str):
                        yield f"{method} {item.get('path', '?')}", uri
            position = answer.get("position")
            if not position:
                return

    def _http_integrations(self, api_id: str) -> Iterator[tuple[str, str]]:
        uris: dict[str, str] = {}
        for item in self._pages("apigatewayv2", "get_integrations", ApiId=api_id):
            if item.get("IntegrationId") and isinstance(item.get("IntegrationUri"), str):
                uris[item["IntegrationId"]] = item["IntegrationUri"]
        for route in self._pages("apigatewayv2", "get_routes", ApiId=api_id):
            target = str(route.get("Target") or "")
            integration = target.removeprefix("integrations/")
            if integration in uris:
                yield str(route.get("RouteKey", "?")), uris[integration]

    def _pages(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            answer = self._ask(
                service, operation, **params, MaxResults=str(_PAGE), **({"NextToken": token} if token else {})
            )
            yield from answer.get("Items", [])
            token = answer.get("NextToken")
            if not token:
                return

    def _consumers(self, out: _Findings, source_arn: str, via: str, origin: str) -> None:
        marker: str | None = None
        while True:
            params: dict[str, Any] = {"EventSourceArn": source_arn}
            if marker:
                params["Marker"] = marker
            answer = self._ask("lambda", "list_event_source_mappings", **params)
            for mapping in answer.get("EventSourceMappings", []):
                function_arn = mapping.get("FunctionArn")
                if isinstance(function_arn, str) and (match := _FUNCTION_ARN.search(function_arn)):
                    out.function(match["arn"], via, origin)
                failure = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
                if isinstance(failure, str) and failure:
                    out.add(failure, f"on-failure destination of the {via}", origin, role="dlq")
            marker = answer.get("NextMarker")
            if not marker:
                return

    # ------------------------------------------------------------------ functions (first or second hop)

    def _function(self, function: Resource) -> Callable[[_Findings], None]:
        # What hangs from a function hangs from the output it hangs from (none: a stack-listed one).
        origin = function.origin if function.discovered else function.key
        about = f"function {function.name}" if function.discovered else function.key
        chain = f" ({function.found_via})" if function.discovered else ""

        def follow(out: _Findings) -> None:
            try:
                config = self._ask("lambda", "get_function_configuration", FunctionName=function.name)
            except _AwsNotFound:
                out.notes.append(f"{about}{chain}: Lambda has no such function, so nothing hangs from it")
                return
            logging = config.get("LoggingConfig") or {}
            group = str(logging.get("LogGroup") or f"/aws/lambda/{function.name}")
            # Read between waves only (the inventory changes when a wave is applied, never during it).
            if (Kind.LOG_GROUP, group) not in self._names:
                groups = self._ask("logs", "describe_log_groups", logGroupNamePrefix=group)
                # Names sort, so an exact match is among the first with this prefix.
                if any(g.get("logGroupName") == group for g in groups.get("logGroups", [])):
                    out.add(group, f"log group of {about}{chain}", origin, kind=Kind.LOG_GROUP)
                else:
                    out.notes.append(f"{about}{chain}: its log group {group} does not exist (not invented)")
            else:  # an output names it: not asked again, but this relationship is said on it too
                out.add(group, f"log group of {about}{chain}", origin, kind=Kind.LOG_GROUP)
            dead_letter = (config.get("DeadLetterConfig") or {}).get("TargetArn")
            if isinstance(dead_letter, str) and dead_letter:
                out.add(dead_letter, f"dead-letter config of {about}{chain}", origin, role="dlq")
            try:
                invoke = self._ask("lambda", "get_function_event_invoke_config", FunctionName=function.name)
            except _AwsNotFound:
                return  # no asynchronous-invocation settings: nothing configured, nothing to follow
            destinations = invoke.get("DestinationConfig") or {}
            for outcome, role in (("OnFailure", "dlq"), ("OnSuccess", None)):
                target = (destinations.get(outcome) or {}).get("Destination")
                if isinstance(target, str) and target:
                    what = "on-failure" if outcome == "OnFailure" else "on-success"
                    out.add(target, f"{what} destination of {about}{chain}", origin, role=role)

        return follow

    def _queue_url(self, queue: Resource) -> Callable[[_Findings], None]:
        def follow(out: _Findings) -> None:
            account = queue.arn.split(":")[4] if queue.arn else ""
            params = {"QueueName": queue.name, **({"QueueOwnerAWSAccountId": account} if account else {})}
            try:
                url = self._ask("sqs", "get_queue_url", **params).get("QueueUrl")
            except _AwsNotFound:
                # Kept by its ARN: the checks on it then fail it as not found, which it is.
                out.notes.append(f"{queue.found_via}: queue {queue.name} does not exist")
                return
            if isinstance(url, str) and url:
                out.urls.append((queue.name, url))

        return follow

    # ------------------------------------------------------------------ the inventory's side

    def _remember(self, resource: Resource) -> None:
        self._names.add((resource.kind, resource.name))
        if resource.arn:
            self._arns.add(_unqualified(resource.arn))

    def _add(
        self, value: str, via: str, *, origin: str | None, role: str | None = None, kind: Kind | None = None
    ) -> Resource | None:
        """The resource `value` (an ARN, or a name of `kind`) names, added unless the inventory already
        holds it; None if it does, or if it names nothing a check knows.

        Classified from the value alone: the origin output's key words (`RawSensorTableName`) say
        nothing of what hangs from it, and must not lend it their role.
        """
        classified = classify("", value)
        if kind is not None and classified.kind != kind:
            classified = replace(classified, kind=str(kind), name=value)
        if classified.kind in (Kind.UNKNOWN, Kind.SCALAR) or classified.sensitive:
            self._notes.append(f"{via}: {value} is nothing verify checks, not added")
            return None
        arn = _unqualified(classified.arn) if classified.arn else None
        if (classified.kind, classified.name) in self._names or (arn is not None and arn in self._arns):
            # Already in the inventory (an output names it, or another relationship led to it):
            # one resource, with this relationship said on it too.
            self.again.append((str(classified.kind), classified.name, arn, via))
            return None
        resource = replace(
            classified,
            key=classified.name,
            value=arn or classified.value,
            arn=arn,
            # `dlq` is a queue's role; an SNS topic as a dead-letter target plays none.
            role=(role if classified.kind == Kind.SQS_QUEUE else None) or classified.role,
            found_via=via,
            origin=origin,
            relations=(via,),
        )
        self._remember(resource)
        self._found.append(resource)
        return resource

    # ------------------------------------------------------------------ the one door to AWS

    def _ask(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        if (service, operation) not in READ_OPERATIONS:  # a programming error, caught by the tests
            raise AssertionError(f"discovery may not call {service}.{operation}")
        with self._lock:  # checked and spent at once: concurrent steps never pass the bound together
            if sum(self._calls.values()) >= self._max_calls or self._clock() >= self._deadline:
                raise BoundReached
            self._calls[f"{service}:{_api_name(operation)}"] += 1
        # Made outside the budget's lock: a client's first making loads its service model (~80 ms),
        # and the steps whose clients exist need not wait for it.
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._factory(service)
            client = self._clients[service]
        try:
            answer = getattr(client, operation)(**params)
        except Exception as error:
            if _error_code(error) in _NOT_FOUND:
                raise _AwsNotFound(_error_text(error)) from error
            raise
        return answer if isinstance(answer, dict) else {}


class _AwsNotFound(Exception):
    """AWS answered that the thing asked about does not exist."""


def _unqualified(arn: str) -> str:
    """A function ARN without its version or alias (`...:function:f:live` → `...:function:f`)."""
    match = _FUNCTION_ARN.fullmatch(arn)
    return match["arn"] if match else arn


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _api_name(operation: str) -> str:
    """boto3's `get_queue_attributes` → the API's `GetQueueAttributes`, as the call counter keys it."""
    return "".join(part.capitalize() for part in operation.split("_"))


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _error_message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", ""))
    return ""


def _error_text(error: Exception) -> str:
    """One short phrase: the AWS error code, else the exception's type and first line."""
    if isinstance(error, _AwsNotFound):
        return str(error)
    code = _error_code(error)
    operation = getattr(error, "operation_name", "")
    if code:
        return f"{operation} answered {code}" if operation else code
    first = str(error).splitlines()[0] if str(error) else ""
    if first and isinstance(error, VerifyError):
        return first[:200]  # verify's own sentence ("AWS call abandoned: ..."): its class name says nothing
    return f"{type(error).__name__}: {first[:200]}" if first else type(error).__name__
