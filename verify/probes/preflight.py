"""`verify preflight`: what a template declares, asked of the account before it is deployed.

Each question is read-only and answers what a deploy would find out minutes in, after creating half
the stack: the RDS engine version is offered in the region (DescribeDBEngineVersions), the instance
class is orderable for it (DescribeOrderableDBInstanceOptions), the ElastiCache engine version is
offered (DescribeCacheEngineVersions), a declared secret rotation has a function to rotate with (and
a function named by its ARN exists: GetFunction), the Lambda runtimes are not deprecated (a dated table:
no API lists deprecations) and the declared names fit AWS's rules.

An endpoint that does not answer a question (an emulator lacking the operation) is "could not verify"
with its reason, never a pass. A value the template leaves to deploy time is unknown: it is not asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import CheckFailed, NotApplicable, VerifyError
from verify.intent.model import DeclaredProperty, DeclaredResource, Intent, Unknown
from verify.probes.lambda_runtimes import (
    AL2_EXTENDED,
    DEPRECATION,
    deprecated_since,
    known,
    newest_of_family,
    table_note,
)
from verify.probes.names import name_problem, rule_for
from verify.stack.kinds import Kind


@dataclass(frozen=True)
class DeclaredSubject:
    """What one preflight check is about: a resource the template declares. `key` (its logical id or
    address) is the check's id suffix and its report's `resource`; `name` its declared name."""

    resource: DeclaredResource
    intent: Intent
    region: str

    @property
    def key(self) -> str:
        return self.resource.logical_id

    @property
    def name(self) -> str:
        physical = self.resource.physical_name
        return physical if isinstance(physical, str) else self.resource.logical_id

    @property
    def sensitive(self) -> bool:
        return False

    def where(self) -> str:
        return f"{self.intent.source} ({self.resource.logical_id})"


@dataclass(frozen=True)
class DeclaredTemplate:
    """A check about the whole template (its names): the template and the region asked about."""

    intent: Intent
    region: str


_LABEL: dict[str, str] = {
    Kind.RDS_INSTANCE: "RDS instance",
    Kind.RDS_CLUSTER: "RDS cluster",
    Kind.ELASTICACHE: "ElastiCache",
    Kind.LAMBDA_FUNCTION: "Lambda function",
    Kind.SECRET: "secret",
}


def _subject(subject: DeclaredSubject) -> str:
    label = _LABEL.get(subject.resource.kind, subject.resource.kind)
    named = subject.resource.physical_name
    return f"{label} `{named}` [{subject.key}]" if isinstance(named, str) else f"{label} [{subject.key}]"


def _declared(subject: DeclaredSubject, name: str, what: str) -> tuple[str, DeclaredProperty] | None:
    """The known value of property `name`; None when the template does not declare it (the question
    does not arise); VerifyError when it is left to deploy time (it cannot be asked)."""
    prop = subject.resource.get(name)
    if prop is None:
        return None
    if isinstance(prop.value, Unknown) or not isinstance(prop.value, str | int | float):
        raise VerifyError(
            f"{_subject(subject)}: the {what} is {prop.value} ({prop.declared()}), so the account "
            "cannot be asked about it before the deploy"
        )
    return str(prop.value), prop


def _numeric(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.-]", version))


def _unanswered(service: str, operation: str, exc: NotImplementedError) -> VerifyError:
    return VerifyError(
        f"the {service} endpoint does not answer {operation} ({exc}): an emulator lacking the operation; "
        "AWS itself answers it"
    )


# ---------------------------------------------------------------- RDS


def _engine(subject: DeclaredSubject) -> tuple[str, DeclaredProperty]:
    found = _declared(subject, "engine", "engine")
    if found is None:
        raise NotApplicable(f"{_subject(subject)} declares no engine")
    return found[0].lower(), found[1]


def rds_engine_version_offered(client: Any, subject: DeclaredSubject) -> dict[str, Any]:
    """The declared engine version is one RDS offers in the region."""
    __tracebackhide__ = True
    engine, _ = _engine(subject)
    found = _declared(subject, "engine_version", "engine version")
    if found is None:
        raise NotApplicable(f"{_subject(subject)} declares no engine version: RDS chooses its default")
    version, prop = found
    evidence = {"engine": engine, "engine_version": version, "region": subject.region}
    try:
        with aws_errors("rds", "DescribeDBEngineVersions", f"{engine} {version}"):
            exact = client.describe_db_engine_versions(Engine=engine, EngineVersion=version)
            if any(v.get("EngineVersion") == version for v in exact.get("DBEngineVersions", [])):
                return evidence
            offered = [
                v
                for page in client.get_paginator("describe_db_engine_versions").paginate(Engine=engine)
                for v in page.get("DBEngineVersions", [])
            ]
    except NotImplementedError as exc:
        raise _unanswered("RDS", "DescribeDBEngineVersions", exc) from None
    if not offered:
        # No version at all means the question was not answered (or the engine is misspelt): never a pass.
        raise VerifyError(
            f"RDS DescribeDBEngineVersions lists no version of engine {engine} in {subject.region}, so "
            f"{version} cannot be judged ({prop.declared()})"
        )
    majors = {str(v.get("MajorEngineVersion") or "") for v in offered} - {""}
    if version in majors:  # a major alone ("15"): RDS picks that major's default minor
        return {**evidence, "note": f"{version} is a major version: RDS creates its default minor"}
    major = max((m for m in majors if version.startswith(m + ".")), key=len, default=version.split(".", 1)[0])
    same_major = sorted(
        {
            str(v.get("EngineVersion"))
            for v in offered
            if str(v.get("MajorEngineVersion") or str(v.get("EngineVersion")).split(".", 1)[0]) == major
        },
        key=_numeric,
    )
    title = str(offered[0].get("DBEngineDescription") or engine)
    listed = (
        ", ".join(same_major)
        if same_major
        else f"none (offered majors: {', '.join(sorted(majors, key=_numeric))})"
    )
    raise CheckFailed(
        f"{_subject(subject)}: {title} {version} is not offered in {subject.region}; offered {major}.x: "
        f"{listed} ({prop.declared()})",
        resource=subject.key,
        expected=f"an {engine} version RDS offers in {subject.region}",
        actual=version,
    )


def rds_instance_class_orderable(client: Any, subject: DeclaredSubject) -> dict[str, Any]:
    """The declared instance class is orderable for the engine and version in the region."""
    __tracebackhide__ = True
    engine, _ = _engine(subject)
    found = _declared(subject, "instance_class", "instance class")
    if found is None:
        raise NotApplicable(f"{_subject(subject)} declares no instance class")
    instance_class, prop = found
    version_found = _declared(subject, "engine_version", "engine version")
    asked: dict[str, Any] = {"Engine": engine}
    if version_found is not None:
        asked["EngineVersion"] = version_found[0]
    what = f"{engine} {asked.get('EngineVersion', '(any version)')}"
    try:
        with aws_errors("rds", "DescribeOrderableDBInstanceOptions", f"{what} {instance_class}"):
            options = client.describe_orderable_db_instance_options(
                **asked, DBInstanceClass=instance_class, MaxRecords=100
            ).get("OrderableDBInstanceOptions", [])
            others = (
                []
                if options
                else client.describe_orderable_db_instance_options(**asked, MaxRecords=100).get(
                    "OrderableDBInstanceOptions", []
                )
            )
    except NotImplementedError as exc:
        raise _unanswered("RDS", "DescribeOrderableDBInstanceOptions", exc) from None
    if options:
        zones = sorted({z.get("Name", "") for o in options for z in o.get("AvailabilityZones", [])} - {""})
        multi_az = subject.resource.value("multi_az")
        if multi_az is True and not any(o.get("MultiAZCapable") for o in options):
            raise CheckFailed(
                f"{_subject(subject)}: {instance_class} is orderable for {what} in {subject.region} but not "
                f"Multi-AZ, and the template declares MultiAZ ({prop.declared()})",
                resource=subject.key,
                expected="a Multi-AZ capable instance class",
                actual=instance_class,
            )
        answer: dict[str, Any] = {
            "instance_class": instance_class,
            "engine": what,
            "availability_zones": zones,
        }
        zone = subject.resource.get("availability_zone")
        if zone is not None and isinstance(zone.value, Unknown):
            return {**answer, "availability_zone": f"not asked: {zone.value}"}
        if zone is not None and zones and zone.value not in zones:
            raise CheckFailed(
                f"{_subject(subject)}: {instance_class} is orderable for {what} in {subject.region} but not in "
                f"{zone.value}; it is in {', '.join(zones)} ({zone.declared()})",
                resource=subject.key,
                expected=f"an availability zone where {instance_class} is orderable",
                actual=str(zone.value),
            )
        return answer if zone is None else {**answer, "availability_zone": zone.value}
    if not others and "EngineVersion" in asked:
        with aws_errors("rds", "DescribeOrderableDBInstanceOptions", engine):
            engine_known = client.describe_orderable_db_instance_options(Engine=engine, MaxRecords=20).get(
                "OrderableDBInstanceOptions", []
            )
        if engine_known:
            # RDS orders nothing at all of this version: the version is not offered, which its own
            # check says; no class could be, so the question does not arise.
            raise NotApplicable(
                f"RDS orders no instance class at all for {what} in {subject.region}: a version RDS does not "
                "offer (see the engine version check)"
            )
    if not others:
        raise VerifyError(
            f"RDS DescribeOrderableDBInstanceOptions lists no instance class at all for {what} in "
            f"{subject.region} (the answer for an engine version RDS does not offer, or an endpoint that "
            f"does not know the engine), so {instance_class} cannot be judged"
        )
    classes = sorted({str(o.get("DBInstanceClass")) for o in others})
    shown = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
    raise CheckFailed(
        f"{_subject(subject)}: {instance_class} is not orderable for {what} in {subject.region}; "
        f"orderable classes include {shown} ({prop.declared()})",
        resource=subject.key,
        expected=f"an instance class orderable for {what}",
        actual=instance_class,
    )


# ---------------------------------------------------------------- ElastiCache


def _version_key(version: str) -> str:
    """ElastiCache's major: "7.1" -> "7", "6.x" -> "6", "5.0.6" -> "5"."""
    return version.split(".", 1)[0]


