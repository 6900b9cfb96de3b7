"""One resource, one row: a `Resource`, and how the output items that name one thing merge into it.

A stack's outputs often name one thing twice: `ApiEndpoint` and `ApiId`, `KinesisStreamName` and
`KinesisStreamArn`, a function's name and its ARN, a database's identifier and its endpoint. Each
output item is classified on its own (`verify.stack.inventory.classify`); `merge` then makes one
`Resource` of the items that name the same thing, carrying every output key (`keys`, in output order)
and every relationship of the stack's wiring that led to it (`relations`). Checks are parametrized
once per resource, so nothing is "checked through another output" and skipped.

When two items name the same thing (most certain first):
- an AWS answer said so: an endpoint output (`host:port`) that `verify.stack.endpoints` matched to the
  database or cache an identifier output names (`same_as`);
- same kind and same name, and nothing says otherwise: regions, accounts (and for an API, the stage
  in its URL) agree where both items say one. An endpoint of a database or cache is merged only on an
  AWS answer: its host may embed the instance's name while its port is wrong, which is a broken output
  that its own checks must fail;
- an API URL that does not carry its API's id (a custom domain, an emulator) and an id output of the
  same stack: the id output whose key shares the longest prefix with the URL's key (`ApiEndpoint` ~
  `ApiId`), as CDK and Terraform stacks emit them. This is the rule the API Gateway probe always read
  such a URL with.
Secrets, plain settings (`scalar`) and `unknown` items never merge: they name no resource.

The merged resource reads as its most telling item (a URL first, as SQS and HTTP address by URL;
then a plain identifier; else the first), under the key of the first output that names it: that key
is its check id (`test_stream_active[KinesisStreamName]`), the same on every run of the same outputs
file, so `verify report merge` and shards line up. A resource no output names (found by following
the wiring) is keyed by its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

MASK = "***"

# Database and cache endpoints: merged with their identifier output only on an AWS answer.
_ENDPOINT_KINDS = frozenset({"rds_instance", "rds_cluster", "elasticache"})
_NO_RESOURCE = frozenset({"scalar", "unknown"})
# API Gateway ids: 10 lower-case letters and digits (the API Gateway probe's rule).
_API_ID = re.compile(r"^[a-z0-9]{10}$")
_ID_IN_HOST = re.compile(r"^[a-z0-9]+\.(?:execute-api|lambda-url)\.")


@dataclass(frozen=True)
class Resource:
    key: str
    value: str
    kind: str
    name: str
    role: str | None
    region: str | None = None
    account: str | None = None
    arn: str | None = None
    url: str | None = None
    sensitive: bool = False
    # How it was found: "output", or the relationship followed from an output
    # (`verify.stack.wiring`: "redrive policy of IngestionQueueUrl"); `origin` is that output's key.
    found_via: str = "output"
    origin: str | None = None
    # Every output item that names it, in output order, when more than one does (see `keys`).
    members: tuple[Resource, ...] = ()
    # Every relationship of the stack's wiring that led to it (a discovered one's `found_via` first).
    relations: tuple[str, ...] = ()

    @property
    def discovered(self) -> bool:
        """Found by following the stack's wiring, not named by an output (`key` is then its name)."""
        return self.found_via != "output"

    @property
    def keys(self) -> tuple[str, ...]:
        """Every output key that names it, in output order (`key` is the first); () when none does."""
        if self.members:
            return tuple(dict.fromkeys(m.key for m in self.members))
        return () if self.discovered else (self.key,)

    def __repr__(self) -> str:
        # Shown in pytest failure output and allure parameters: never with a sensitive value.
        value = "'***'" if self.sensitive else repr(self.value)
        name = "'***'" if self.sensitive else repr(self.name)
        return (
            f"Resource(key={self.key!r}, kind={self.kind!r}, name={name}, role={self.role!r}, value={value})"
        )

    def to_json(self) -> dict[str, object]:
        shown: dict[str, object] = {
            "key": None if self.discovered else self.key,  # the contract: null when no output names it
            "keys": list(self.keys),
            "value": MASK if self.sensitive else self.value,
            "kind": self.kind,
            "name": MASK if self.sensitive else self.name,
            "role": self.role,
            "found_via": self.found_via,
        }
        if self.discovered:
            shown["origin"] = self.origin
        if self.relations:
            shown["relations"] = list(self.relations)
        return shown


def merge(items: Iterable[Resource], same_as: Mapping[str, str] | None = None) -> tuple[Resource, ...]:
    """One `Resource` per thing the output `items` name, in the order each was first named.

    `same_as` maps an output key to the name of the resource an AWS answer said it names (an
    endpoint matched to its database). A resource named by one item is that item unchanged.
    """
    same_as = same_as or {}
    groups: list[_Group] = []
    for index, item in enumerate(items):
        identity = None if item.sensitive or item.kind in _NO_RESOURCE else _identity(item, same_as)
        group = next((g for g in groups if identity is not None and g.takes(item, identity)), None)
        if group is None:
            groups.append(_Group(index, item, identity))
        else:
            group.add(index, item)
    _pair_api_urls(groups)
    kept = sorted((g for g in groups if not g.joined), key=lambda g: g.order[0])
    return tuple(g.resource() for g in kept)


