"""Outputs → typed resources: what each output names (kind), which it is (name) and its role.

Signals, most certain first: the value's own shape (ARN, AWS or emulator URL, endpoint host, id
prefix; `verify.stack.arns`), a value that is plainly a setting (number, region, environment name), the key's
words (`verify.stack.key_rules`), then weak hints. Configured overrides win over all of them.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from verify.errors import ConfigError, UsageError
from verify.stack import key_rules
from verify.stack.arns import REGION, ValueFacts, parse_arn, parse_host, parse_id, parse_url, url_host
from verify.stack.kinds import KINDS as KINDS  # re-exported: the vocabulary's old home
from verify.stack.kinds import Kind, unknown_kind_message
from verify.stack.outputs import Output, Outputs, StackResource
from verify.stack.resources import MASK as MASK  # re-exported: the mask's old home
from verify.stack.resources import Resource as Resource  # re-exported: the resource's old home
from verify.stack.resources import merge, with_relation
from verify.stack.values import ENV_WORDS, is_secret_key, strip_cdk_hash

_KNOWN_KINDS = frozenset(KINDS)
ROLES = ("raw", "processed", "dlq")

_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_ENV_VALUES = ENV_WORDS
_AWS_LOG_PATH = re.compile(r"^/aws/[a-z-]+/\S+$")
_LAST_SEGMENT = re.compile(r"/([^/?#]+)/?(?:[?#].*)?$")


@dataclass(frozen=True)
class DiscoveryReport:
    """What following the stack's wiring cost and said (`verify.stack.wiring.discover_wiring`).

    `calls` is every AWS call discovery made (a page is a call), never more than `max_calls`: the
    number the run's summary is to show beside its own calls. `notes` are what could not be followed (an AWS error,
    a missing log group, the bound reached): said, never dropped.
    """

    calls: int
    max_calls: int
    found: int
    calls_by_operation: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()
    bound_reached: bool = False
    # The CloudFormation stacks whose resource lists were read (`verify.stack.cloudformation`).
    stacks: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "stacks": list(self.stacks),
            "calls": self.calls,
            "max_calls": self.max_calls,
            "found": self.found,
            "calls_by_operation": dict(self.calls_by_operation),
            "notes": list(self.notes),
            "bound_reached": self.bound_reached,
        }


@dataclass(frozen=True)
class Inventory:
    """The stack's resources, one per thing (`verify.stack.resources.merge`): what the outputs name,
    then what following the wiring found. `items` keeps what each output item names on its own, one
    per item in output order, for the checks about the outputs themselves."""

    region: str | None
    resources: tuple[Resource, ...]
    missing: tuple[Output, ...]
    source: str
    # What following the stack's wiring found and cost (`verify.stack.wiring`); None when not run.
    discovery: DiscoveryReport | None = None
    # One per output item (None: `resources` as given, for an inventory built by hand).
    items: tuple[Resource, ...] | None = None
    # (output key, resource name) pairs an AWS answer established (`verify.stack.endpoints`).
    same_as: tuple[tuple[str, str], ...] = ()
    # `--stack NAME`: the stack and its resource list, read with the outputs (`verify.stack.live`);
    # discovery adds what it lists (`verify.stack.cloudformation`).
    stack: str | None = None
    stack_resources: tuple[StackResource, ...] = ()

    def output_items(self) -> tuple[Resource, ...]:
        """What each output item names, one per item, in output order (nothing discovery added)."""
        if self.items is not None:
            return self.items
        return tuple(i for r in self.resources if not r.discovered for i in (r.members or (r,)))

    def remerged(self, items: tuple[Resource, ...], same_as: tuple[tuple[str, str], ...] = ()) -> Inventory:
        """This inventory with its output items replaced (a kind resolved) or more names established:
        merged again, keeping what discovery found and every relationship it said."""
        same = (*self.same_as, *same_as)
        named = merge(items, dict(same))
        relations = {k: r.relations for r in self.resources if not r.discovered for k in r.keys}
        named = tuple(_with_relations(r, relations) for r in named)
        found = tuple(r for r in self.resources if r.discovered)
        return replace(self, resources=(*named, *found), items=items, same_as=same)

    def of_kind(self, *kinds: str) -> list[Resource]:
        for kind in kinds:
            if kind not in _KNOWN_KINDS:  # a typo would find nothing, and the check would pass as "none"
                raise UsageError(unknown_kind_message(kind, f"inventory.of_kind({kind!r})"))
        return [r for r in self.resources if r.kind in kinds]

    def one(self, kind: str, role: str | None = None) -> Resource | None:
        """The resource of `kind` playing `role`; without a role, one that plays none is preferred."""
        candidates = self.of_kind(kind)
        if role is not None:
            return next((r for r in candidates if r.role == role), None)
        return next((r for r in candidates if r.role is None), candidates[0] if candidates else None)

    def to_json(self) -> dict[str, object]:
        shown: dict[str, object] = {
            "region": self.region,
            "resources": [r.to_json() for r in self.resources],
            "missing": [o.key for o in self.missing],
        }
        if self.discovery is not None:
            shown["discovery"] = self.discovery.to_json()
        return shown


def _with_relations(resource: Resource, by_key: Mapping[str, tuple[str, ...]]) -> Resource:
    for key in resource.keys:
        for via in by_key.get(key, ()):
            resource = with_relation(resource, via)
    return resource


def classify(key: str, value: str) -> Resource:
    """What one output item names; pure (no AWS), so `discover` and the tests agree exactly."""
    terms = key_rules.key_terms(key)
    kind, facts = _kind_and_facts(terms, value)
    role = (
        None
        if kind == Kind.SCALAR
        else key_rules.role_from(terms) or key_rules.role_from(key_rules.name_terms(facts.name))
    )
    resource = Resource(
        key=key,
        value=value,
        kind=str(kind),  # the plain name, as reports and `discover --json` always carried it
        name=facts.name,
        role=role,
        region=facts.region,
        account=facts.account,
        arn=facts.arn,
        url=facts.url,
    )
    return as_sensitive_setting(resource) if is_secret_key(key, (value,)) else resource


def as_sensitive_setting(resource: Resource) -> Resource:
    """A secret's value is no resource identifier: a plain setting, masked, never sent to AWS as a
    parameter (a `SecretId` lands in CloudTrail) nor formatted into a check's title."""
    return replace(
        resource,
        kind=str(Kind.SCALAR),
        role=None,
        region=None,
        account=None,
        arn=None,
        url=None,
        sensitive=True,
    )