def cache_engine_version_offered(client: Any, subject: DeclaredSubject) -> dict[str, Any]:
    """The declared ElastiCache engine version is one ElastiCache offers in the region."""
    __tracebackhide__ = True
    found = _declared(subject, "engine_version", "engine version")
    if found is None:
        raise NotApplicable(
            f"{_subject(subject)} declares no engine version: ElastiCache chooses its default"
        )
    version, prop = found
    engine_found = _declared(subject, "engine", "engine")
    if engine_found is not None:
        engine = engine_found[0].lower()
    elif "replication" in subject.resource.type.lower():
        engine = "redis"  # a replication group's engine when none is declared
    else:
        raise NotApplicable(f"{_subject(subject)} declares no engine")
    evidence = {"engine": engine, "engine_version": version, "region": subject.region}
    try:
        with aws_errors("elasticache", "DescribeCacheEngineVersions", f"{engine} {version}"):
            offered = [
                str(v.get("EngineVersion"))
                for page in client.get_paginator("describe_cache_engine_versions").paginate(Engine=engine)
                for v in page.get("CacheEngineVersions", [])
            ]
    except NotImplementedError as exc:
        raise _unanswered("ElastiCache", "DescribeCacheEngineVersions", exc) from None
    if not offered:
        raise VerifyError(
            f"ElastiCache DescribeCacheEngineVersions lists no version of engine {engine} in {subject.region}, "
            f"so {version} cannot be judged ({prop.declared()})"
        )
    if version in offered:
        return evidence
    major = _version_key(version)
    if version.lower() == f"{major}.x" and any(_version_key(v) == major for v in offered):
        return {**evidence, "note": f"{version}: ElastiCache creates the latest {major}.x it offers"}
    same_major = sorted({v for v in offered if _version_key(v) == major}, key=_numeric)
    raise CheckFailed(
        f"{_subject(subject)}: {engine} {version} is not offered in {subject.region}; offered {major}.x: "
        f"{', '.join(same_major) or 'none'} ({prop.declared()})",
        resource=subject.key,
        expected=f"a {engine} version ElastiCache offers in {subject.region}",
        actual=version,
    )


