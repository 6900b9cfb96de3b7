"""Declared against live (verify/probes/declared.py, suites/test_intent.py): a live stack that differs
from what its template declares fails, naming the template and the logical id; what the template leaves
unknown is never compared; no template, or nothing declared, is not applicable.

The live stacks are moto's; the templates are written beside an outputs file, as a deploy leaves them,
and read through the run's own loader (`verify.intent.run`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from verify.errors import CheckFailed, NotApplicable
from verify.intent.run import RunIntent, load_run_intent
from verify.probes import declared as probe
from verify.stack.inventory import Inventory, build_inventory
from verify.stack.outputs import load_outputs

STACK = "TapStack"


@pytest.fixture(autouse=True)
def _in_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where the app is, as CI does: the template is named as the user would name it."""
    monkeypatch.chdir(tmp_path)


def _deployed(
    tmp_path: Path,
    resources: dict[str, Any],
    outputs: dict[str, tuple[str, str]],
    parameters: dict[str, Any] | None = None,
) -> tuple[RunIntent, Inventory]:
    """A CDK app's folder: cdk.out/TapStack.template.json (each output a `Ref` to its resource) and
    cfn-outputs/flat-outputs.json; the run's intent read from beside the outputs."""
    template_outputs = {key: {"Value": {"Ref": logical}} for key, (logical, _) in outputs.items()}
    template = {
        "Resources": {
            logical: {**body, "Metadata": {"aws:cdk:path": f"{STACK}/{logical}/Resource"}}
            for logical, body in resources.items()
        },
        "Outputs": template_outputs,
        "Parameters": {
            "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"},
            **(parameters or {}),
        },
    }
    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / f"{STACK}.template.json").write_text(json.dumps(template))
    (tmp_path / "cfn-outputs").mkdir()
    outputs_file = tmp_path / "cfn-outputs" / "flat-outputs.json"
    outputs_file.write_text(json.dumps({key: value for key, (_, value) in outputs.items()}))
    loaded = load_outputs(str(outputs_file))
    inventory = build_inventory(loaded, region="us-east-1")
    intent = load_run_intent(
        template=None,
        outputs=loaded,
        inventory=inventory,
        outputs_paths=[str(outputs_file)],
        stack=None,
        cloudformation=lambda: pytest.fail("no CloudFormation call for an outputs file"),
    )
    return intent, inventory


def _judged(intent: RunIntent, inventory: Inventory, key: str, live: probe.Reader) -> dict[str, Any]:
    resource = next(r for r in inventory.resources if r.key == key)
    declared = probe.declared_for(intent, resource, key)
    props = probe.properties(probe.declared_of(declared))
    verdict = probe.judge(props, live, inventory=inventory, siblings=probe.siblings(intent))
    return probe.conclude(key, resource.key, verdict)


def _cache(moto_client: Callable[[str], Any], transit: bool) -> Any:
    client = moto_client("elasticache")
    client.create_replication_group(
        ReplicationGroupId="platform-cache",
        ReplicationGroupDescription="cache",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=1,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=transit,
    )
    return client


CACHE_TEMPLATE = {
    "Cache1A2B3C4D": {
        "Type": "AWS::ElastiCache::ReplicationGroup",
        "Properties": {
            "ReplicationGroupId": "platform-cache",
            "ReplicationGroupDescription": "cache",
            "AtRestEncryptionEnabled": True,
            "TransitEncryptionEnabled": True,
        },
    }
}


def _cache_reader(client: Any, inventory: Inventory) -> probe.Reader:
    from verify.probes.elasticache import cache_for

    resource = next(r for r in inventory.resources if r.key == "RedisReplicationGroupId")
    return probe.elasticache_live(cache_for(client, resource, inventory).facts)


def test_cache_transit_declared_on_live_off_fails(tmp_path: Path, moto_client: Callable[[str], Any]) -> None:
    client = _cache(moto_client, transit=False)
    intent, inventory = _deployed(
        tmp_path, CACHE_TEMPLATE, {"RedisReplicationGroupId": ("Cache1A2B3C4D", "platform-cache")}
    )
    with pytest.raises(CheckFailed) as failed:
        _judged(intent, inventory, "RedisReplicationGroupId", _cache_reader(client, inventory))
    message = str(failed.value)
    assert (
        "declared `TransitEncryptionEnabled: true` in cdk.out/TapStack.template.json (Cache1A2B3C4D)"
        in message
    )
    assert "live: TransitEncryptionEnabled False" in message
    assert "expected" in message and "got" in message
    assert failed.value.expected == {"transit_encryption": "TransitEncryptionEnabled: true"}