def _splits(value: str) -> bool:
    try:
        urlsplit(value)
    except ValueError:
        return False
    return True


def _kind_and_facts(terms: list[str], value: str) -> tuple[str, ValueFacts]:
    if value[:8].lower().startswith(("http://", "https://")) and not _splits(value):
        # Looks like a URL but urlsplit refuses it (`https://[TOKEN.12]...`): it names nothing a
        # check could reach, and every URL reader downstream would choke on it. A URL that splits
        # but has no host (`https:///prod`) keeps its key's kind, so the well-formed check fails it.
        return Kind.UNKNOWN, ValueFacts(Kind.UNKNOWN, value)
    for parse in (parse_arn, parse_url, parse_host, parse_id):
        facts = parse(value)
        if facts is not None:
            return facts.kind, facts
    if _NUMBER.match(value) or value.lower() in {"true", "false"} or value.lower() in _ENV_VALUES:
        return Kind.SCALAR, ValueFacts(Kind.SCALAR, value)
    if REGION.match(value):
        return Kind.SCALAR, ValueFacts(Kind.SCALAR, value, region=value)
    if key_rules.is_setting_key(terms):
        return Kind.SCALAR, ValueFacts(Kind.SCALAR, value)
    kind = key_rules.kind_from_key(terms)
    if kind is not None:
        return kind, _named_as(kind, value)
    if key_rules.says_api(terms) and url_host(value):
        return Kind.API, _named_as(Kind.API, value)
    if _AWS_LOG_PATH.match(value):
        return Kind.LOG_GROUP, ValueFacts(Kind.LOG_GROUP, value)
    return Kind.UNKNOWN, ValueFacts(Kind.UNKNOWN, value)


def _named_as(kind: str, value: str) -> ValueFacts:
    """Name of a value the key (or config) says is `kind`, when the value's shape did not say it."""
    host = url_host(value)
    if host is None:
        return ValueFacts(kind, value)
    if kind == Kind.SQS_QUEUE and (segment := _LAST_SEGMENT.search(value)):
        return ValueFacts(kind, segment.group(1), url=value)
    if kind == Kind.API:
        return ValueFacts(kind, host, url=value)
    return ValueFacts(kind, value, url=value)


def build_inventory(
    outputs: Outputs,
    *,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    region: str | None = None,
) -> Inventory:
    """One `Resource` per thing the present output items name (two outputs naming one table give one,
    carrying both keys); placeholders and nulls are listed as missing instead."""
    checked = _checked_overrides(overrides or {})
    resources: list[Resource] = []
    for output in outputs.outputs:
        if output.missing:
            continue
        override = _override_for(output.key, checked)
        for item in output.items:
            resource = classify(output.own_key, item)  # a stack's name in `Stack.Key` is no kind hint
            if output.key != output.own_key:
                resource = replace(resource, key=output.key)
            if override:
                resource = _apply_override(resource, override)
            if output.sensitive or resource.sensitive:  # whatever an override says
                resource = as_sensitive_setting(resource)
            resources.append(resource)
    return Inventory(
        region=region or infer_region(resources),
        resources=merge(resources),
        missing=tuple(outputs.missing()),
        source=outputs.source,
        items=tuple(resources),
        stack=outputs.stack if outputs.stack_resources else None,
        stack_resources=outputs.stack_resources,
    )


