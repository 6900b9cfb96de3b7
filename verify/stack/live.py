"""Read a deployed stack's outputs and resources live from CloudFormation (`--stack NAME`).

Only read calls: DescribeStacks, DescribeStackResources and, for stacks past its 100-resource cap,
ListStackResources. A missing stack is the user's input problem (`OutputsError`); anything that keeps
us from asking is `AwsAccessError` naming the permission, so the CLI can exit 3 with one sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from verify.errors import AwsAccessError, OutputsError

# DescribeStackResources returns at most this many; a full page means there may be more.
_DESCRIBE_RESOURCES_CAP = 100

_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)

StackResourceRow = tuple[str, str, str, str]


def read_stack(
    stack_name: str, cloudformation: Any
) -> tuple[list[tuple[str, object]], list[StackResourceRow]]:
    """(output key, value) pairs and (logical id, physical id, type, status) rows of one stack."""
    region = _region(cloudformation)
    stacks: list[dict[str, Any]] = []
    with _aws_errors("DescribeStacks", stack_name, region):
        for page in cloudformation.get_paginator("describe_stacks").paginate(StackName=stack_name):
            stacks.extend(page.get("Stacks", []))
    if not stacks:
        raise OutputsError(_absent(stack_name, region))
    outputs = [(o["OutputKey"], o.get("OutputValue")) for o in stacks[0].get("Outputs", []) or []]
    return outputs, _resources(stack_name, cloudformation, region)


def _resources(stack_name: str, cloudformation: Any, region: str) -> list[StackResourceRow]:
    with _aws_errors("DescribeStackResources", stack_name, region):
        described = cloudformation.describe_stack_resources(StackName=stack_name).get("StackResources", [])
    if len(described) < _DESCRIBE_RESOURCES_CAP:
        return [_row(r) for r in described]
    rows: list[StackResourceRow] = []
    with _aws_errors("ListStackResources", stack_name, region):
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            rows.extend(_row(r) for r in page.get("StackResourceSummaries", []))
    return rows


def _row(resource: dict[str, Any]) -> StackResourceRow:
    return (
        str(resource.get("LogicalResourceId", "")),
        str(resource.get("PhysicalResourceId", "")),
        str(resource.get("ResourceType", "")),
        str(resource.get("ResourceStatus", "")),
    )


def _region(client: Any) -> str:
    meta = getattr(client, "meta", None)
    return str(getattr(meta, "region_name", None) or "the configured region")


def _absent(stack_name: str, region: str) -> str:
    return (
        f"CloudFormation stack {stack_name!r} does not exist in {region}; "
        "check --stack and --region (or AWS_REGION)."
    )


@contextmanager
def _aws_errors(operation: str, stack_name: str, region: str) -> Iterator[None]:
    """Turns botocore's exceptions from one CloudFormation call into the harness's error families."""
    permission = f"cloudformation:{operation}"
    try:
        yield
    except ClientError as exc:
        raise _client_error(exc, permission, stack_name, region) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise AwsAccessError(
            f"No AWS credentials were found to call {permission} on stack {stack_name!r}; "
            "configure AWS_PROFILE, SSO or environment credentials."
        ) from None
    except BotoCoreError as exc:
        raise AwsAccessError(
            f"Could not reach CloudFormation in {region} to call {permission} on stack {stack_name!r} "
            f"({type(exc).__name__}); check the network and AWS_ENDPOINT_URL."
        ) from None


def _client_error(exc: ClientError, permission: str, stack_name: str, region: str) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", ""))
    if code == "ValidationError" and "does not exist" in message:
        return OutputsError(_absent(stack_name, region))
    if code in _DENIED:
        return AwsAccessError(
            f"Permission {permission} was denied on stack {stack_name!r} in {region} ({code}); "
            "grant it to the identity running verify."
        )
    return AwsAccessError(
        f"CloudFormation {permission} failed on stack {stack_name!r} in {region} with {code}; "
        "nothing was verified."
    )