def test_cache_as_declared_passes(tmp_path: Path, moto_client: Callable[[str], Any]) -> None:
    client = _cache(moto_client, transit=True)
    intent, inventory = _deployed(
        tmp_path, CACHE_TEMPLATE, {"RedisReplicationGroupId": ("Cache1A2B3C4D", "platform-cache")}
    )
    evidence = _judged(intent, inventory, "RedisReplicationGroupId", _cache_reader(client, inventory))
    assert set(evidence["as_declared"]) == {"transit_encryption", "at_rest_encryption"}


def _ecs(moto_client: Callable[[str], Any], desired: int) -> Any:
    client = moto_client("ecs")
    client.create_cluster(clusterName="platform")
    client.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": "python:3.11-slim", "memory": 128}]
    )
    client.create_service(
        cluster="platform", serviceName="platform-svc", taskDefinition="app", desiredCount=desired
    )
    return client


ECS_TEMPLATE = {
    "ClusterEB0386A7": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "platform"}},
    "Service9571FDD8": {
        "Type": "AWS::ECS::Service",
        "Properties": {
            "ServiceName": "platform-svc",
            "Cluster": {"Ref": "ClusterEB0386A7"},
            "DesiredCount": 2,
        },
    },
}
ECS_OUTPUTS = {
    "EcsClusterName": ("ClusterEB0386A7", "platform"),
    "EcsServiceName": ("Service9571FDD8", "platform-svc"),
}


@pytest.mark.parametrize(("desired", "fails"), [(1, True), (2, False)])
def test_ecs_desired_count_differs_fails(
    tmp_path: Path, moto_client: Callable[[str], Any], desired: int, fails: bool
) -> None:
    from verify.probes.ecs import describe_service

    client = _ecs(moto_client, desired)
    intent, inventory = _deployed(tmp_path, ECS_TEMPLATE, ECS_OUTPUTS)
    live = probe.ecs_live(describe_service(client, "platform", "platform-svc"))
    if not fails:
        assert _judged(intent, inventory, "EcsServiceName", live)["as_declared"] == {
            "desired_count": "desiredCount 2"
        }
        return
    with pytest.raises(
        CheckFailed, match=r"declared `DesiredCount: 2` in .*\(Service9571FDD8\), live: desiredCount 1"
    ):
        _judged(intent, inventory, "EcsServiceName", live)


@pytest.mark.parametrize(("encrypted", "fails"), [(False, True), (True, False)])
def test_efs_declared_encrypted_live_not_fails(
    tmp_path: Path, moto_client: Callable[[str], Any], encrypted: bool, fails: bool
) -> None:
    from verify.probes.efs import describe

    client = moto_client("efs")
    fs_id = client.create_file_system(CreationToken="t", Encrypted=encrypted)["FileSystemId"]
    template = {"FileSystem8A8E25C0": {"Type": "AWS::EFS::FileSystem", "Properties": {"Encrypted": True}}}
    intent, inventory = _deployed(tmp_path, template, {"EfsFileSystemId": ("FileSystem8A8E25C0", fs_id)})
    live = probe.efs_live(describe(client, fs_id))
    if not fails:
        assert "encrypted" in _judged(intent, inventory, "EfsFileSystemId", live)["as_declared"]
        return
    with pytest.raises(
        CheckFailed, match=r"declared `Encrypted: true` in .*\(FileSystem8A8E25C0\), live: Encrypted False"
    ):
        _judged(intent, inventory, "EfsFileSystemId", live)


TABLE = {
    "RawTable1A2B3C4D": {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": "raw-data",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {
                "SSEEnabled": True,
                "KMSMasterKeyId": {"Fn::GetAtt": ["DataKey7F3E2A1B", "Arn"]},
            },
        },
    },
    "DataKey7F3E2A1B": {"Type": "AWS::KMS::Key", "Properties": {}},
}


def _table(moto_client: Callable[[str], Any], pitr: bool) -> Any:
    client = moto_client("dynamodb")
    key = moto_client("kms").create_key()["KeyMetadata"]["Arn"]
    client.create_table(
        TableName="raw-data",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
    )
    client.update_continuous_backups(
        TableName="raw-data", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": pitr}
    )
    return client