def with_relation(resource: Resource, via: str) -> Resource:
    """`resource` with one more relationship that leads to it (each said once)."""
    if via in resource.relations:
        return resource
    return replace(resource, relations=(*resource.relations, via))


def _identity(item: Resource, same_as: Mapping[str, str]) -> tuple[str, str] | None:
    if item.key in same_as:
        return item.kind, same_as[item.key]
    if item.kind in _ENDPOINT_KINDS and _is_endpoint(item):
        return None  # merged only on an AWS answer (`same_as`)
    return item.kind, item.name


def _is_endpoint(item: Resource) -> bool:
    return not item.value.startswith("arn:") and item.value != item.name


def _stage(item: Resource) -> str | None:
    """The first path segment of an API URL (an emulator's `/restapis/{id}/{stage}` read through)."""
    if item.kind != "api" or not item.url:
        return None
    try:
        segments = [s for s in urlsplit(item.url).path.split("/") if s]
    except ValueError:
        return None
    if "restapis" in segments:
        index = segments.index("restapis")
        segments = segments[index + 2 : index + 3]
    return segments[0] if segments else None


def _is_api_id(item: Resource) -> bool:
    """An API output that is the API's id (or ARN) outright, as the API Gateway probe reads one."""
    return (
        item.kind == "api" and item.url is None and (item.arn is not None or bool(_API_ID.match(item.name)))
    )


def _names_its_api(item: Resource) -> bool:
    """An API URL whose host or path carries its API's id (execute-api, a function URL, an emulator's
    `/restapis/{id}`): it needs no id output beside it."""
    if item.url is None:
        return True
    try:
        host = urlsplit(item.url).hostname or ""
    except ValueError:
        return True  # no URL after all: nothing to pair
    return bool(_ID_IN_HOST.match(host)) or "/restapis/" in item.url


class _Group:
    """The items that name one resource, and what they agree on."""

    def __init__(self, index: int, first: Resource, identity: tuple[str, str] | None) -> None:
        self.order = [index]  # each member's place among the outputs' items
        self.members = [first]
        self.identity = identity
        self.joined = False

    def _facts(self, attribute: str) -> set[str]:
        return {v for m in self.members if (v := getattr(m, attribute)) is not None}

    def takes(self, item: Resource, identity: tuple[str, str]) -> bool:
        if self.identity != identity:
            return False
        for attribute in ("region", "account"):
            known, seen = self._facts(attribute), getattr(item, attribute)
            if seen is not None and known and seen not in known:
                return False
        stage = _stage(item)
        stages = {s for m in self.members if (s := _stage(m)) is not None}
        return stage is None or not stages or stage in stages

    def add(self, index: int, item: Resource) -> None:
        self.order.append(index)
        self.members.append(item)

    def absorb(self, other: _Group) -> None:
        """`other`'s items name this resource too: one group, its items in output order."""
        pairs = sorted(zip(self.order + other.order, self.members + other.members, strict=True))
        self.order, self.members = [i for i, _ in pairs], [m for _, m in pairs]
        other.joined = True

    def resource(self) -> Resource:
        if len(self.members) == 1:
            return self.members[0]
        first = self.members[0]
        shown = next(
            (m for m in self.members if m.url),
            next((m for m in self.members if m.value == m.name), first),
        )
        return replace(
            shown,
            key=first.key,
            name=self.identity[1] if self.identity else shown.name,
            role=first.role or next((m.role for m in self.members if m.role), None),
            region=shown.region or next(iter(sorted(self._facts("region"))), None),
            account=shown.account or next(iter(sorted(self._facts("account"))), None),
            arn=shown.arn or next((m.arn for m in self.members if m.arn), None),
            members=tuple(self.members),
        )


def _pair_api_urls(groups: list[_Group]) -> None:
    """Each API URL that does not carry its id joins the id output of its stack (see the module
    docstring); an id output takes the URLs of one stage only."""
    ids = [g for g in groups if g.identity and g.identity[0] == "api" and any(map(_is_api_id, g.members))]
    for group in groups:
        if not ids or group.identity is None or group.identity[0] != "api":
            continue
        if any(_is_api_id(m) or _names_its_api(m) for m in group.members):
            continue
        key = group.members[0].key
        best = max(ids, key=lambda g: max(_common_prefix(key, m.key) for m in g.members if _is_api_id(m)))
        stages = {s for m in best.members if (s := _stage(m)) is not None}
        stage = _stage(group.members[0])
        if stages and stage not in stages:
            continue  # that id already has a URL of another stage: each stage keeps its own checks
        best.absorb(group)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
