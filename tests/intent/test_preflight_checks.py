"""Each preflight question on its own: a template built to break it fails, a healthy one passes, an
unanswered question is "could not verify", a value left to deploy time is never asked about.

Fake clients answer as AWS does (the shapes of DescribeDBEngineVersions, DescribeOrderableDBInstanceOptions,
DescribeCacheEngineVersions); moto answers GetFunction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from verify.engine.preflight import declared_intent, plan_preflight
from verify.errors import CheckFailed, NotApplicable, VerifyError
from verify.intent.documents import parse_document
from verify.probes import lambda_runtimes, preflight
from verify.probes.preflight import DeclaredSubject, DeclaredTemplate


def _subject(
    resources: dict[str, Any], logical_id: str, region: str = "us-east-1", **parts: Any
) -> DeclaredSubject:
    intent = declared_intent(parse_document({"Resources": resources, **parts}, "t.json"), None, region)
    found = intent.resource(logical_id)
    assert found is not None
    return DeclaredSubject(found, intent, region)


def _template(resources: dict[str, Any]) -> DeclaredTemplate:
    return DeclaredTemplate(
        declared_intent(parse_document({"Resources": resources}, "t.json"), None, "us-east-1"), "us-east-1"
    )


def _db(**props: Any) -> dict[str, Any]:
    return {"Db": {"Type": "AWS::RDS::DBInstance", "Properties": {"Engine": "postgres", **props}}}


class _Pages:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return self.pages


class FakeRds:
    """RDS with PostgreSQL 15.7 / 15.10 and 16.3, orderable in db.t3.micro and db.m5.large."""

    versions = ("15.7", "15.10", "16.3")
    classes = ("db.t3.micro", "db.m5.large")

    def __init__(self, multi_az: bool = True) -> None:
        self.multi_az = multi_az
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _entry(self, v: str) -> dict[str, Any]:
        return {
            "Engine": "postgres",
            "EngineVersion": v,
            "MajorEngineVersion": v.split(".")[0],
            "DBEngineDescription": "PostgreSQL",
        }

    def describe_db_engine_versions(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("DescribeDBEngineVersions", kw))
        return {
            "DBEngineVersions": [
                self._entry(v) for v in self.versions if kw.get("EngineVersion") in (None, v)
            ]
        }

    def get_paginator(self, name: str) -> _Pages:
        assert name == "describe_db_engine_versions"
        return _Pages([{"DBEngineVersions": [self._entry(v) for v in self.versions]}])

    def describe_orderable_db_instance_options(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("DescribeOrderableDBInstanceOptions", kw))
        return {
            "OrderableDBInstanceOptions": [
                {
                    "Engine": "postgres",
                    "EngineVersion": v,
                    "DBInstanceClass": c,
                    "MultiAZCapable": self.multi_az,
                    "AvailabilityZones": [{"Name": "us-east-1a"}, {"Name": "us-east-1b"}],
                }
                for v in self.versions
                for c in self.classes
                if kw.get("EngineVersion") in (None, v) and kw.get("DBInstanceClass") in (None, c)
            ]
        }


class FakeCache:
    def __init__(self, versions: tuple[str, ...] = ("6.0", "6.2", "7.0", "7.1")) -> None:
        self.versions = versions

    def get_paginator(self, name: str) -> _Pages:
        assert name == "describe_cache_engine_versions"
        return _Pages(
            [{"CacheEngineVersions": [{"Engine": "redis", "EngineVersion": v} for v in self.versions]}]
        )


class Unanswered:
    """An emulator without the operation: in-process moto raises NotImplementedError."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*_: Any, **__: Any) -> Any:
            raise NotImplementedError(f"The {name} action has not been implemented")

        return call


# ---------------------------------------------------------------- RDS engine version


def test_rds_version_offered_passes_and_unoffered_fails_naming_its_major() -> None:
    assert (
        preflight.rds_engine_version_offered(FakeRds(), _subject(_db(EngineVersion="15.10"), "Db"))[
            "engine_version"
        ]
        == "15.10"
    )
    with pytest.raises(CheckFailed) as failed:
        preflight.rds_engine_version_offered(FakeRds(), _subject(_db(EngineVersion="15.3"), "Db"))
    assert (
        "PostgreSQL 15.3 is not offered in us-east-1; offered 15.x: 15.7, 15.10 (declared `EngineVersion: 15.3` in t.json (Db))"
        in str(failed.value)
    )


