"""The read-only guard: which AWS operations only read, and the refusal of any other in smoke mode.

`Aws` hangs `refuse_write` on botocore's `before-parameter-build` event, which fires before a request
is even serialized: a refused write never leaves the process.
"""

from __future__ import annotations

from typing import Any

from verify.errors import ReadOnlyViolation
from verify.redact import REDACTOR

READ_PREFIXES = (
    "Describe",
    "Get",
    "List",
    "Query",
    "Scan",
    "BatchGet",
    "Head",
    "Select",
    "Search",
    "Lookup",
    "Filter",
    "Check",
    "Test",
    "Validate",
)
# Named like reads but they run the stack's code or move its data: TestInvokeMethod calls the
# integration (a Lambda that writes), TestState can call real service integrations.
_NOT_READS = frozenset(
    {
        ("apigateway", "TestInvokeMethod"),
        ("apigateway", "TestInvokeAuthorizer"),
        ("stepfunctions", "TestState"),
    }
)
# Reads whose names do not say so: a Logs Insights query changes nothing in the stack.
_EXTRA_READS = frozenset({("logs", "StartQuery"), ("logs", "StopQuery")})

# Parameters that name the resource an operation acts on, for the read-only refusal message.
_RESOURCE_PARAMS = (
    "TableName",
    "QueueUrl",
    "StreamName",
    "StreamARN",
    "TopicArn",
    "FunctionName",
    "Bucket",
    "SecretId",
    "Name",
    "logGroupName",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "stateMachineArn",
    "ResourceArn",
)


def is_read_operation(service: str, operation: str) -> bool:
    """Whether `operation` of `service` only reads (safe in smoke mode).

    A prefix counts only at a word boundary, so `CheckoutLicense` is not a `Check`. Receiving is
    not reading: SQS `ReceiveMessage` hides messages from the stack's own consumers.
    """
    key = (service.lower(), operation)
    if key in _NOT_READS:
        return False
    if key in _EXTRA_READS:
        return True
    for prefix in READ_PREFIXES:
        if operation.startswith(prefix):
            rest = operation[len(prefix) :]
            if not rest or rest[0].isupper():
                return True
    return False


def refuse_write(params: dict[str, Any], model: Any) -> None:
    """`ReadOnlyViolation` unless the operation `model` names only reads; says which resource it spared."""
    service = model.service_model.service_name
    if is_read_operation(service, model.name):
        return
    target = next((str(params[p]) for p in _RESOURCE_PARAMS if params.get(p)), "")
    on = f" on {REDACTOR.redact(target)}" if target else ""
    raise ReadOnlyViolation(
        f"read-only mode: refused {service} {model.name}{on} (smoke mode never writes to the stack)"
    )
