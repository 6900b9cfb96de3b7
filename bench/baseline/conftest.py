"""Fixtures of the hand-written baseline suite: what a team's conftest.py for this pipeline holds today.

One boto3 session, one client per service and one ingested reading, all module-scoped; the API is
called with requests, signed by botocore's SigV4Auth. Configuration comes from the environment:
BENCH_OUTPUTS (the stack's flat outputs), BENCH_POLL_S (sleep between polls), BENCH_DEADLINE_S
(how long one wait may take).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

SignedCall = Callable[..., requests.Response]


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    path = Path(os.environ.get("BENCH_OUTPUTS", "cfn-outputs/flat-outputs.json"))
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@pytest.fixture(scope="module")
def session(outputs: dict[str, Any]) -> boto3.session.Session:
    return boto3.session.Session(region_name=outputs.get("Region") or None)


@pytest.fixture(scope="module")
def dynamodb(session: boto3.session.Session) -> Any:
    return session.client("dynamodb")


@pytest.fixture(scope="module")
def sqs(session: boto3.session.Session) -> Any:
    return session.client("sqs")


@pytest.fixture(scope="module")
def xray(session: boto3.session.Session) -> Any:
    return session.client("xray")


@pytest.fixture(scope="module")
def logs(session: boto3.session.Session) -> Any:
    return session.client("logs")


@pytest.fixture(scope="module")
def api(outputs: dict[str, Any]) -> str:
    url = str(outputs["ApiEndpoint"])
    return url if url.endswith("/") else url + "/"


@pytest.fixture(scope="module")
def signed(session: boto3.session.Session) -> Iterator[SignedCall]:
    """requests with a SigV4 signature for execute-api, as the snippets in the AWS docs do it."""
    http = requests.Session()
    credentials = session.get_credentials()
    assert credentials is not None, "no AWS credentials: source the sandbox's env or set a profile"
    region = session.region_name

    def call(method: str, url: str, body: str | None = None, sign: bool = True) -> requests.Response:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if sign:
            request = AWSRequest(method=method, url=url, data=body, headers=headers)
            SigV4Auth(credentials, "execute-api", region).add_auth(request)
            headers = dict(request.headers.items())
        return http.request(method, url, data=body, headers=headers, timeout=10)

    yield call
    http.close()


def _delete_marker_items(dynamodb: Any, table: str, marker: str) -> None:
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression="sensorId = :m",
        ExpressionAttributeValues={":m": {"S": marker}},
        ConsistentRead=True,
    )["Items"]
    for item in items:
        dynamodb.delete_item(
            TableName=table, Key={"sensorId": item["sensorId"], "timestamp": item["timestamp"]}
        )


@pytest.fixture(scope="module")
def reading(outputs: dict[str, Any], api: str, signed: SignedCall, dynamodb: Any) -> Iterator[dict[str, Any]]:
    """One reading posted to /ingest, keyed by this run's marker; its items are deleted afterwards."""
    marker = f"bench-{uuid.uuid4()}"
    payload = {
        "sensorId": marker,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "temperature": 21.5,
    }
    sent_ms = int(time.time() * 1000)
    response = signed("POST", api + "ingest", json.dumps(payload))
    yield {"marker": marker, "payload": payload, "response": response, "sent_ms": sent_ms}
    for key in ("RawSensorTableName", "ProcessedDataTableName"):
        _delete_marker_items(dynamodb, outputs[key], marker)