def test_rds_major_alone_passes_and_an_unknown_major_lists_the_offered_majors() -> None:
    assert "note" in preflight.rds_engine_version_offered(FakeRds(), _subject(_db(EngineVersion="15"), "Db"))
    with pytest.raises(CheckFailed, match=r"offered 9\.x: none \(offered majors: 15, 16\)"):
        preflight.rds_engine_version_offered(FakeRds(), _subject(_db(EngineVersion="9.6.24"), "Db"))


def test_rds_version_not_declared_or_left_to_deploy_time() -> None:
    with pytest.raises(NotApplicable, match="declares no engine version"):
        preflight.rds_engine_version_offered(FakeRds(), _subject(_db(), "Db"))
    subject = _subject(
        _db(EngineVersion={"Ref": "DbVersion"}), "Db", Parameters={"DbVersion": {"Type": "String"}}
    )
    with pytest.raises(VerifyError, match=r"unknown \(Ref DbVersion: a parameter.*cannot be asked"):
        preflight.rds_engine_version_offered(FakeRds(), subject)


def test_rds_unanswered_is_could_not_verify_never_a_pass() -> None:
    with pytest.raises(VerifyError, match="does not answer DescribeDBEngineVersions"):
        preflight.rds_engine_version_offered(Unanswered(), _subject(_db(EngineVersion="15.10"), "Db"))

    class Empty(FakeRds):
        versions = ()

    with pytest.raises(VerifyError, match="lists no version of engine postgres"):
        preflight.rds_engine_version_offered(Empty(), _subject(_db(EngineVersion="15.10"), "Db"))


# ---------------------------------------------------------------- RDS instance class


def test_orderable_class_passes_with_its_zones_and_an_unorderable_one_fails_listing_classes() -> None:
    found = preflight.rds_instance_class_orderable(
        FakeRds(), _subject(_db(EngineVersion="15.10", DBInstanceClass="db.t3.micro"), "Db")
    )
    assert found["availability_zones"] == ["us-east-1a", "us-east-1b"]
    with pytest.raises(
        CheckFailed,
        match=r"db\.t2\.micro is not orderable for postgres 15\.10 in us-east-1; orderable classes include db\.m5\.large, db\.t3\.micro",
    ):
        preflight.rds_instance_class_orderable(
            FakeRds(), _subject(_db(EngineVersion="15.10", DBInstanceClass="db.t2.micro"), "Db")
        )