def test_pitr_declared_and_off_fails_with_the_issue_sentence(
    tmp_path: Path, moto_client: Callable[[str], Any]
) -> None:
    client = _table(moto_client, pitr=False)
    intent, inventory = _deployed(tmp_path, TABLE, {"RawTableName": ("RawTable1A2B3C4D", "raw-data")})
    with pytest.raises(CheckFailed) as failed:
        _judged(intent, inventory, "RawTableName", probe.dynamodb_live(client, "raw-data"))
    assert (
        "declared `PointInTimeRecoveryEnabled: true` in cdk.out/TapStack.template.json (RawTable1A2B3C4D), "
        "live: DISABLED"
    ) in str(failed.value)
    # The key is a GetAtt no output settles: said, never compared (not a failure, not a pass).
    assert "sse_kms_key" in failed.value.evidence["not_compared"]
    assert "sse_kms_key" not in failed.value.expected


def test_pitr_as_declared_passes_and_the_unknown_key_is_said(
    tmp_path: Path, moto_client: Callable[[str], Any]
) -> None:
    client = _table(moto_client, pitr=True)
    intent, inventory = _deployed(tmp_path, TABLE, {"RawTableName": ("RawTable1A2B3C4D", "raw-data")})
    evidence = _judged(intent, inventory, "RawTableName", probe.dynamodb_live(client, "raw-data"))
    assert evidence["as_declared"]["pitr"] == "ENABLED"
    assert "unknown (Fn::GetAtt DataKey7F3E2A1B.Arn" in evidence["not_compared"]["sse_kms_key"]


def test_only_unknowns_declared_is_not_applicable_with_the_reason(tmp_path: Path) -> None:
    template = {
        "Stream1A2B3C4D": {
            "Type": "AWS::Kinesis::Stream",
            "Properties": {"Name": "s", "RetentionPeriodHours": {"Ref": "Retention"}},
        }
    }
    intent, inventory = _deployed(
        tmp_path, template, {"StreamName": ("Stream1A2B3C4D", "s")}, {"Retention": {"Type": "Number"}}
    )
    never = probe.Live(24, "24 hours")
    with pytest.raises(NotApplicable, match="a parameter"):
        _judged(intent, inventory, "StreamName", lambda name: never if name == "retention_hours" else None)


def test_no_template_beside_the_outputs_is_not_applicable(tmp_path: Path) -> None:
    outputs_file = tmp_path / "flat-outputs.json"
    outputs_file.write_text(json.dumps({"RawTableName": "raw-data"}))
    loaded = load_outputs(str(outputs_file))
    inventory = build_inventory(loaded, region="us-east-1")
    intent = load_run_intent(
        template=None,
        outputs=loaded,
        inventory=inventory,
        outputs_paths=[str(outputs_file)],
        stack=None,
        cloudformation=lambda: None,
    )
    resource = inventory.resources[0]
    with pytest.raises(
        NotApplicable, match=r"no template declares its intent .*no template was found beside"
    ):
        probe.declared_for(intent, resource, "table")


def test_a_resource_the_template_does_not_declare_is_left_to_the_posture_checks(tmp_path: Path) -> None:
    intent, _ = _deployed(tmp_path, TABLE, {"RawTableName": ("RawTable1A2B3C4D", "raw-data")})
    from verify.stack.outputs import parse_outputs

    other = build_inventory(parse_outputs({"OtherTableName": "other-table"}, "o.json"), region="us-east-1")
    with pytest.raises(NotApplicable, match=r"not declared in cdk\.out/TapStack\.template\.json"):
        probe.declared_for(intent, other.resources[0], "table")


