"""Which database or cache an endpoint output names, asked of AWS: so that `DatabaseEndpoint` and
`DatabaseInstanceIdentifier` are one resource (`verify.stack.resources.merge`), checked once.

An endpoint (`host:port`) says nothing certain of what it reaches: behind a private DNS name, an
address or a proxy, only RDS and ElastiCache know. And one whose host embeds the instance's name may
still carry a wrong port, a broken output its own checks must fail. So an endpoint output joins an
identifier output only when RDS (`DescribeDBInstances`) or ElastiCache (`DescribeReplicationGroups`)
lists that exact host and port for the resource the identifier names: the same match the probes make
(`verify.probes.rds`, `verify.probes.elasticache`). Anything else (no match, an AWS error, no
credentials) merges nothing: the endpoint keeps its own checks.

Asked only when an endpoint output and another output of the same kind are both there; read-only;
at most `MAX_PAGES` pages per service, on discovery's call budget. The first page is asked with no
parameters, as the probes ask it, so that smoke's snapshot (`verify.aws.snapshot`) answers the probes
from this read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from verify.stack.resources import Resource

# The operations this module may send, as (service, boto3 method).
READ_OPERATIONS = frozenset(
    {("rds", "describe_db_instances"), ("elasticache", "describe_replication_groups")}
)
MAX_PAGES = 5
_SERVICE = {"rds_instance": "rds", "elasticache": "elasticache"}
# Each service's listing: its boto3 method, and its API name as the run's call counts key it.
_LISTING = {
    "rds": ("describe_db_instances", "DescribeDBInstances"),
    "elasticache": ("describe_replication_groups", "DescribeReplicationGroups"),
}


def _endpoint(value: str) -> tuple[str, int | None] | None:
    """`host:port` (or a bare host with a dot); None for an identifier or an ARN."""
    if value.startswith("arn:"):
        return None
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return host.lower(), int(port)
    return (value.lower(), None) if "." in value else None


def to_confirm(items: tuple[Resource, ...], known: set[str]) -> list[Resource]:
    """The endpoint outputs worth asking about: of a kind another output also names, not yet known."""
    wanted = []
    for item in items:
        if item.kind not in _SERVICE or item.sensitive or item.key in known or _endpoint(item.value) is None:
            continue
        if any(o.kind == item.kind and o.key != item.key for o in items):
            wanted.append(item)
    return wanted


def confirm(
    items: tuple[Resource, ...],
    factory: Callable[[str], Any],
    *,
    max_calls: int,
    known: set[str] | None = None,
) -> tuple[dict[str, str], Counter[str], list[str]]:
    """(output key → the name of the database or cache its endpoint reaches, calls made by
    operation, notes on what could not be asked)."""
    calls: Counter[str] = Counter()
    notes: list[str] = []
    same: dict[str, str] = {}
    wanted = to_confirm(items, known or set())
    for kind in sorted({i.kind for i in wanted}):
        service = _SERVICE[kind]
        endpoints: dict[tuple[str, int], str] = {}
        try:
            for found in _listed(service, factory, calls, max_calls):
                endpoints.update(found)
        except _Spent:
            notes.append(
                f"discovery's bound reached before {service} said which endpoints its resources have"
            )
        except Exception as error:  # an AWS error merges nothing: each output keeps its own checks
            notes.append(
                f"could not ask {service} which resource each endpoint output reaches: {_text(error)}"
            )
            continue
        for item in (i for i in wanted if i.kind == kind):
            host, port = _endpoint(item.value) or ("", None)
            match = {name for (h, p), name in endpoints.items() if h == host and port in (None, p)}
            if len(match) == 1:
                same[item.key] = match.pop()
    return same, calls, notes


class _Spent(Exception):
    """Discovery's call budget is spent."""


def _listed(
    service: str, factory: Callable[[str], Any], calls: Counter[str], max_calls: int
) -> Iterator[dict[tuple[str, int], str]]:
    client = factory(service)
    operation, api_name = _LISTING[service]
    marker: str | None = None
    for _ in range(MAX_PAGES):
        if sum(calls.values()) >= max_calls:
            raise _Spent
        calls[f"{service}:{api_name}"] += 1
        answer = getattr(client, operation)(**({"Marker": marker} if marker else {}))
        if service == "rds":
            yield {
                _address(i.get("Endpoint")): str(i.get("DBInstanceIdentifier"))
                for i in answer.get("DBInstances", [])
                if i.get("Endpoint")
            }
        else:
            yield {
                _address(e): str(g.get("ReplicationGroupId"))
                for g in answer.get("ReplicationGroups", [])
                if (e := _group_endpoint(g)) is not None
            }
        marker = answer.get("Marker")
        if not marker:
            return


def _address(endpoint: Any) -> tuple[str, int]:
    return str(endpoint.get("Address", "")).lower(), int(endpoint.get("Port") or 0)


def _group_endpoint(group: dict[str, Any]) -> dict[str, Any] | None:
    """The endpoint the ElastiCache probe matches an endpoint output against (`Cache.endpoint`)."""
    if found := group.get("ConfigurationEndpoint"):  # cluster mode enabled
        return dict(found)
    for node_group in group.get("NodeGroups", []):
        if found := node_group.get("PrimaryEndpoint"):
            return dict(found)
    return None


def _text(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and (code := response.get("Error", {}).get("Code")):
        return str(code)
    first = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first[:200]}" if first else type(error).__name__