# ---------------------------------------------------------------- Lambda runtimes


def runtime_not_deprecated(subject: DeclaredSubject, today: date | None = None) -> dict[str, Any]:
    """The declared runtime is not deprecated, by verify's dated table (there is no AWS API for it)."""
    __tracebackhide__ = True
    found = _declared(subject, "runtime", "runtime")
    if found is None:
        raise NotApplicable(f"{_subject(subject)} declares no runtime (a container image brings its own)")
    runtime, prop = found
    today = today or date.today()
    evidence = {"runtime": runtime, "table": table_note()}
    since = deprecated_since(runtime, today)
    if since is not None:
        newer = newest_of_family(runtime)
        hint = f"; move to {newer}" if newer and newer != runtime else ""
        raise CheckFailed(
            f"{_subject(subject)}: runtime {runtime} is deprecated since {since.isoformat()} by "
            f"{table_note()}: Lambda blocks creating, then updating, functions on it"
            f"{hint} ({prop.declared()})",
            resource=subject.key,
            expected="a runtime Lambda supports",
            actual=runtime,
        )
    if runtime in AL2_EXTENDED:
        return {
            **evidence,
            "note": f"{runtime}: supported past Amazon Linux 2's end of life, no date published",
        }
    if known(runtime):
        planned = DEPRECATION[runtime].isoformat()
        return {**evidence, "deprecation_planned": planned}
    if not _botocore_runtimes() or runtime in _botocore_runtimes():
        # Newer than the table (botocore, updated with every API change, knows it): not deprecated
        # on the table's date; the evidence says the table does not list it.
        return {**evidence, "note": f"{runtime} is newer than the table: not listed there"}
    raise CheckFailed(
        f"{_subject(subject)}: runtime {runtime} is no Lambda runtime (neither {table_note()} "
        f"nor the Lambda API's own list of runtime values names it) ({prop.declared()})",
        resource=subject.key,
        expected="a Lambda runtime identifier",
        actual=runtime,
    )