@pytest.mark.parametrize(
    ("declared", "live_rules", "fails"),
    [
        ({"ScheduleExpression": "rate(30 days)"}, {"AutomaticallyAfterDays": 30}, False),
        ({"AutomaticallyAfterDays": 30}, {"ScheduleExpression": "rate(30 days)"}, False),
        ({"ScheduleExpression": "rate(720 hours)"}, {"AutomaticallyAfterDays": 30}, False),
        ({"ScheduleExpression": "rate(30 days)"}, {"AutomaticallyAfterDays": 90}, True),
    ],
)
def test_rotation_spellings_are_one_intent(
    tmp_path: Path, declared: dict[str, Any], live_rules: dict[str, Any], fails: bool
) -> None:
    template = {
        "Secret1A2B3C4D": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "db-creds"}},
        "SecretRotation5E6F7A8B": {
            "Type": "AWS::SecretsManager::RotationSchedule",
            "Properties": {"SecretId": {"Ref": "Secret1A2B3C4D"}, "RotationRules": declared},
        },
    }
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-creds-AbCdEf"
    intent, inventory = _deployed(tmp_path, template, {"DbSecretArn": ("Secret1A2B3C4D", arn)})
    live = probe.secret_live({"RotationEnabled": True, "RotationRules": live_rules})
    if fails:
        with pytest.raises(CheckFailed, match=r"\(SecretRotation5E6F7A8B\), live: 90 days"):
            _judged(intent, inventory, "DbSecretArn", live)
    else:
        assert _judged(intent, inventory, "DbSecretArn", live)["as_declared"]["rotation_days"].startswith(
            "30 days"
        )


@pytest.mark.parametrize(
    ("name", "declared", "live", "same"),
    [
        ("engine_version", "15", "15.7", True),
        ("engine_version", "15.3", "15.7", False),
        ("tracing", "Active", "ACTIVE", True),
        ("kms_key", "arn:aws:kms:us-east-1:1:key/abc", "abc", True),
        ("multi_az", True, False, False),
        ("timeout", 30, 30.0, True),
    ],
)
def test_equal_normalises_only_what_means_the_same(name: str, declared: Any, live: Any, same: bool) -> None:
    assert probe._equal(name, declared, live) is same


@pytest.mark.parametrize(
    ("live_function", "fails"), [("arn:aws:lambda:us-east-1:1:function:f", False), (None, True)]
)
def test_a_hosted_rotation_is_as_declared_with_any_function_and_not_without(
    tmp_path: Path, live_function: str | None, fails: bool
) -> None:
    """CloudFormation names a hosted rotation's function itself: any live function is the one asked
    for, and a rotation with none is not."""
    template = {
        "Secret1A2B3C4D": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "db-creds"}},
        "SecretRotation5E6F7A8B": {
            "Type": "AWS::SecretsManager::RotationSchedule",
            "Properties": {
                "SecretId": {"Ref": "Secret1A2B3C4D"},
                "HostedRotationLambda": {"RotationType": "PostgreSQLSingleUser"},
                "RotationRules": {"ScheduleExpression": "rate(30 days)"},
            },
        },
    }
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-creds-AbCdEf"
    intent, inventory = _deployed(tmp_path, template, {"DbSecretArn": ("Secret1A2B3C4D", arn)})
    described: dict[str, Any] = {"RotationEnabled": True, "RotationRules": {"AutomaticallyAfterDays": 30}}
    if live_function:
        described["RotationLambdaARN"] = live_function
    live = probe.secret_live(described)
    if fails:
        with pytest.raises(CheckFailed, match=r"HostedRotationLambda.*live: no rotation function"):
            _judged(intent, inventory, "DbSecretArn", live)
    else:
        assert (
            _judged(intent, inventory, "DbSecretArn", live)["as_declared"]["rotation_function"]
            == live_function
        )


@pytest.mark.parametrize(("redrives_to", "fails"), [("ingest-dlq", False), ("other-queue", True)])
def test_a_reference_is_judged_by_what_it_names(
    tmp_path: Path, moto_client: Callable[[str], Any], redrives_to: str, fails: bool
) -> None:
    """The template's DLQ is a GetAtt no output settles; the live redrive target must still be the
    queue that DLQ was mapped to -- not merely some queue."""
    from verify.probes.sqs import queue_facts

    client = moto_client("sqs")
    for name in ("ingest-dlq", "other-queue"):
        client.create_queue(QueueName=name)
    target = client.get_queue_attributes(
        QueueUrl=client.get_queue_url(QueueName=redrives_to)["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    url = client.create_queue(
        QueueName="ingest",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": 3})},
    )["QueueUrl"]
    template = {
        "IngestDlq1A2B3C4D": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "ingest-dlq"}},
        "IngestQueue5E6F7A8B": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": "ingest",
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["IngestDlq1A2B3C4D", "Arn"]},
                    "maxReceiveCount": 3,
                },
            },
        },
    }
    dlq_url = client.get_queue_url(QueueName="ingest-dlq")["QueueUrl"]
    intent, inventory = _deployed(
        tmp_path,
        template,
        {"IngestQueueUrl": ("IngestQueue5E6F7A8B", url), "IngestDlqUrl": ("IngestDlq1A2B3C4D", dlq_url)},
    )
    resource = next(r for r in inventory.resources if r.key == "IngestQueueUrl")
    live = probe.sqs_live(queue_facts(client, resource))
    if fails:
        with pytest.raises(
            CheckFailed,
            match=r"declared `deadLetterTargetArn: \{\"Fn::GetAtt\": \[\"IngestDlq1A2B3C4D\", \"Arn\"\]\}` in cdk\.out/TapStack\.template\.json \(IngestQueue5E6F7A8B\), live: arn:aws:sqs:.*:other-queue$",
        ):
            _judged(intent, inventory, "IngestQueueUrl", live)
    else:
        evidence = _judged(intent, inventory, "IngestQueueUrl", live)
        assert evidence["as_declared"]["redrive_target"].endswith("(the resource IngestDlq1A2B3C4D is)")


