"""RDS's and ElastiCache's catalogue answers in front of moto, for the in-process preflight tests.

moto does not implement DescribeDBEngineVersions or DescribeCacheEngineVersions, and answers
DescribeOrderableDBInstanceOptions for Aurora PostgreSQL and Neptune only. The sandbox answers them
(`verify.sandbox.platform.engine_versions`, `.offerings`); `answer_catalogues` puts those same
answers in front of in-process moto, on botocore's before-call event, for every session made after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.handlers
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

from verify.sandbox.emulator.server import AwsRequest, Response
from verify.sandbox.platform import engine_versions, offerings


def _answering(service: str, operation: str, answer: Callable[[AwsRequest], Response]) -> Any:
    # before-call, not before-send: every before-send handler runs, and moto's raises
    # NotImplementedError for these operations; a before-call answer skips the send altogether.
    def handler(model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        body = params.get("body")  # the query protocol's serialized form: {"Engine": "postgres", ...}
        query = {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        status, headers, content = answer(AwsRequest(service, operation, b"", query))
        parsed = create_parser("query").parse(
            {"body": content, "headers": headers, "status_code": status}, model.output_shape
        )
        if status >= 400:
            raise ClientError(parsed, operation)
        return AWSResponse("", status, headers, None), parsed

    return (f"before-call.{service}.{operation}", handler)


def answer_catalogues(monkeypatch: pytest.MonkeyPatch, region: str = "us-east-1") -> None:
    handlers = [
        _answering("rds", "DescribeDBEngineVersions", engine_versions.describe_db_engine_versions),
        _answering(
            "rds", "DescribeOrderableDBInstanceOptions", lambda r: offerings.describe_orderable(r, region)
        ),
        _answering("elasticache", "DescribeCacheEngineVersions", offerings.describe_cache_engine_versions),
    ]
    monkeypatch.setattr(
        botocore.handlers, "BUILTIN_HANDLERS", [*botocore.handlers.BUILTIN_HANDLERS, *handlers]
    )