def test_a_declared_zone_where_the_class_is_not_orderable_fails() -> None:
    def db(zone: Any) -> DeclaredSubject:
        return _subject(
            _db(EngineVersion="15.10", DBInstanceClass="db.t3.micro", AvailabilityZone=zone), "Db"
        )

    assert (
        preflight.rds_instance_class_orderable(FakeRds(), db("us-east-1b"))["availability_zone"]
        == "us-east-1b"
    )
    with pytest.raises(CheckFailed, match=r"not in us-east-1e; it is in us-east-1a, us-east-1b"):
        preflight.rds_instance_class_orderable(FakeRds(), db("us-east-1e"))
    chosen_at_deploy = db({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
    assert (
        "not asked"
        in preflight.rds_instance_class_orderable(FakeRds(), chosen_at_deploy)["availability_zone"]
    )


def test_multi_az_declared_on_a_class_that_is_not_multi_az_capable_fails() -> None:
    subject = _subject(_db(EngineVersion="15.10", DBInstanceClass="db.t3.micro", MultiAZ=True), "Db")
    with pytest.raises(CheckFailed, match="not Multi-AZ"):
        preflight.rds_instance_class_orderable(FakeRds(multi_az=False), subject)
    assert preflight.rds_instance_class_orderable(FakeRds(multi_az=True), subject)


def test_class_of_an_unoffered_version_is_not_applicable_and_no_answer_at_all_is_an_error() -> None:
    subject = _subject(_db(EngineVersion="15.3", DBInstanceClass="db.t3.micro"), "Db")
    with pytest.raises(NotApplicable, match="a version RDS does not offer"):
        preflight.rds_instance_class_orderable(FakeRds(), subject)

    class Nothing(FakeRds):
        classes = ()

    with pytest.raises(VerifyError, match="lists no instance class at all"):
        preflight.rds_instance_class_orderable(Nothing(), subject)


# ---------------------------------------------------------------- ElastiCache


def _cache(version: str, engine: str | None = "redis") -> DeclaredSubject:
    props: dict[str, Any] = {"EngineVersion": version, "ReplicationGroupId": "c"}
    if engine:
        props["Engine"] = engine
    return _subject({"Cache": {"Type": "AWS::ElastiCache::ReplicationGroup", "Properties": props}}, "Cache")


def test_cache_version_offered_passes_major_x_passes_unoffered_fails() -> None:
    assert preflight.cache_engine_version_offered(FakeCache(), _cache("7.1"))["engine_version"] == "7.1"
    assert "note" in preflight.cache_engine_version_offered(FakeCache(), _cache("6.x", engine=None))
    with pytest.raises(
        CheckFailed, match=r"redis 6\.0\.5 is not offered in us-east-1; offered 6\.x: 6\.0, 6\.2"
    ):
        preflight.cache_engine_version_offered(FakeCache(), _cache("6.0.5"))


def test_cache_unanswered_or_empty_is_could_not_verify() -> None:
    with pytest.raises(VerifyError, match="does not answer DescribeCacheEngineVersions"):
        preflight.cache_engine_version_offered(Unanswered(), _cache("7.1"))
    with pytest.raises(VerifyError, match="lists no version of engine redis"):
        preflight.cache_engine_version_offered(FakeCache(()), _cache("7.1"))


# ---------------------------------------------------------------- Lambda runtimes


def _function(runtime: str | None) -> DeclaredSubject:
    props = {"FunctionName": "fn"} | ({"Runtime": runtime} if runtime else {})
    return _subject({"Fn": {"Type": "AWS::Lambda::Function", "Properties": props}}, "Fn")


def test_deprecated_runtime_fails_saying_the_tables_date() -> None:
    with pytest.raises(CheckFailed) as failed:
        preflight.runtime_not_deprecated(_function("nodejs16.x"), today=date(2026, 12, 2))
    message = str(failed.value)
    assert (
        "deprecated since 2024-06-12" in message
        and f"table of {lambda_runtimes.TABLE_AS_OF.isoformat()}" in message
    )
    assert "move to nodejs24.x" in message


def test_runtime_deprecated_only_from_its_date() -> None:
    subject = _function("nodejs20.x")
    assert (
        preflight.runtime_not_deprecated(subject, today=date(2026, 4, 29))["deprecation_planned"]
        == "2026-04-30"
    )
    with pytest.raises(CheckFailed, match="deprecated since 2026-04-30"):
        preflight.runtime_not_deprecated(subject, today=date(2026, 4, 30))


def test_an_amazon_linux_2_runtime_has_no_date_to_fail_on() -> None:
    # AWS kept patching python3.11 past AL2's end of life (2026-06-30) and published no new date.
    found = preflight.runtime_not_deprecated(_function("python3.11"), today=date(2026, 12, 2))
    assert "no date published" in found["note"]


def test_runtime_no_lambda_knows_fails_and_none_declared_is_not_applicable() -> None:
    with pytest.raises(CheckFailed, match="no Lambda runtime"):
        preflight.runtime_not_deprecated(_function("python9.9"), today=date(2026, 12, 2))
    with pytest.raises(NotApplicable, match="container image"):
        preflight.runtime_not_deprecated(_function(None))


# ---------------------------------------------------------------- secret rotation


def _secret(**rotation: Any) -> DeclaredSubject:
    resources: dict[str, Any] = {
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "db"}},
        "Rotation": {
            "Type": "AWS::SecretsManager::RotationSchedule",
            "Properties": {"SecretId": {"Ref": "Secret"}, **rotation},
        },
        "Rotator": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.12"}},
    }
    return _subject(resources, "Secret")