def test_ttl_and_stream_declared_and_absent_live_fail_each_named(
    tmp_path: Path, moto_client: Callable[[str], Any]
) -> None:
    client = moto_client("dynamodb")
    client.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    template = {
        "Events1A2B3C4D": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "events",
                "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
                "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            },
        }
    }
    intent, inventory = _deployed(tmp_path, template, {"EventsTableName": ("Events1A2B3C4D", "events")})
    with pytest.raises(CheckFailed) as failed:
        _judged(intent, inventory, "EventsTableName", probe.dynamodb_live(client, "events"))
    assert set(failed.value.expected) == {
        "ttl_enabled",
        "ttl_attribute",
        "stream_enabled",
        "stream_view_type",
    }
    assert "live: no stream" in str(failed.value) and "live: DISABLED" in str(failed.value)

    client.update_time_to_live(
        TableName="events", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
    client.update_table(
        TableName="events",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    evidence = _judged(intent, inventory, "EventsTableName", probe.dynamodb_live(client, "events"))
    assert set(evidence["as_declared"]) == {
        "ttl_enabled",
        "ttl_attribute",
        "stream_enabled",
        "stream_view_type",
    }


def test_two_templates_declaring_one_resource_are_not_chosen_between(tmp_path: Path) -> None:
    intent, _ = _deployed(tmp_path, TABLE, {"RawTableName": ("RawTable1A2B3C4D", "raw-data")})
    twice = RunIntent(intent.intents * 2, sources=intent.sources * 2)
    from verify.stack.outputs import parse_outputs

    inventory = build_inventory(parse_outputs({"RawTableName": "raw-data"}, "o.json"), region="us-east-1")
    with pytest.raises(NotApplicable, match="declared by several templates"):
        probe.declared_for(twice, inventory.resources[0], "table")


def test_an_unreadable_template_beside_the_outputs_is_could_not_verify(tmp_path: Path) -> None:
    from verify.errors import VerifyError

    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / "TapStack.template.json").write_text('{"Resources": {')
    outputs_file = tmp_path / "flat-outputs.json"
    outputs_file.write_text(json.dumps({"RawTableName": "raw-data"}))
    loaded = load_outputs(str(outputs_file))
    inventory = build_inventory(loaded, region="us-east-1")
    intent = load_run_intent(
        template=None,
        outputs=loaded,
        inventory=inventory,
        outputs_paths=[str(outputs_file)],
        stack=None,
        cloudformation=lambda: None,
    )
    assert "cdk.out/TapStack.template.json" in intent.broken
    with pytest.raises(VerifyError, match=r"could not be read: .*not valid JSON"):
        probe.declared_for(intent, inventory.resources[0], "table")


def test_a_stack_whose_template_cannot_be_read_is_could_not_verify(tmp_path: Path) -> None:
    from verify.errors import AwsAccessError
    from verify.stack.outputs import parse_outputs

    class Denied:
        def get_template(self, **_: Any) -> Any:
            raise AwsAccessError("cloudformation:GetTemplate was denied")

    outputs = parse_outputs({"RawTableName": "raw-data"}, "cloudformation:TapStack")
    inventory = build_inventory(outputs, region="us-east-1")
    intent = load_run_intent(
        template=None,
        outputs=outputs,
        inventory=inventory,
        outputs_paths=[],
        stack="TapStack",
        cloudformation=lambda: Denied(),
    )
    assert intent.broken.startswith("the template of stack TapStack could not be read")
