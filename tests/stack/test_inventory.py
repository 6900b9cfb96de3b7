"""Inventory: every fixture's `discover --json` exactly, the key-convention table, overrides, regions."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from verify.errors import ConfigError
from verify.stack.inventory import (
    KINDS,
    ROLES,
    Inventory,
    Resource,
    build_inventory,
    classify,
    infer_region,
    resolve_ambiguous,
)
from verify.stack.outputs import load_outputs, parse_outputs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "outputs"
FIXTURE_FILES = sorted(p.name for p in FIXTURES.glob("*.json"))

# CONTRACT.md's vocabulary, copied on purpose: changing it must be a deliberate, visible edit.
CONTRACT_KINDS = [
    *("api", "dynamodb_table", "sqs_queue", "sns_topic", "kinesis_stream", "rds_instance", "rds_cluster"),
    *("lambda_function", "log_group", "secret", "ssm_parameter", "s3_bucket", "ecs_cluster", "ecs_service"),
    *(
        "elasticache",
        "efs_filesystem",
        "vpc",
        "subnet",
        "security_group",
        "kms_key",
        "alarm",
        "state_machine",
    ),
    *("event_bus", "iam_role", "scalar", "unknown"),
]


def test_vocabulary_matches_the_contract() -> None:
    assert list(KINDS) == CONTRACT_KINDS
    assert ROLES == ("raw", "processed", "dlq")


def test_every_fixture_has_an_expectation() -> None:
    expected = sorted(p.name for p in (FIXTURES / "expected").glob("*.json"))
    assert expected == FIXTURE_FILES
    assert len(FIXTURE_FILES) >= 10


@pytest.mark.parametrize("fixture", FIXTURE_FILES)
def test_discover_json_matches_the_expectation(fixture: str) -> None:
    inventory = build_inventory(load_outputs(FIXTURES / fixture))
    expected = json.loads((FIXTURES / "expected" / fixture).read_text(encoding="utf-8"))
    assert inventory.to_json() == expected
    for resource in inventory.resources:
        assert resource.kind in KINDS
        assert resource.role in (*ROLES, None)


# (key, value, kind, role, name): the conventions seen in the wild, one row each.
CONVENTIONS: list[tuple[str, str, str, str | None, str]] = [
    # PascalCase (CDK, CloudFormation)
    ("RawSensorTableName", "raw-sensor-data-dev", "dynamodb_table", "raw", "raw-sensor-data-dev"),
    ("ProcessedDataTableName", "processed-data-dev", "dynamodb_table", "processed", "processed-data-dev"),
    ("EnrichedEventsTable", "events-enriched", "dynamodb_table", "processed", "events-enriched"),
    ("DdbTableArn", "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "dynamodb_table", None, "orders"),
    (
        "IngestQueueUrl",
        "https://sqs.us-east-1.amazonaws.com/123456789012/ingest-q",
        "sqs_queue",
        "raw",
        "ingest-q",
    ),
    ("DLQUrl", "https://sqs.us-east-1.amazonaws.com/123456789012/q-dlq", "sqs_queue", "dlq", "q-dlq"),
    ("DeadLetterQueueName", "orders-failures", "sqs_queue", "dlq", "orders-failures"),
    ("FailureQueueName", "orders-dead-letter", "sqs_queue", "dlq", "orders-dead-letter"),
    ("AlertsTopicArn", "arn:aws:sns:us-east-1:123456789012:alerts", "sns_topic", None, "alerts"),
    ("Alerts", "ops-alerts-dev", "sns_topic", None, "ops-alerts-dev"),
    ("ProcessorFunctionName", "iot-processor-dev", "lambda_function", None, "iot-processor-dev"),
    ("ProcessorFunctionLogGroupName", "/aws/lambda/x", "log_group", None, "/aws/lambda/x"),
    ("DbSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", "secret", None, "db"),
    ("ConfigParameterName", "/iot/dev/config", "ssm_parameter", None, "/iot/dev/config"),
    ("S3BucketName", "landing-zone-123", "s3_bucket", "raw", "landing-zone-123"),
    ("EcsClusterName", "platform", "ecs_cluster", None, "platform"),
    ("EcsServiceName", "web", "ecs_service", None, "web"),
    ("RedisEndpoint", "my-cache.abc123.0001.use1.cache.amazonaws.com:6379", "elasticache", None, "my-cache"),
    ("RedisClusterId", "sessions", "elasticache", None, "sessions"),
    ("SharedFileSystemId", "fs-0123456789abcdef0", "efs_filesystem", None, "fs-0123456789abcdef0"),
    ("VpcId", "vpc-0a1b2c3d", "vpc", None, "vpc-0a1b2c3d"),
    ("PrivateSubnet1Id", "subnet-0a1b2c3d", "subnet", None, "subnet-0a1b2c3d"),
    ("AppSecurityGroupId", "sg-0a1b2c3d", "security_group", None, "sg-0a1b2c3d"),
    (
        "KmsKeyId",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "kms_key",
        None,
        "1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    ("ErrorAlarmName", "processor-errors", "alarm", None, "processor-errors"),
    (
        "StepFunctionArn",
        "arn:aws:states:us-east-1:123456789012:stateMachine:flow",
        "state_machine",
        None,
        "flow",
    ),
    ("EventBusName", "platform-bus", "event_bus", None, "platform-bus"),
    ("LambdaRoleArn", "arn:aws:iam::123456789012:role/service-role/fn-role", "iam_role", None, "fn-role"),
    ("DatabaseEndpoint", "app.c1x2.eu-west-1.rds.amazonaws.com:5432", "rds_instance", None, "app"),
    ("DbClusterEndpoint", "app.cluster-c1x2.eu-west-1.rds.amazonaws.com", "rds_cluster", None, "app"),
    ("AuroraClusterIdentifier", "aurora-1", "rds_cluster", None, "aurora-1"),
    ("PostgresInstanceId", "pg-main", "rds_instance", None, "pg-main"),
    ("SharedEfsDns", "fs-0abc1234.efs.us-west-2.amazonaws.com", "efs_filesystem", None, "fs-0abc1234"),
    ("HttpApiId", "a1b2c3d4e5", "api", None, "a1b2c3d4e5"),
    # CDK construct-hash suffixes and cross-stack export names
    (
        "ApiEndpoint760E02C8",
        "https://abc123.execute-api.us-east-1.amazonaws.com/prod/",
        "api",
        None,
        "abc123",
    ),
    ("RawTableNameC4A1F2B9", "raw", "dynamodb_table", "raw", "raw"),
    ("ExportsOutputRefAlertsTopicD1E2F3A4", "arn:aws:sns:us-east-1:123456789012:t", "sns_topic", None, "t"),
    # snake_case (Terraform)
    ("raw_sensor_table_name", "raw-sensor", "dynamodb_table", "raw", "raw-sensor"),
    ("processing_queue_url", "https://sqs.us-west-2.amazonaws.com/123456789012/p", "sqs_queue", None, "p"),
    ("dlq_arn", "arn:aws:sqs:us-west-2:123456789012:p-dlq", "sqs_queue", "dlq", "p-dlq"),
    ("kinesis_stream_name", "events", "kinesis_stream", None, "events"),
    ("processor_lambda_name", "proc", "lambda_function", None, "proc"),
    ("processor_log_group", "/aws/lambda/proc", "log_group", None, "/aws/lambda/proc"),
    ("ssm_parameter_path", "/app/x", "ssm_parameter", None, "/app/x"),
    ("archive_bucket", "arch", "s3_bucket", None, "arch"),
    ("curated_bucket_arn", "arn:aws:s3:::curated-data", "s3_bucket", "processed", "curated-data"),
    ("security_group_ids", "sg-0a1b2c3d", "security_group", None, "sg-0a1b2c3d"),
    ("state_machine_arn", "arn:aws:states:us-west-2:123456789012:stateMachine:m", "state_machine", None, "m"),
    # camelCase (Pulumi)
    ("rawEventsTableName", "raw-events-1", "dynamodb_table", "raw", "raw-events-1"),
    ("curatedEventsTableName", "curated-1", "dynamodb_table", "processed", "curated-1"),
    ("deadLetterQueueArn", "arn:aws:sqs:ca-central-1:123456789012:dlq-1", "sqs_queue", "dlq", "dlq-1"),
    (
        "transformFunctionArn",
        "arn:aws:lambda:ca-central-1:123456789012:function:t:live",
        "lambda_function",
        None,
        "t",
    ),
    ("dbClusterIdentifier", "c-1", "rds_cluster", None, "c-1"),
    ("landingBucketName", "land-1", "s3_bucket", "raw", "land-1"),
    # environment suffixes inside keys
    ("KinesisStreamNamedev", "events-dev", "kinesis_stream", None, "events-dev"),
    ("RawTableName-prod", "raw-prod", "dynamodb_table", "raw", "raw-prod"),
    ("queue_url_staging", "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "sqs_queue", None, "q"),
    ("TopicArnProd", "arn:aws:sns:eu-west-1:123456789012:t", "sns_topic", None, "t"),
    ("ApiUrl-pr123", "https://x1.execute-api.us-west-2.amazonaws.com/", "api", None, "x1"),
    ("table_name_qa", "tbl", "dynamodb_table", None, "tbl"),
    ("OrdersQueueNameuat", "orders-uat", "sqs_queue", None, "orders-uat"),
    # LocalStack and other emulators
    ("QueueUrl", "http://localhost:4566/000000000000/ingest-local", "sqs_queue", "raw", "ingest-local"),
    (
        "OutputQueue",
        "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/out",
        "sqs_queue",
        "processed",
        "out",
    ),
    ("WorkQueue", "http://127.0.0.1:5000/123456789012/work", "sqs_queue", None, "work"),
    ("Api", "https://abc9.execute-api.localhost.localstack.cloud:4566/dev/", "api", None, "abc9"),
    ("InvokeUrl", "http://localhost:4566/restapis/abc9/dev/_user_request_/", "api", None, "abc9"),
    ("SandboxApiUrl", "http://127.0.0.1:8719/", "api", None, "127.0.0.1:8719"),
    ("ServiceEndpoint", "https://internal.example.com/v1", "api", None, "internal.example.com"),
    ("MessagesQueue", "http://localhost:9324/queue/messages", "sqs_queue", None, "messages"),
    # plain settings
    ("DbPort", "5432", "scalar", None, "5432"),
    ("ApiStage", "prod", "scalar", None, "prod"),
    ("ApiStageName", "v1", "scalar", None, "v1"),
    ("Region", "us-east-1", "scalar", None, "us-east-1"),
    ("DeployedTo", "eu-central-1", "scalar", None, "eu-central-1"),
    ("Environment", "staging", "scalar", None, "staging"),
    ("AccountId", "123456789012", "scalar", None, "123456789012"),
    ("RetentionDays", "30", "scalar", None, "30"),
    ("TracingEnabled", "true", "scalar", None, "true"),
    ("DbInstanceClass", "db.t4g.micro", "scalar", None, "db.t4g.micro"),
    ("VpcCidr", "10.0.0.0/16", "scalar", None, "10.0.0.0/16"),
    ("db_password", "hunter2", "scalar", None, "hunter2"),
    ("DatabaseName", "iot", "scalar", None, "iot"),
    ("db_name", "app", "scalar", None, "app"),
    ("DatabaseInstanceIdentifier", "iot-db-dev", "rds_instance", None, "iot-db-dev"),
    # nothing to go on
    ("ClusterName", "main", "unknown", None, "main"),
    ("Website", "https://example.com", "unknown", None, "https://example.com"),
    ("Something", "some-name", "unknown", None, "some-name"),
    ("InstanceId", "i-0123456789abcdef0", "unknown", None, "i-0123456789abcdef0"),
    (
        "UserPoolArn",
        "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc",
        "unknown",
        None,
        "userpool/us-east-1_abc",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "kind", "role", "name"), CONVENTIONS, ids=[c[0] for c in CONVENTIONS]
)
def test_key_conventions(key: str, value: str, kind: str, role: str | None, name: str) -> None:
    resource = classify(key, value)
    assert (resource.kind, resource.role, resource.name) == (kind, role, name)
    assert (resource.key, resource.value) == (key, value)


@pytest.mark.parametrize(
    ("value", "kind", "name", "region", "account"),
    [
        ("arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000", "dynamodb_table", "t",
         "us-east-1", "123456789012"),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/t/index/by-date", "dynamodb_table", "t", "us-east-1",
         "123456789012"),
        ("arn:aws-cn:sqs:cn-north-1:123456789012:q", "sqs_queue", "q", "cn-north-1", "123456789012"),
        ("arn:aws-us-gov:sns:us-gov-west-1:123456789012:t", "sns_topic", "t", "us-gov-west-1", "123456789012"),
        ("arn:aws:kinesis:eu-west-1:123456789012:stream/s", "kinesis_stream", "s", "eu-west-1", "123456789012"),
        ("arn:aws:rds:eu-west-1:123456789012:db:mydb", "rds_instance", "mydb", "eu-west-1", "123456789012"),
        ("arn:aws:rds:eu-west-1:123456789012:cluster:myc", "rds_cluster", "myc", "eu-west-1", "123456789012"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:fn:$LATEST", "lambda_function", "fn", "eu-west-1",
         "123456789012"),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/fn:*", "log_group", "/aws/lambda/fn",
         "eu-west-1", "123456789012"),
        ("arn:aws:logs:eu-west-1:123456789012:log-group:app", "log_group", "app", "eu-west-1", "123456789012"),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/creds-a1B2c3", "secret", "db/creds", "eu-west-1",
         "123456789012"),
        ("arn:aws:ssm:eu-west-1:123456789012:parameter/app/dev/x", "ssm_parameter", "/app/dev/x", "eu-west-1",
         "123456789012"),
        ("arn:aws:ssm:eu-west-1:123456789012:parameter/flat", "ssm_parameter", "flat", "eu-west-1", "123456789012"),
        ("arn:aws:s3:::my-bucket", "s3_bucket", "my-bucket", None, None),
        ("arn:aws:s3:::my-bucket/prefix/*", "s3_bucket", "my-bucket", None, None),
        ("arn:aws:ecs:eu-west-1:123456789012:cluster/c", "ecs_cluster", "c", "eu-west-1", "123456789012"),
        ("arn:aws:ecs:eu-west-1:123456789012:service/c/web", "ecs_service", "web", "eu-west-1", "123456789012"),
        ("arn:aws:ecs:eu-west-1:123456789012:service/old-style", "ecs_service", "old-style", "eu-west-1",
         "123456789012"),
        ("arn:aws:elasticache:eu-west-1:123456789012:cluster:cc", "elasticache", "cc", "eu-west-1", "123456789012"),
        ("arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:rg", "elasticache", "rg", "eu-west-1",
         "123456789012"),
        ("arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0abc", "efs_filesystem", "fs-0abc",
         "eu-west-1", "123456789012"),
        ("arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0abc", "vpc", "vpc-0abc", "eu-west-1", "123456789012"),
        ("arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0abc", "subnet", "subnet-0abc", "eu-west-1",
         "123456789012"),
        ("arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc", "security_group", "sg-0abc", "eu-west-1",
         "123456789012"),
        ("arn:aws:kms:eu-west-1:123456789012:key/k-1", "kms_key", "k-1", "eu-west-1", "123456789012"),
        ("arn:aws:kms:eu-west-1:123456789012:alias/app", "kms_key", "alias/app", "eu-west-1", "123456789012"),
        ("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:high-errors", "alarm", "high-errors", "eu-west-1",
         "123456789012"),
        ("arn:aws:states:eu-west-1:123456789012:stateMachine:sm", "state_machine", "sm", "eu-west-1",
         "123456789012"),
        ("arn:aws:events:eu-west-1:123456789012:event-bus/bus", "event_bus", "bus", "eu-west-1", "123456789012"),
        ("arn:aws:iam::123456789012:role/r", "iam_role", "r", None, "123456789012"),
        ("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/GET/items", "api", "a1b2c3", "eu-west-1",
         "123456789012"),
        ("arn:aws:apigateway:eu-west-1::/restapis/a1b2c3", "api", "a1b2c3", "eu-west-1", None),
    ],
)  # fmt: skip
def test_arns_name_their_resource(
    value: str, kind: str, name: str, region: str | None, account: str | None
) -> None:
    resource = classify("Output", value)
    assert (resource.kind, resource.name, resource.region, resource.account) == (kind, name, region, account)
    assert resource.arn == value


def test_urls_are_kept_for_api_and_sqs() -> None:
    api = classify("ApiUrl", "https://abc.execute-api.us-east-1.amazonaws.com/prod/")
    queue = classify("Q", "https://sqs.us-east-1.amazonaws.com/123456789012/q")
    legacy = classify("Q", "https://queue.amazonaws.com/123456789012/legacy")
    assert api.url == "https://abc.execute-api.us-east-1.amazonaws.com/prod/"
    assert (queue.url, queue.account, queue.region) == (queue.value, "123456789012", "us-east-1")
    assert (legacy.kind, legacy.name, legacy.region) == ("sqs_queue", "legacy", None)


def test_classify_never_reads_the_secret_as_a_name_in_json() -> None:
    resource = classify("db_password", "hunter2")
    assert resource.sensitive
    assert resource.to_json() == {
        "key": "db_password",
        "keys": ["db_password"],
        "value": "***",
        "kind": "scalar",
        "name": "***",
        "role": None,
        "found_via": "output",
    }


def test_terraform_sensitive_output_is_masked_in_discover_json() -> None:
    inventory = build_inventory(load_outputs(FIXTURES / "pipeline-terraform.json"))
    shown = json.dumps(inventory.to_json())
    assert "s3cr3t-Pa55word!" not in shown
    masked = [r for r in inventory.to_json()["resources"] if r["key"] == "db_password"]  # type: ignore[union-attr]
    assert masked == [
        {
            "key": "db_password",
            "keys": ["db_password"],
            "value": "***",
            "kind": "scalar",
            "name": "***",
            "role": None,
            "found_via": "output",
        }
    ]


def test_sensitive_flag_of_the_output_reaches_every_item() -> None:
    outputs = parse_outputs({"conn": {"value": ["h1:1", "h2:2"], "sensitive": True}}, "tf.json")
    inventory = build_inventory(outputs)
    assert [r.sensitive for r in inventory.resources] == [True, True]
    assert all(r.to_json()["value"] == "***" for r in inventory.resources)


# ----------------------------------------------------------------------------- building


def test_one_resource_per_item_and_missing_listed() -> None:
    inventory = build_inventory(load_outputs(FIXTURES / "lists-and-placeholders.json"))
    subnets = [r for r in inventory.resources if r.key == "PrivateSubnetIds"]
    assert [r.name for r in subnets] == ["subnet-0a1b2c3d4e5f60789", "subnet-0f9e8d7c6b5a40312"]
    assert [o.key for o in inventory.missing][:3] == [
        "DeadLetterQueueUrl",
        "AlertsTopicArn",
        "ArchiveBucketName",
    ]
    assert "DeadLetterQueueUrl" not in {r.key for r in inventory.resources}
    assert inventory.source.endswith("lists-and-placeholders.json")


def test_overrides_win_over_inference() -> None:
    outputs = parse_outputs(
        {
            "MainStore": "orders-v2",
            "Feed": "https://sqs.us-east-1.amazonaws.com/123456789012/feed",
            "RawTableName": "t1",
            "Other": "x",
        },
        "f.json",
    )
    overrides = {
        "MainStore": {"kind": "dynamodb_table", "role": "processed"},
        "Feed": {"role": "raw", "name": "feed-renamed"},
        "RawTableName": {"role": "none"},
        "NotInTheOutputs": {"kind": "sqs_queue"},
    }
    inventory = build_inventory(outputs, overrides=overrides)
    shown = {r.key: (r.kind, r.role, r.name) for r in inventory.resources}
    assert shown == {
        "MainStore": ("dynamodb_table", "processed", "orders-v2"),
        "Feed": ("sqs_queue", "raw", "feed-renamed"),
        "RawTableName": ("dynamodb_table", None, "t1"),
        "Other": ("unknown", None, "x"),
    }


def test_override_kind_rederives_the_name_from_a_url() -> None:
    outputs = parse_outputs({"Thing": "http://emulator:9999/000000000000/jobs"}, "f.json")
    inventory = build_inventory(outputs, overrides={"Thing": {"kind": "sqs_queue"}})
    (resource,) = inventory.resources
    assert (resource.kind, resource.name, resource.url) == ("sqs_queue", "jobs", resource.value)


def test_override_matches_a_key_without_its_cdk_hash() -> None:
    outputs = parse_outputs({"StoreName760E02C8": "orders"}, "f.json")
    inventory = build_inventory(outputs, overrides={"StoreName": {"kind": "dynamodb_table", "role": "raw"}})
    assert (inventory.resources[0].kind, inventory.resources[0].role) == ("dynamodb_table", "raw")


@pytest.mark.parametrize(
    ("override", "fragment"),
    [({"kind": "database"}, "kind 'database'"), ({"role": "primary"}, "role 'primary'")],
)
def test_bad_override_is_a_config_error(override: dict[str, str], fragment: str) -> None:
    outputs = parse_outputs({"K": "v"}, "f.json")
    with pytest.raises(ConfigError) as caught:
        build_inventory(outputs, overrides={"K": override})
    assert fragment in str(caught.value) and "'K'" in str(caught.value)


def _resource(region: str | None) -> Resource:
    return Resource(key="k", value="v", kind="unknown", name="v", role=None, region=region)


@pytest.mark.parametrize(
    ("regions", "expected"),
    [
        (["eu-west-1", "us-east-1", "us-east-1"], "us-east-1"),
        (["eu-west-1", "us-east-1"], "eu-west-1"),
        ([None, None], None),
        ([], None),
        ([None, "ap-south-1"], "ap-south-1"),
    ],
)
def test_infer_region(regions: list[str | None], expected: str | None) -> None:
    assert infer_region(_resource(r) for r in regions) == expected


def test_explicit_region_wins_and_inference_uses_arns_and_urls() -> None:
    outputs = load_outputs(FIXTURES / "pipeline-cdk.json")
    assert build_inventory(outputs).region == "eu-west-1"
    assert build_inventory(outputs, region="us-east-2").region == "us-east-2"
    assert build_inventory(parse_outputs({"TableName": "t"}, "f.json")).region is None


def _inventory(*resources: Resource) -> Inventory:
    return Inventory(region=None, resources=resources, missing=(), source="mem")


def test_one_and_of_kind() -> None:
    raw = classify("RawTableName", "raw-t")
    processed = classify("ProcessedTableName", "processed-t")
    plain = classify("AuditTableName", "audit-t")
    queue = classify("QueueName", "q")
    inventory = _inventory(raw, processed, plain, queue)
    assert inventory.one("dynamodb_table", "processed") is processed
    assert inventory.one("dynamodb_table", "raw") is raw
    assert inventory.one("dynamodb_table") is plain
    assert inventory.one("sqs_queue", "dlq") is None
    assert inventory.one("sns_topic") is None
    assert _inventory(raw, processed).one("dynamodb_table") is raw
    assert inventory.of_kind("dynamodb_table", "sqs_queue") == [raw, processed, plain, queue]
    assert inventory.of_kind("vpc") == []


# ----------------------------------------------------------------------------- resolving unknowns


class FakeClient:
    def __init__(self, answers: dict[str, Any], calls: list[str]) -> None:
        self.answers = answers
        self.calls = calls

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append(f"{name}:{next(iter(kwargs.values()))}")
            answer = self.answers.get(name)
            if isinstance(answer, Exception):
                raise answer
            if answer is None:
                raise RuntimeError("ResourceNotFoundException")
            return answer

        return call


def test_resolve_ambiguous_first_service_that_knows_wins() -> None:
    calls: list[str] = []
    clients = {
        "dynamodb": FakeClient({"describe_table": RuntimeError("not found")}, calls),
        "sqs": FakeClient({"get_queue_url": {"QueueUrl": "https://sqs.x/1/jobs"}}, calls),
        "kinesis": FakeClient({"describe_stream_summary": {}}, calls),
    }
    inventory = _inventory(classify("Thing", "jobs"), classify("RawTableName", "t"))
    resolved = resolve_ambiguous(inventory, clients.__getitem__)
    assert (resolved.resources[0].kind, resolved.resources[0].url) == ("sqs_queue", "https://sqs.x/1/jobs")
    assert resolved.resources[1] == inventory.resources[1]
    assert calls == ["describe_table:jobs", "get_queue_url:jobs"]


def test_resolve_ambiguous_leaves_unknown_on_any_error() -> None:
    def no_clients(service: str) -> Any:
        raise RuntimeError(f"no credentials for {service}")

    inventory = _inventory(classify("Thing", "jobs"))
    assert resolve_ambiguous(inventory, no_clients).resources[0].kind == "unknown"


def test_resolve_ambiguous_respects_its_budget_and_skips_secrets() -> None:
    calls: list[str] = []
    ticks = itertools.chain([0.0, 1.0, 1.0], itertools.repeat(10.0))  # deadline 5.0: only the first fits
    inventory = _inventory(classify("Thing", "jobs"), classify("Other", "more"))
    client = FakeClient({"describe_table": {"Table": {}}}, calls)
    resolved = resolve_ambiguous(inventory, lambda _s: client, budget_s=5.0, clock=lambda: next(ticks))
    assert [r.kind for r in resolved.resources] == ["dynamodb_table", "unknown"]
    secret = _inventory(
        Resource(key="Opaque", value="abc", kind="unknown", name="abc", role=None, sensitive=True)
    )
    resolve_ambiguous(secret, lambda _s: client)
    assert calls == ["describe_table:jobs"]