def test_rotation_without_a_function_fails_and_with_one_passes(moto_client: Callable[[str], Any]) -> None:
    rules = {"RotationRules": {"ScheduleExpression": "rate(30 days)"}}
    with pytest.raises(CheckFailed, match="no function to rotate with"):
        preflight.rotation_has_function(None, _secret(**rules))
    hosted = _secret(**rules, HostedRotationLambda={"RotationType": "PostgreSQLSingleUser"})
    assert (
        preflight.rotation_has_function(None, hosted)["rotation_function"] == "hosted: PostgreSQLSingleUser"
    )
    own = _secret(**rules, RotationLambdaARN={"Fn::GetAtt": ["Rotator", "Arn"]})
    assert preflight.rotation_has_function(None, own)["function"] == "the template's own Rotator"
    missing = _secret(**rules, RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:nope")
    with pytest.raises(CheckFailed, match=r"rotation function .*nope.*expected it to exist"):
        preflight.rotation_has_function(moto_client("lambda"), missing)


def test_no_rotation_declared_is_not_applicable() -> None:
    with pytest.raises(NotApplicable, match="declares no rotation"):
        preflight.rotation_has_function(None, _secret())


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("resource_type", "prop", "name", "why"),
    [
        ("AWS::DynamoDB::Table", "TableName", "raw table!", "may not hold"),
        ("AWS::DynamoDB::Table", "TableName", "ab", "2 characters"),
        ("AWS::SQS::Queue", "QueueName", "q" * 81, "81 characters"),
        ("AWS::S3::Bucket", "BucketName", "My_Bucket", "may not hold"),
        ("AWS::S3::Bucket", "BucketName", "data..bucket", "two adjacent periods"),
        ("AWS::S3::Bucket", "BucketName", "xn--data", "reserved prefix"),
        ("AWS::Lambda::Function", "FunctionName", "f" * 65, "65 characters"),
        ("AWS::Logs::LogGroup", "LogGroupName", "/aws/lambda/fn two?", "may not hold"),
        ("AWS::Kinesis::Stream", "Name", "events stream", "may not hold"),
        ("AWS::RDS::DBInstance", "DBInstanceIdentifier", "1platform", "begin with a letter"),
        ("AWS::RDS::DBInstance", "DBInstanceIdentifier", "platform--db", "two consecutive hyphens"),
        ("AWS::ElastiCache::ReplicationGroup", "ReplicationGroupId", "c" * 41, "41 characters"),
        ("AWS::ElastiCache::CacheCluster", "ClusterName", "cache-", "end with a hyphen"),
        ("AWS::SecretsManager::Secret", "Name", "db credentials", "may not hold"),
    ],
)
def test_a_name_breaking_its_rule_fails_naming_the_rule(
    resource_type: str, prop: str, name: str, why: str
) -> None:
    with pytest.raises(CheckFailed) as failed:
        preflight.names_fit(_template({"R": {"Type": resource_type, "Properties": {prop: name}}}))
    assert why in str(failed.value) and "[R]" in str(failed.value)


def test_fifo_queues_need_the_suffix_and_only_they_may_have_it() -> None:
    def queue(name: str, fifo: bool | None) -> dict[str, Any]:
        props: dict[str, Any] = {"QueueName": name} | ({"FifoQueue": fifo} if fifo is not None else {})
        return {"Q": {"Type": "AWS::SQS::Queue", "Properties": props}}

    assert preflight.names_fit(_template(queue("ingest.fifo", True)))["names_checked"] == 1
    assert preflight.names_fit(_template(queue("ingest", None)))["names_checked"] == 1
    with pytest.raises(CheckFailed, match=r"must end with '\.fifo'"):
        preflight.names_fit(_template(queue("ingest", True)))
    with pytest.raises(CheckFailed, match="only a FIFO queue"):
        preflight.names_fit(_template(queue("ingest.fifo", None)))


def test_healthy_names_pass_unknown_ones_are_said_and_none_is_not_applicable() -> None:
    healthy = {
        "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "raw-sensor-data-dev"}},
        "B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "data-${AWS::Region}"}}},
        "S": {"Type": "AWS::Kinesis::Stream", "Properties": {"Name": {"Fn::Sub": "${Env}-events"}}},
    }
    found = preflight.names_fit(_template(healthy))
    assert found["names_checked"] == 2  # the bucket's name resolves with the region asked about
    assert len(found["left_to_deploy_time"]) == 1 and "Env" in found["left_to_deploy_time"][0]
    with pytest.raises(VerifyError, match="left to deploy time"):
        preflight.names_fit(_template({"S": healthy["S"]}))
    with pytest.raises(NotApplicable, match="declares no names"):
        preflight.names_fit(_template({"K": {"Type": "AWS::KMS::Key", "Properties": {}}}))


# ---------------------------------------------------------------- the plan


def test_the_plan_asks_per_declared_resource_and_once_for_the_names() -> None:
    intent = declared_intent(
        parse_document(
            {
                "Resources": {
                    **_db(EngineVersion="15.10"),
                    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.12"}},
                }
            },
            "t.json",
        ),
        None,
        "us-east-1",
    )
    ids = [spec.id for spec in plan_preflight(intent, "us-east-1")]
    assert ids == [
        "suites/preflight.py::test_rds_engine_version_offered[Db]",
        "suites/preflight.py::test_rds_instance_class_orderable[Db]",
        "suites/preflight.py::test_lambda_runtime_not_deprecated[Fn]",
        "suites/preflight.py::test_names_fit_aws_rules",
    ]
    assert [s.id for s in plan_preflight(intent, "us-east-1", keyword="runtime")] == [ids[2]]
