"""ElastiCache Redis named by the outputs: available, encrypted at rest and in transit, answers PING."""

from __future__ import annotations

from verify import Aws, CheckRecorder, Config, Inventory, NotApplicable, Resource, Waiter, mark, probes


@mark.check("elasticache", title="ElastiCache {key} is available")
@mark.resources("elasticache")
def test_cache_available(
    resource: Resource, aws: Aws, inventory: Inventory, eventually: Waiter, check: CheckRecorder
) -> None:
    client = aws.client("elasticache")
    cache = probes.elasticache.cache_for(client, resource, inventory)
    polled = eventually(
        lambda: probes.elasticache.check_available(client, cache),
        what=f"ElastiCache {cache.kind} `{cache.id}`: expected available",
        resource=resource.key,
    )
    check.record_all(polled.value)


@mark.check("elasticache", category="posture", title="ElastiCache {key} is encrypted at rest and in transit")
@mark.resources("elasticache")
def test_cache_encrypted(resource: Resource, aws: Aws, inventory: Inventory, check: CheckRecorder) -> None:
    cache = probes.elasticache.cache_for(aws.client("elasticache"), resource, inventory)
    check.record_all(probes.elasticache.check_encryption(cache))


@mark.check("elasticache", title="ElastiCache {key} answers PING")
@mark.resources("elasticache")
def test_cache_ping(
    resource: Resource, aws: Aws, inventory: Inventory, verify_config: Config, check: CheckRecorder
) -> None:
    cache = probes.elasticache.cache_for(aws.client("elasticache"), resource, inventory)
    endpoint = cache.endpoint()
    if endpoint is None:
        raise NotApplicable(f"ElastiCache {cache.kind} `{cache.id}` reports no endpoint to PING")
    check.record("endpoint", f"{endpoint[0]}:{endpoint[1]}")
    tls_first = bool(cache.facts.get("TransitEncryptionEnabled"))
    must = verify_config.expect.cache_must_be_reachable
    check.record_all(probes.elasticache.ping(*endpoint, tls_first=tls_first, must_be_reachable=must))