def _checked_overrides(overrides: Mapping[str, Mapping[str, str]]) -> dict[str, Mapping[str, str]]:
    for key, override in overrides.items():
        kind = override.get("kind")
        if kind is not None and kind not in KINDS:
            raise ConfigError(
                f"Override for output {key!r} has kind {kind!r}, which is not one of: {', '.join(KINDS)}."
            )
        role = override.get("role")
        if role is not None and _role_value(role) is not None and _role_value(role) not in ROLES:
            raise ConfigError(
                f"Override for output {key!r} has role {role!r}; use raw, processed, dlq or none."
            )
    return dict(overrides)


def _role_value(role: str | None) -> str | None:
    if role is None or role.strip().lower() in {"", "none", "null"}:
        return None
    return role.strip().lower()


def _override_for(key: str, overrides: Mapping[str, Mapping[str, str]]) -> Mapping[str, str] | None:
    """Exact key first; else the key without its CDK hash, so config survives a re-synth."""
    if key in overrides:
        return overrides[key]
    return overrides.get(strip_cdk_hash(key))


def _apply_override(resource: Resource, override: Mapping[str, str]) -> Resource:
    changed = resource
    kind = override.get("kind")
    if kind is not None and kind != resource.kind:
        facts = _named_as(kind, resource.value)
        name = facts.name if resource.arn is None else resource.name
        changed = replace(changed, kind=kind, name=name, url=facts.url or resource.url)
    if "role" in override:
        changed = replace(changed, role=_role_value(override["role"]))
    if override.get("name"):
        changed = replace(changed, name=override["name"])
    return changed


def infer_region(resources: Iterable[Resource]) -> str | None:
    """The region most ARNs and URLs name (first seen wins a tie); None when none names one."""
    counts = Counter(r.region for r in resources if r.region)
    return counts.most_common(1)[0][0] if counts else None


# (service, call, how the name is passed, kind, field of the answer holding the URL, name rule)
_RESOLVERS: tuple[tuple[str, str, str, Kind, str | None, re.Pattern[str]], ...] = (
    ("dynamodb", "describe_table", "TableName", Kind.DYNAMODB_TABLE, None,
     re.compile(r"^[A-Za-z0-9_.-]{3,255}$")),
    ("sqs", "get_queue_url", "QueueName", Kind.SQS_QUEUE, "QueueUrl",
     re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")),
    ("kinesis", "describe_stream_summary", "StreamName", Kind.KINESIS_STREAM, None,
     re.compile(r"^[A-Za-z0-9_.-]{1,128}$")),
    ("lambda", "get_function", "FunctionName", Kind.LAMBDA_FUNCTION, None, re.compile(r"^[A-Za-z0-9_-]{1,64}$")),
)  # fmt: skip


def resolve_ambiguous(
    inventory: Inventory,
    client_factory: Callable[[str], Any],
    *,
    budget_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> Inventory:
    """Ask AWS (read-only) what plain names of kind `unknown` are; the first service that knows wins.

    Bounded by `budget_s` overall; any error (not found, denied, unreachable) leaves the item unknown,
    because guessing is a convenience and must never fail a run.
    """
    deadline = clock() + budget_s
    clients: dict[str, Any] = {}
    resolved: list[Resource] = []
    for resource in inventory.output_items():
        if resource.kind == Kind.UNKNOWN and not resource.sensitive and clock() < deadline:
            resource = _resolve_one(resource, client_factory, clients, deadline, clock)
        resolved.append(resource)
    # A name resolved to a kind may name what another output names: merged again.
    return inventory.remerged(tuple(resolved))


def _resolve_one(
    resource: Resource,
    client_factory: Callable[[str], Any],
    clients: dict[str, Any],
    deadline: float,
    clock: Callable[[], float],
) -> Resource:
    for service, call, parameter, kind, url_field, valid in _RESOLVERS:
        if clock() >= deadline:
            break
        if not valid.match(resource.value):
            continue
        try:
            if service not in clients:
                clients[service] = client_factory(service)
            answer = getattr(clients[service], call)(**{parameter: resource.value})
        except Exception:
            continue
        url = answer.get(url_field) if url_field and isinstance(answer, dict) else None
        return replace(resource, kind=str(kind), url=url if isinstance(url, str) else resource.url)
    return resource
