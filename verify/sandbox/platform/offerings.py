"""What RDS and ElastiCache offer, for the emulator: DescribeOrderableDBInstanceOptions and
DescribeCacheEngineVersions, which `verify preflight` asks before a deploy.

moto answers DescribeOrderableDBInstanceOptions only for Aurora PostgreSQL and Neptune (an empty list
for postgres and mysql) and does not implement DescribeCacheEngineVersions (a 500). Against moto alone
preflight says "could not verify"; the sandbox stands in for AWS, so it answers as AWS does: every
engine version of `engine_versions.CATALOGUE` orderable in a few instance classes in the region's
AZs, and the ElastiCache engine versions AWS lists (Redis OSS, Valkey, Memcached).
"""

from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

from verify.sandbox.emulator.server import AwsRequest, FaultMiddleware, Response
from verify.sandbox.platform.engine_versions import CATALOGUE

# Burstable and general-purpose classes every PostgreSQL and MySQL version of the catalogue is
# orderable in (db.t2 is not orderable for PostgreSQL 13+ on AWS: it is left out, so a template
# asking for it fails as it would).
_CLASSES = (
    "db.t3.micro",
    "db.t3.small",
    "db.t3.medium",
    "db.t4g.micro",
    "db.t4g.medium",
    "db.m5.large",
    "db.r6g.large",
)
_ZONES = ("a", "b", "c")

_CACHE_VERSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "redis": (
        ("4.0.10", "redis4.0"),
        ("5.0.6", "redis5.0"),
        ("6.0", "redis6.x"),
        ("6.2", "redis6.x"),
        ("7.0", "redis7"),
        ("7.1", "redis7"),
    ),
    "valkey": (("7.2", "valkey7"), ("8.0", "valkey8"), ("8.1", "valkey8")),
    "memcached": (("1.6.12", "memcached1.6"), ("1.6.17", "memcached1.6"), ("1.6.22", "memcached1.6")),
}


def _page(params: dict[str, str], items: list[str]) -> tuple[list[str], str] | None:
    try:
        start = int(params.get("Marker") or 0)
        size = max(20, min(100, int(params.get("MaxRecords") or 100)))
    except ValueError:
        return None
    marker = f"<Marker>{start + size}</Marker>" if start + size < len(items) else ""
    return items[start : start + size], marker


def describe_orderable(req: AwsRequest, region: str) -> Response:
    params = req.params
    entries = [
        (v, cls)
        for v in CATALOGUE
        for cls in _CLASSES
        if (not params.get("Engine") or v.engine == params["Engine"])
        and (not params.get("EngineVersion") or v.version == params["EngineVersion"])
        and (not params.get("DBInstanceClass") or cls == params["DBInstanceClass"])
    ]
    zones = "".join(f"<AvailabilityZone><Name>{region}{z}</Name></AvailabilityZone>" for z in _ZONES)
    items = [
        "<OrderableDBInstanceOption>"
        f"<Engine>{escape(v.engine)}</Engine><EngineVersion>{escape(v.version)}</EngineVersion>"
        f"<DBInstanceClass>{cls}</DBInstanceClass>"
        f"<LicenseModel>{'postgresql-license' if v.engine == 'postgres' else 'general-public-license'}</LicenseModel>"
        f"<AvailabilityZones>{zones}</AvailabilityZones><MultiAZCapable>true</MultiAZCapable>"
        "<ReadReplicaCapable>true</ReadReplicaCapable><Vpc>true</Vpc><StorageType>gp3</StorageType>"
        "</OrderableDBInstanceOption>"
        for v, cls in entries
    ]
    paged = _page(params, items)
    if paged is None:
        return _error("rds", "InvalidParameterValue", "Marker and MaxRecords must be integers.")
    page, marker = paged
    body = (
        '<DescribeOrderableDBInstanceOptionsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        f"<DescribeOrderableDBInstanceOptionsResult><OrderableDBInstanceOptions>{''.join(page)}"
        f"</OrderableDBInstanceOptions>{marker}</DescribeOrderableDBInstanceOptionsResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</DescribeOrderableDBInstanceOptionsResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, body.encode()


def describe_cache_engine_versions(req: AwsRequest) -> Response:
    params = req.params
    items = [
        "<CacheEngineVersion>"
        f"<Engine>{engine}</Engine><EngineVersion>{version}</EngineVersion>"
        f"<CacheParameterGroupFamily>{family}</CacheParameterGroupFamily>"
        f"<CacheEngineDescription>{engine}</CacheEngineDescription>"
        f"<CacheEngineVersionDescription>{engine} version {version}</CacheEngineVersionDescription>"
        "</CacheEngineVersion>"
        for engine, versions in _CACHE_VERSIONS.items()
        for version, family in versions
        if (not params.get("Engine") or engine == params["Engine"])
        and (not params.get("EngineVersion") or version == params["EngineVersion"])
        and (not params.get("CacheParameterGroupFamily") or family == params["CacheParameterGroupFamily"])
    ]
    paged = _page(params, items)
    if paged is None:
        return _error("elasticache", "InvalidParameterValue", "Marker and MaxRecords must be integers.")
    page, marker = paged
    body = (
        '<DescribeCacheEngineVersionsResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/">'
        f"<DescribeCacheEngineVersionsResult><CacheEngineVersions>{''.join(page)}</CacheEngineVersions>"
        f"{marker}</DescribeCacheEngineVersionsResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</DescribeCacheEngineVersionsResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, body.encode()


def _error(service: str, code: str, message: str) -> Response:
    namespace = {
        "rds": "http://rds.amazonaws.com/doc/2014-10-31/",
        "elasticache": "http://elasticache.amazonaws.com/doc/2015-02-02/",
    }[service]
    body = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return 400, {"Content-Type": "text/xml"}, body.encode()


def install(middleware: FaultMiddleware, region: str) -> None:
    middleware.intercept(
        "rds", "DescribeOrderableDBInstanceOptions", lambda req: describe_orderable(req, region)
    )
    middleware.intercept("elasticache", "DescribeCacheEngineVersions", describe_cache_engine_versions)
