"""A CloudFormation stack's resource list as a discovery source (`verify.stack.walk` asks, this says what).

Two ways to the list, both read-only:
- `--stack NAME`: the rows `DescribeStackResources` / `ListStackResources` gave when the outputs were
  read (`verify.stack.live`), on the inventory already: no call of its own;
- an outputs file: `DescribeStackResources(PhysicalResourceId=...)` with the physical id of one named
  resource returns the resources of the stack it belongs to, in one call (AWS's API reference:
  "If PhysicalResourceId is specified, the associated resources of the stack that the resource belongs
  to are returned"). A resource no stack manages answers `ValidationError` "Stack for ... does not
  exist": a Terraform or hand-made stack, said in a note. At most `MAX_LOOKUPS` named resources are
  asked, on discovery's call budget.

Each row whose type maps to a kind verify checks (`KIND_OF_TYPE`) becomes an inventory resource,
found via "CloudFormation stack NAME", unless it is one already there (an output names it, or the
wiring reached it first: the stack is then one more relationship said on it). A nested stack's own
resources are not read (a note says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from verify.stack.kinds import Kind
from verify.stack.outputs import StackResource
from verify.stack.resources import Resource

READ_OPERATIONS = frozenset(
    {("cloudformation", "describe_stack_resources"), ("cloudformation", "list_stack_resources")}
)
# DescribeStackResources returns at most 100 rows: a full answer may hold back the rest, which only
# ListStackResources (paged) gives.
DESCRIBE_CAP = 100
MAX_LOOKUPS = 2

# Resource type -> kind. The physical id CloudFormation gives each is what an output would name it
# by: a name, an id, an ARN (SNS, Secrets Manager, Step Functions, ECS services), a URL (SQS).
KIND_OF_TYPE: dict[str, Kind] = {
    "AWS::DynamoDB::Table": Kind.DYNAMODB_TABLE,
    "AWS::DynamoDB::GlobalTable": Kind.DYNAMODB_TABLE,
    "AWS::SQS::Queue": Kind.SQS_QUEUE,
    "AWS::SNS::Topic": Kind.SNS_TOPIC,
    "AWS::Lambda::Function": Kind.LAMBDA_FUNCTION,
    "AWS::Logs::LogGroup": Kind.LOG_GROUP,
    "AWS::Kinesis::Stream": Kind.KINESIS_STREAM,
    "AWS::ApiGateway::RestApi": Kind.API,
    "AWS::ApiGatewayV2::Api": Kind.API,
    "AWS::RDS::DBInstance": Kind.RDS_INSTANCE,
    "AWS::RDS::DBCluster": Kind.RDS_CLUSTER,
    "AWS::ElastiCache::ReplicationGroup": Kind.ELASTICACHE,
    "AWS::ElastiCache::CacheCluster": Kind.ELASTICACHE,
    "AWS::ElastiCache::ServerlessCache": Kind.ELASTICACHE,
    "AWS::SecretsManager::Secret": Kind.SECRET,
    "AWS::SSM::Parameter": Kind.SSM_PARAMETER,
    "AWS::S3::Bucket": Kind.S3_BUCKET,
    "AWS::ECS::Cluster": Kind.ECS_CLUSTER,
    "AWS::ECS::Service": Kind.ECS_SERVICE,
    "AWS::EFS::FileSystem": Kind.EFS_FILESYSTEM,
    "AWS::EC2::VPC": Kind.VPC,
    "AWS::EC2::Subnet": Kind.SUBNET,
    "AWS::EC2::SecurityGroup": Kind.SECURITY_GROUP,
    "AWS::KMS::Key": Kind.KMS_KEY,
    "AWS::CloudWatch::Alarm": Kind.ALARM,
    "AWS::StepFunctions::StateMachine": Kind.STATE_MACHINE,
    "AWS::Events::EventBus": Kind.EVENT_BUS,
    "AWS::IAM::Role": Kind.IAM_ROLE,
}
NESTED_STACK = "AWS::CloudFormation::Stack"

# Which named resources to ask CloudFormation about, most certain first: kinds whose physical id is
# what the output gives (a table's or function's name, a queue's URL, a topic's ARN).
_LOOKUP_ORDER = (
    Kind.DYNAMODB_TABLE,
    Kind.LAMBDA_FUNCTION,
    Kind.SQS_QUEUE,
    Kind.KINESIS_STREAM,
    Kind.SNS_TOPIC,
    Kind.S3_BUCKET,
    Kind.STATE_MACHINE,
)


@dataclass(frozen=True)
class Listed:
    """What a stack's rows give discovery: each resource verify checks, and what it cannot follow."""

    resources: tuple[tuple[str, Kind], ...]  # (physical id, kind), in the stack's order
    nested: tuple[str, ...]  # logical ids of nested stacks (their resources are not read)


def listed(rows: Iterable[StackResource]) -> Listed:
    """The rows verify checks, as (physical id, kind); deleted or never-created ones left out."""
    resources: list[tuple[str, Kind]] = []
    nested: list[str] = []
    for row in rows:
        # A failed creation has no physical id; a deleted one (kept 90 days) names nothing deployed.
        if not row.physical_id or row.status.startswith("DELETE_") or row.status == "CREATE_FAILED":
            continue
        if row.resource_type == NESTED_STACK:
            nested.append(row.logical_id)
        elif (kind := KIND_OF_TYPE.get(row.resource_type)) is not None:
            resources.append((row.physical_id, kind))
    return Listed(tuple(resources), tuple(nested))


def physical_id(resource: Resource) -> str | None:
    """The physical id CloudFormation would know `resource` by, when its kind says it for certain."""
    if resource.sensitive or resource.discovered:
        return None
    if resource.kind in (Kind.DYNAMODB_TABLE, Kind.LAMBDA_FUNCTION, Kind.KINESIS_STREAM, Kind.S3_BUCKET):
        return resource.name
    if resource.kind == Kind.SQS_QUEUE:
        return resource.url  # a queue's physical id is its URL; a queue named by ARN alone is not asked
    if resource.kind in (Kind.SNS_TOPIC, Kind.STATE_MACHINE):
        return resource.arn
    return None


def lookups(resources: Iterable[Resource]) -> list[tuple[Resource, str]]:
    """Up to `MAX_LOOKUPS` output-named resources (and their physical ids) to ask the stack of: of
    different kinds where it can, so that a stack mixing managed and unmanaged resources is found."""
    order = [str(k) for k in _LOOKUP_ORDER]
    candidates = sorted(
        ((r, pid) for r in resources if (pid := physical_id(r))), key=lambda c: order.index(c[0].kind)
    )
    first_of_kind = list({c[0].kind: c for c in reversed(candidates)}.values())[::-1]
    rest = [c for c in candidates if c not in first_of_kind]
    return (first_of_kind + rest)[:MAX_LOOKUPS]


def is_unmanaged(code: str, message: str) -> bool:
    """AWS's answer for a physical id no stack holds: `ValidationError` "Stack for X does not exist"."""
    return code == "ValidationError" and "does not exist" in message


def row(answer: dict[str, object]) -> StackResource:
    """A `StackResource` from one entry of DescribeStackResources or ListStackResources."""
    return StackResource(
        str(answer.get("LogicalResourceId", "")),
        str(answer.get("PhysicalResourceId", "") or ""),
        str(answer.get("ResourceType", "")),
        str(answer.get("ResourceStatus", "")),
    )