def _botocore_runtimes() -> frozenset[str]:
    """The Runtime values of the Lambda API model botocore ships (every runtime, deprecated ones too)."""
    try:
        import botocore.session

        model = botocore.session.get_session().get_service_model("lambda")
        return frozenset(getattr(model.shape_for("Runtime"), "enum", ()))
    except Exception:  # a botocore without the model: the table alone decides
        return frozenset()


# ---------------------------------------------------------------- secret rotation


def rotation_has_function(client: Any, subject: DeclaredSubject) -> dict[str, Any]:
    """A declared rotation names a function to rotate with (RotationLambdaARN, HostedRotationLambda,
    Terraform's rotation_lambda_arn); one named by a literal ARN exists in the account."""
    __tracebackhide__ = True
    resource = subject.resource
    schedule = resource.get("rotation_days") or resource.get("rotation_schedule")
    if schedule is None:
        raise NotApplicable(f"{_subject(subject)} declares no rotation")
    function = resource.get("rotation_function")
    if function is None:
        raise CheckFailed(
            f"{_subject(subject)}: a rotation is declared ({schedule.declared()}) with no function to rotate "
            "with: give RotationLambdaARN or HostedRotationLambda (Terraform: rotation_lambda_arn); only a "
            "secret another service manages rotates without one",
            resource=subject.key,
            expected="a rotation function",
            actual="none declared",
        )
    value = function.value
    evidence: dict[str, Any] = {"rotation_function": str(value), "declared": function.declared()}
    if isinstance(value, Unknown):
        target = subject.intent.resource(value.refers_to) if value.refers_to else None
        if target is not None and target.kind == Kind.LAMBDA_FUNCTION:
            return {**evidence, "function": f"the template's own {target.logical_id}"}
        # A parameter or an import: a function is named; which one is known only at deploy.
        return {**evidence, "note": f"named at deploy: {value.reason}"}
    text = str(value)
    if not text.startswith("arn:"):
        return evidence  # a hosted rotation ("hosted: PostgreSQLSingleUser")
    try:
        with aws_errors(
            "lambda", "GetFunction", text, subject=f"rotation function `{text}` of {_subject(subject)}"
        ):
            client.get_function(FunctionName=text)
    except NotImplementedError as exc:
        raise _unanswered("Lambda", "GetFunction", exc) from None
    return {**evidence, "exists": True}


# ---------------------------------------------------------------- names


def names_fit(template: DeclaredTemplate) -> dict[str, Any]:
    """Every name the template declares fits AWS's length and character rules for its kind."""
    __tracebackhide__ = True
    checked: list[str] = []
    unknown: list[str] = []
    problems: list[str] = []
    for resource in template.intent.resources:
        if resource.part is not None or resource.physical_name is None:
            continue
        rule = rule_for(resource.kind, resource.type)
        if rule is None:
            continue
        name = resource.physical_name
        if isinstance(name, Unknown):
            unknown.append(f"{resource.logical_id}: {name}")
            continue
        # A queue that does not declare FifoQueue is a standard one; one left to deploy time is not judged.
        fifo = resource.value("fifo", False)
        problem = name_problem(rule, name, fifo=fifo if isinstance(fifo, bool) else None)
        checked.append(name)
        if problem is not None:
            problems.append(f"{rule.what} `{name}` [{resource.logical_id}] {problem}")
    if problems:
        raise CheckFailed(
            f"{template.intent.source}: {len(problems)} declared name(s) break AWS's rules: "
            + "; ".join(problems),
            resource=template.intent.source,
            expected="names within AWS's length and character rules",
            actual=f"{len(problems)} that are not",
        )
    if not checked and unknown:
        raise VerifyError(
            f"{template.intent.source}: every declared name is left to deploy time, so none can be checked: "
            + "; ".join(unknown[:5])
        )
    if not checked:
        raise NotApplicable(f"{template.intent.source} declares no names (AWS or the tool generates them)")
    return {"names_checked": len(checked), "left_to_deploy_time": unknown}
