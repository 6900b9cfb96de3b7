"""The reference API refuses every badly signed call with 403, and every malformed reading with 400."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests_aws4auth import AWS4Auth

from tests.helpers.sandbox import Stack, reading
from verify.sandbox.emulator.context import ACCESS_KEY_ID, SECRET_ACCESS_KEY

pytestmark = pytest.mark.sandbox

Tamper = Callable[[Stack], requests.PreparedRequest]


def _signed(
    stack: Stack, auth: AWS4Auth, payload: dict[str, object] | None = None
) -> requests.PreparedRequest:
    request = requests.Request("POST", stack.api + "ingest", data=json.dumps(payload or reading()).encode())
    return auth(request.prepare())  # type: ignore[no-any-return]


def unsigned(stack: Stack) -> requests.PreparedRequest:
    return requests.Request("POST", stack.api + "ingest", data=json.dumps(reading())).prepare()


def wrong_key(stack: Stack) -> requests.PreparedRequest:
    return _signed(stack, AWS4Auth("AKIAUNKNOWNKEY000000", SECRET_ACCESS_KEY, "us-east-1", "execute-api"))


def wrong_secret(stack: Stack) -> requests.PreparedRequest:
    return _signed(stack, AWS4Auth(ACCESS_KEY_ID, "not-the-secret", "us-east-1", "execute-api"))


def wrong_region(stack: Stack) -> requests.PreparedRequest:
    return _signed(stack, AWS4Auth(ACCESS_KEY_ID, SECRET_ACCESS_KEY, "eu-west-1", "execute-api"))


def wrong_service(stack: Stack) -> requests.PreparedRequest:
    return _signed(stack, AWS4Auth(ACCESS_KEY_ID, SECRET_ACCESS_KEY, "us-east-1", "lambda"))


def stale_date(stack: Stack) -> requests.PreparedRequest:
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)).strftime("%Y%m%dT%H%M%SZ")
    request = requests.Request(
        "POST", stack.api + "ingest", data=json.dumps(reading()), headers={"x-amz-date": old}
    )
    return stack.auth(request.prepare())  # type: ignore[no-any-return]


def tampered_body(stack: Stack) -> requests.PreparedRequest:
    prepared = _signed(stack, stack.auth, reading(temperature=21))
    assert isinstance(prepared.body, bytes)
    prepared.body = prepared.body.replace(b'"temperature": 21', b'"temperature": 99')
    return prepared


def tampered_body_without_hash_header(stack: Stack) -> requests.PreparedRequest:
    # botocore signs execute-api calls without x-amz-content-sha256: only the signature can tell.
    body = json.dumps(reading(temperature=21)).encode()
    aws_request = AWSRequest(method="POST", url=stack.api + "ingest", data=body)
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "execute-api", "us-east-1").add_auth(aws_request)
    headers = dict(aws_request.headers.items())
    tampered = body.replace(b'"temperature": 21', b'"temperature": 99')
    return requests.Request("POST", stack.api + "ingest", data=tampered, headers=headers).prepare()


def tampered_query(stack: Stack) -> requests.PreparedRequest:
    request = requests.Request("GET", stack.api + "query", params={"sensorId": "sensor-a"})
    prepared: requests.PreparedRequest = stack.auth(request.prepare())
    prepared.url = str(prepared.url).replace("sensor-a", "sensor-b")
    return prepared


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (unsigned, "Missing Authentication Token"),
        (wrong_key, "unknown access key"),
        (wrong_secret, "signature mismatch"),
        (wrong_region, "region mismatch"),
        (wrong_service, "service mismatch"),
        (stale_date, "too old"),
        (tampered_body, "body hash mismatch"),
        (tampered_body_without_hash_header, "signature mismatch"),
        (tampered_query, "signature mismatch"),
    ],
)
def test_badly_signed_calls_are_refused(tamper: Tamper, reason: str, healthy: Stack) -> None:
    prepared = tamper(healthy)
    answer = healthy.http.send(prepared)
    assert answer.status_code == 403, answer.text
    assert reason in answer.json()["message"]
    assert SECRET_ACCESS_KEY not in answer.text
    if prepared.method == "POST":
        sensor = json.loads(prepared.body or b"{}")["sensorId"]
        assert healthy.item("RawSensorTableName", sensor, "2024-05-01T12:00:00Z") is None


def test_the_same_call_signed_properly_passes(healthy: Stack) -> None:
    assert healthy.http.send(_signed(healthy, healthy.auth)).status_code == 200
    request = requests.Request("GET", healthy.api + "query", params={"sensorId": "sensor-a"})
    assert healthy.http.send(healthy.auth(request.prepare())).status_code == 200


def test_unknown_route_and_wrong_stage_look_like_api_gateway(healthy: Stack) -> None:
    for url in (
        healthy.api + "nowhere",
        healthy.api.replace(f"/{healthy.outputs['ApiStageName']}/", "/prod/"),
    ):
        answer = healthy.http.get(url, auth=healthy.auth)
        assert answer.status_code == 403
        assert answer.json() == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    "body",
    [
        b"not json {",
        b"[1, 2, 3]",
        b'{"timestamp": "2024-05-01T12:00:00Z", "temperature": 20, "marker": "MARK"}',
        b'{"sensorId": "MARK", "timestamp": "last tuesday", "temperature": 20}',
        b'{"sensorId": "MARK", "timestamp": "2024-05-01T12:00:00Z", "temperature": "warm"}',
        b'{"sensorId": "MARK", "timestamp": "2024-05-01T12:00:00Z", "temperature": true}',
        b'{"sensorId": "MARK", "timestamp": "2024-05-01T12:00:00Z"}',
        b"",
    ],
)
def test_malformed_readings_get_400_and_nothing_is_stored(body: bytes, healthy: Stack) -> None:
    # Tests of one process share the healthy sandbox one at a time, and only ingest writes raw items.
    def raw_count() -> int:
        return int(healthy.client("dynamodb").scan(TableName=healthy.outputs["RawSensorTableName"])["Count"])

    before = raw_count()
    answer = healthy.ingest(body.replace(b"MARK", reading()["sensorId"].encode()))
    assert answer.status_code == 400, answer.text
    assert "Invalid reading" in answer.json()["message"]
    assert raw_count() == before
