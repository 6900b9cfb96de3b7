"""CloudFormation's answer to `DescribeStackResources(PhysicalResourceId=...)`, as AWS gives it, on moto's data.

moto ignores `PhysicalResourceId` (it looks up a stack named None and answers "Stack with id None does
not exist" whatever the id). AWS's API reference says what the call does: "If PhysicalResourceId is
specified, the associated resources of the stack that the resource belongs to are returned", and a
physical id no stack holds is `ValidationError` "Stack for <id> does not exist". `answer_as_aws`
puts that behaviour in front of moto: it finds the stack holding the id among moto's own stacks
(ListStacks, ListStackResources) and lets moto answer the same call by that stack's name; else it
answers AWS's error. Discovery's requests are otherwise sent, counted and guarded as ever.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import botocore.handlers
import pytest
from botocore.awsrequest import AWSResponse

EVENT = "before-send.cloudformation.DescribeStackResources"


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _unmanaged(url: str, physical_id: str) -> AWSResponse:
    xml = (
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error>'
        f"<Type>Sender</Type><Code>ValidationError</Code><Message>Stack for {physical_id} does not exist"
        "</Message></Error><RequestId>0d1c2b3a</RequestId></ErrorResponse>"
    )
    return AWSResponse(url, 400, {}, _Body(xml.encode()))


def _owner(region: str, physical_id: str) -> str | None:
    plain = boto3.client("cloudformation", region_name=region)  # type: ignore[call-overload]
    for summary in plain.list_stacks()["StackSummaries"]:
        if summary["StackStatus"].startswith("DELETE_"):
            continue
        rows = plain.list_stack_resources(StackName=summary["StackName"])["StackResourceSummaries"]
        if any(r.get("PhysicalResourceId") == physical_id for r in rows):
            return str(summary["StackName"])
    return None


def _by_physical_id(request: Any, **_: Any) -> AWSResponse | None:
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
    params = parse_qs(body, keep_blank_values=True)
    physical_id = params.pop("PhysicalResourceId", [None])[0]
    if physical_id is None:
        return None  # by StackName: moto answers as it is
    host = urlsplit(request.url).hostname or ""
    region = host.split(".")[1] if host.startswith("cloudformation.") else "us-east-1"
    owner = _owner(region, physical_id)
    if owner is None:
        return _unmanaged(request.url, physical_id)
    params["StackName"] = [owner]
    request.body = urlencode(params, doseq=True).encode()
    request.headers["Content-Length"] = str(len(request.body))
    return None


def answer_as_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every botocore session made from now on (each `Aws`) gets AWS's answer to a physical-id lookup."""
    monkeypatch.setattr(
        botocore.handlers, "BUILTIN_HANDLERS", [*botocore.handlers.BUILTIN_HANDLERS, (EVENT, _by_physical_id)]
    )
