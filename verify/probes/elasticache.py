"""ElastiCache (Redis): the replication group or cluster is available, encrypted at rest and in
transit, and answers PING through its endpoint when the verifier can reach it.

Which one: an id output names a replication group (DescribeReplicationGroups, which lists what a
group is made of) or, failing that, a cache cluster; an endpoint output (`host:port`) is matched
against the groups' endpoints. When both name the same group, the run's discovery makes them one
resource (`verify.stack.endpoints`); should it not have, the group is still checked once, through the id.

PING: over TLS and plain TCP at the same time (a group with transit encryption speaks only TLS, one
without only plain TCP, and a handshake with the wrong one hangs until the timeout); the first
answer wins and the evidence says which transport gave it. Short timeouts, no client-side retries. An endpoint that refuses or times out is "could not verify" (the verifier may
sit outside the VPC), never a verdict on the stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable
from verify.polling import NotYet
from verify.probes.standin import skip_if_no_server
from verify.probes.vantage import not_reachable
from verify.stack.inventory import Inventory, Resource

_TRANSITIONAL = frozenset({"creating", "modifying", "snapshotting"})
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
PING_TIMEOUT_S = 1.5


@dataclass(frozen=True)
class Cache:
    kind: str  # "replication group" | "cache cluster"
    id: str
    facts: dict[str, Any]

    @property
    def status(self) -> str:
        key = "Status" if self.kind == "replication group" else "CacheClusterStatus"
        return str(self.facts.get(key, "unknown"))

    def endpoint(self) -> tuple[str, int] | None:
        if self.kind == "replication group":
            if found := self.facts.get("ConfigurationEndpoint"):  # cluster mode enabled
                return str(found["Address"]), int(found["Port"])
            for group in self.facts.get("NodeGroups", []):
                if found := group.get("PrimaryEndpoint"):
                    return str(found["Address"]), int(found["Port"])
            return None
        nodes = self.facts.get("CacheNodes", [])
        found = self.facts.get("ConfigurationEndpoint") or (nodes[0].get("Endpoint") if nodes else None)
        return (str(found["Address"]), int(found["Port"])) if found else None


def _split(value: str) -> tuple[str, int | None] | None:
    if _ID.match(value):
        return None
    host, sep, port = value.rpartition(":")
    return (host, int(port)) if sep and port.isdigit() else (value, None)


def describe(client: Any, cache_id: str) -> Cache:
    """The replication group `cache_id`, else the cache cluster; `CheckFailed` when neither exists."""
    try:
        with aws_errors("elasticache", "DescribeReplicationGroups", cache_id):
            groups = client.describe_replication_groups(ReplicationGroupId=cache_id)["ReplicationGroups"]
        return Cache("replication group", cache_id, dict(groups[0]))
    except CheckFailed:
        pass
    try:
        with aws_errors("elasticache", "DescribeCacheClusters", cache_id):
            clusters = client.describe_cache_clusters(CacheClusterId=cache_id, ShowCacheNodeInfo=True)[
                "CacheClusters"
            ]
        return Cache("cache cluster", cache_id, dict(clusters[0]))
    except CheckFailed as missing:
        raise CheckFailed(
            f"ElastiCache `{cache_id}`: expected a replication group or cache cluster, got not found",
            resource=cache_id,
            expected="exists",
            actual="not found",
        ) from missing


def _through(resource: Resource, cache: Cache, inventory: Inventory) -> Cache:
    """`cache`, unless another output is the one to check it through (an id output first)."""
    naming = [o for o in inventory.of_kind("elasticache") if o is resource or o.name == cache.id]
    preferred = next((o for o in naming if _split(o.value) is None), naming[0])
    if preferred is not resource:
        raise NotApplicable(f"ElastiCache `{cache.id}` is checked through output `{preferred.key}`")
    return cache


def cache_for(client: Any, resource: Resource, inventory: Inventory) -> Cache:
    """The cache this output names (see the module docstring for which output checks it)."""
    split = _split(resource.value)
    if split is None:
        return _through(resource, describe(client, resource.name), inventory)
    host, port = split
    # Matched as a whole (host and port), like RDS endpoints: a wrong port is a broken output.
    with aws_errors("elasticache", "DescribeReplicationGroups", resource.name):
        pages = client.get_paginator("describe_replication_groups").paginate()
        groups = [g for page in pages for g in page.get("ReplicationGroups", [])]
    for group in groups:
        cache = Cache("replication group", str(group["ReplicationGroupId"]), dict(group))
        seen = cache.endpoint()
        if seen is not None and seen[0] == host and port in (None, seen[1]):
            return _through(resource, cache, inventory)
    raise CheckFailed(
        f"ElastiCache endpoint `{resource.name}`: expected a replication group with that endpoint, got "
        f"none among {len(groups)} group(s)",
        resource=resource.name,
        expected=resource.name,
        actual=[g.get("ReplicationGroupId") for g in groups],
    )


def check_available(client: Any, cache: Cache) -> dict[str, Any]:
    """`available`: facts. creating/modifying/snapshotting: `NotYet`. Else `CheckFailed`."""
    __tracebackhide__ = True
    fresh = describe(client, cache.id)
    status = fresh.status
    if status in _TRANSITIONAL:
        raise NotYet(f"ElastiCache {cache.kind} `{cache.id}` available", f"status {status}")
    if status != "available":
        raise CheckFailed(
            f"ElastiCache {cache.kind} `{cache.id}`: expected status available, got {status}",
            resource=cache.id,
            expected="available",
            actual=status,
        )
    members = fresh.facts.get("MemberClusters", [])
    return {"kind": cache.kind, "status": status, "members": len(members) or None}


def check_encryption(cache: Cache) -> dict[str, Any]:
    __tracebackhide__ = True
    at_rest = bool(cache.facts.get("AtRestEncryptionEnabled"))
    in_transit = bool(cache.facts.get("TransitEncryptionEnabled"))
    missing = [name for name, on in (("at rest", at_rest), ("in transit", in_transit)) if not on]
    if missing:
        raise CheckFailed(
            f"ElastiCache {cache.kind} `{cache.id}`: expected encryption at rest and in transit, got none "
            f"{' and '.join(missing)}",
            resource=cache.id,
            expected={"at_rest": True, "in_transit": True},
            actual={"at_rest": at_rest, "in_transit": in_transit},
        )
    return {"at_rest": at_rest, "in_transit": in_transit, "kms_key": cache.facts.get("KmsKeyId")}


def ping(
    host: str,
    port: int,
    *,
    tls_first: bool = True,
    must_be_reachable: bool = False,
    timeout_s: float = PING_TIMEOUT_S,
) -> dict[str, Any]:
    """PING over TLS and plain TCP at once (see the module docstring); the first answer wins.

    Tried one after the other, a TLS handshake with a plain server (or the reverse) hung for the
    whole timeout before the other transport was tried: 1.5 s of a 2.6 s smoke run. Both attempts
    start together now; `tls_first` only orders the refusals in the message. A Redis error reply
    such as NOAUTH still proves that the server answers."""
    __tracebackhide__ = True
    skip_if_no_server("elasticache", host)
    from concurrent.futures import ThreadPoolExecutor, as_completed

    where = f"ElastiCache endpoint {host}:{port}"
    order = ("tls", "plain") if tls_first else ("plain", "tls")
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify-ping")
    attempts = {pool.submit(_ping_once, host, port, t == "tls", timeout_s): t for t in order}
    refusals: dict[str, str] = {}
    try:
        for done in as_completed(attempts):
            kind, value = done.result()
            if kind == "answer":
                return {"transport": attempts[done], "answer": value}
            if kind == "error":
                raise CheckFailed(f"{where}: {value}", resource=f"{host}:{port}", actual=value)
            refusals[attempts[done]] = value
    finally:
        pool.shutdown(wait=False)  # a losing attempt ends at its own socket timeout
    said = "; ".join(f"{t}: {refusals[t]}" for t in order if t in refusals)
    if must_be_reachable:
        raise CheckFailed(
            f"{where}: expected an answer (expect.cache_must_be_reachable), got {said}",
            resource=f"{host}:{port}",
            expected="reachable",
            actual=said,
        )
    raise not_reachable("ElastiCache endpoint", host, port, said)


def _ping_once(host: str, port: int, tls: bool, timeout_s: float) -> tuple[str, str]:
    """("answer", what it said) / ("error", an error reply) / ("unreachable", why)."""
    import redis  # only the PING check pays for the client
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(
        host=host,
        port=port,
        ssl=tls,
        ssl_cert_reqs="none",
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        protocol=2,  # RESP2: no HELLO handshake, which servers before Redis 6 refuse
    )
    try:
        answered = client.ping()
    except redis.AuthenticationError as error:
        return "answer", f"auth required ({error})"
    except redis.ResponseError as error:
        if "NOAUTH" in str(error).upper():
            return "answer", "NOAUTH (server up; auth token required)"
        return "error", f"expected PONG, got error reply {error}"
    except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
        return "unreachable", " ".join(str(error).split())
    finally:
        client.close()
    if answered is not True:
        return "error", f"expected PONG, got {answered!r}"
    return "answer", "PONG"
