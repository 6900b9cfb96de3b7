"""RDS DescribeDBEngineVersions for the emulator: a catalogue of engine versions AWS has really offered.

moto does not implement DescribeDBEngineVersions (it answers 500), yet a verifier must ask it to tell
a real engine version from an invented one. The catalogue below is what RDS listed for PostgreSQL
(11.x to 16.x minor versions; of 15.x only those still offered) and a few MySQL versions, so an
Engine filter has something to exclude.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from verify.sandbox.emulator.server import AwsRequest, FaultMiddleware, Response

_POSTGRES: dict[str, tuple[str, ...]] = {
    "11": ("11.16", "11.17", "11.18", "11.19", "11.20", "11.21", "11.22"),
    "12": ("12.11", "12.12", "12.13", "12.14", "12.15", "12.16", "12.17", "12.18", "12.19", "12.20"),
    "13": ("13.7", "13.8", "13.9", "13.10", "13.11", "13.12", "13.13", "13.14", "13.15", "13.16"),
    "14": ("14.3", "14.4", "14.5", "14.6", "14.7", "14.8", "14.9", "14.10", "14.11", "14.12", "14.13"),
    # RDS no longer offers 15.2-15.6 (the platform's declared 15.3 failed its deploy, issue 17).
    "15": ("15.7", "15.8", "15.10"),
    "16": ("16.1", "16.2", "16.3", "16.4", "16.6"),
}
_MYSQL = ("8.0.32", "8.0.33", "8.0.34", "8.0.35", "8.0.36", "8.0.39")
# RDS's default PostgreSQL version when none is asked for (what DefaultOnly=true returns).
_DEFAULTS = {"postgres": "16.3", "mysql": "8.0.35"}


@dataclass(frozen=True)
class EngineVersion:
    engine: str
    version: str
    family: str  # DBParameterGroupFamily, e.g. "postgres15"
    description: str


def _build() -> tuple[EngineVersion, ...]:
    versions = [
        EngineVersion("postgres", v, f"postgres{major}", f"PostgreSQL {v}-R1")
        for major, minors in _POSTGRES.items()
        for v in minors
    ]
    versions += [EngineVersion("mysql", v, "mysql8.0", f"MySQL Community Edition {v}") for v in _MYSQL]
    return tuple(versions)


CATALOGUE: tuple[EngineVersion, ...] = _build()


def is_offered(engine: str, version: str) -> bool:
    return any(v.engine == engine and v.version == version for v in CATALOGUE)


def select(
    engine: str | None = None,
    version: str | None = None,
    family: str | None = None,
    default_only: bool = False,
) -> list[EngineVersion]:
    """The catalogue entries matching RDS's request parameters (exact matches, as RDS does)."""
    return [
        v
        for v in CATALOGUE
        if (not engine or v.engine == engine)
        and (not version or v.version == version)
        and (not family or v.family == family)
        and (not default_only or _DEFAULTS.get(v.engine) == v.version)
    ]


def _upgrade_targets(current: EngineVersion) -> list[EngineVersion]:
    def key(v: EngineVersion) -> tuple[int, ...]:
        return tuple(int(part) for part in v.version.split("."))

    # Real catalogues list every later minor of the same major and only a few major jumps; listing
    # the newest minor of each later major keeps the answer small and still shaped like RDS's.
    later = [v for v in CATALOGUE if v.engine == current.engine and key(v) > key(current)]
    newest_of: dict[str, EngineVersion] = {}
    for v in later:
        if v.family != current.family:
            newest_of[v.family] = v
    return [v for v in later if v.family == current.family] + list(newest_of.values())


def _entry_xml(v: EngineVersion) -> str:
    targets = "".join(
        "<UpgradeTarget>"
        f"<Engine>{escape(t.engine)}</Engine><EngineVersion>{escape(t.version)}</EngineVersion>"
        f"<Description>{escape(t.description)}</Description><AutoUpgrade>false</AutoUpgrade>"
        f"<IsMajorVersionUpgrade>{str(t.family != v.family).lower()}</IsMajorVersionUpgrade>"
        "</UpgradeTarget>"
        for t in _upgrade_targets(v)
    )
    return (
        "<DBEngineVersion>"
        f"<Engine>{escape(v.engine)}</Engine><EngineVersion>{escape(v.version)}</EngineVersion>"
        f"<MajorEngineVersion>{escape(v.version.split('.')[0])}</MajorEngineVersion>"
        f"<DBParameterGroupFamily>{escape(v.family)}</DBParameterGroupFamily>"
        f"<DBEngineDescription>{'PostgreSQL' if v.engine == 'postgres' else 'MySQL'}</DBEngineDescription>"
        f"<DBEngineVersionDescription>{escape(v.description)}</DBEngineVersionDescription>"
        f"<ValidUpgradeTarget>{targets}</ValidUpgradeTarget>"
        "<SupportsLogExportsToCloudwatchLogs>true</SupportsLogExportsToCloudwatchLogs>"
        "<SupportsReadReplica>true</SupportsReadReplica><Status>available</Status>"
        "</DBEngineVersion>"
    )


def _param_true(params: dict[str, str], name: str) -> bool:
    return params.get(name, "").lower() == "true"


def describe_db_engine_versions(req: AwsRequest) -> Response:
    """Answer DescribeDBEngineVersions in the query protocol's XML, paginated by Marker/MaxRecords."""
    params = req.params
    matches = select(
        engine=params.get("Engine") or None,
        version=params.get("EngineVersion") or None,
        family=params.get("DBParameterGroupFamily") or None,
        default_only=_param_true(params, "DefaultOnly"),
    )
    try:
        start = int(params.get("Marker") or 0)
        page_size = max(20, min(100, int(params.get("MaxRecords") or 100)))
    except ValueError:
        return _error("InvalidParameterValue", "Marker and MaxRecords must be integers.")
    page = matches[start : start + page_size]
    marker = f"<Marker>{start + page_size}</Marker>" if start + page_size < len(matches) else ""
    body = (
        '<DescribeDBEngineVersionsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        "<DescribeDBEngineVersionsResult>"
        f"<DBEngineVersions>{''.join(_entry_xml(v) for v in page)}</DBEngineVersions>{marker}"
        "</DescribeDBEngineVersionsResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</DescribeDBEngineVersionsResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, body.encode()


def _error(code: str, message: str) -> Response:
    body = (
        '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return 400, {"Content-Type": "text/xml"}, body.encode()


def install(middleware: FaultMiddleware) -> None:
    middleware.intercept("rds", "DescribeDBEngineVersions", describe_db_engine_versions)
