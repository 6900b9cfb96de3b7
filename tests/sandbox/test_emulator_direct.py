"""The sandbox's own AWS calls reach moto without a socket, and answer as they did over HTTP.

`Emulator.connect` hands a boto3 client's requests straight to the emulator's WSGI app (through the
fault middleware); the harness's calls still come over HTTP. Each emulator of a process shares one
moto dispatcher, and moto's KMS keys share their key material (`verify.sandbox.emulator.server`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from verify.sandbox.emulator.context import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from verify.sandbox.emulator.server import AwsRequest, Emulator
from verify.sandbox.manager import _LIVE, _LIVE_LOCK, _reset_moto

pytestmark = pytest.mark.sandbox
# moto's state is the process's, and a sandbox of another test may be alive in it: names of our own.
RUN = uuid.uuid4().hex[:8]


def _client(emulator: Emulator, service: str) -> object:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
        with _LIVE_LOCK:  # moto's state is the process's: wiped as a sandbox's stop wipes it
            if not _LIVE:
                _reset_moto()


def test_a_connected_client_needs_no_socket_and_an_unconnected_one_does(emulator: Emulator) -> None:
    direct = emulator.connect(_client(emulator, "sqs"))
    over_http = _client(emulator, "sqs")
    url = direct.create_queue(QueueName=f"direct-q-{RUN}")["QueueUrl"]
    assert over_http.get_queue_url(QueueName=f"direct-q-{RUN}")["QueueUrl"] == url  # one moto behind both
    emulator.stop()  # no server listens any more
    direct.send_message(QueueUrl=url, MessageBody="still answered")
    assert direct.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ] == {"ApproximateNumberOfMessages": "1"}
    unreachable = boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=boto3.session.Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(EndpointConnectionError):
        unreachable.list_queues()


def test_every_protocol_answers_directly_as_over_http_errors_included(emulator: Emulator) -> None:
    ddb = emulator.connect(_client(emulator, "dynamodb"))  # JSON
    ddb.create_table(
        TableName=f"direct-t-{RUN}",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=f"direct-t-{RUN}", Item={"id": {"S": "a/b c"}, "n": {"N": "1"}})
    assert ddb.get_item(TableName=f"direct-t-{RUN}", Key={"id": {"S": "a/b c"}})["Item"]["n"] == {"N": "1"}
    with pytest.raises(ClientError) as missing:
        ddb.describe_table(TableName="no-such-table")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    ssm = emulator.connect(_client(emulator, "ssm"))  # JSON, a path-like name
    ssm.put_parameter(Name=f"/direct/{RUN}/a-b", Value="v", Type="String")
    assert _client(emulator, "ssm").get_parameter(Name=f"/direct/{RUN}/a-b")["Parameter"]["Value"] == "v"

    logs = emulator.connect(_client(emulator, "logs"))
    logs.create_log_group(logGroupName=f"/aws/lambda/direct-{RUN}")
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/direct-{RUN}")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [f"/aws/lambda/direct-{RUN}"]

    apigw = emulator.connect(_client(emulator, "apigateway"))  # REST-JSON, ids in the path
    api = apigw.create_rest_api(name=f"direct-api-{RUN}")["id"]
    assert apigw.get_rest_api(restApiId=api)["name"] == f"direct-api-{RUN}"
    with pytest.raises(ClientError) as gone:
        apigw.get_rest_api(restApiId="nope123")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    iam = emulator.connect(_client(emulator, "iam"))  # query protocol, XML
    role = iam.create_role(
        RoleName=f"direct-role-{RUN}", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )
    assert role["Role"]["RoleName"] == f"direct-role-{RUN}"


def test_direct_calls_pass_the_fault_middleware(emulator: Emulator) -> None:
    seen: list[str] = []

    def deny(request: AwsRequest) -> tuple[int, dict[str, str], bytes] | None:
        seen.append(request.operation)
        body = json.dumps({"__type": "AccessDeniedException", "message": "sandbox says no"}).encode()
        return 400, {"Content-Type": "application/x-amz-json-1.0"}, body

    emulator.middleware.intercept("dynamodb", "ListTables", deny)
    ddb = emulator.connect(_client(emulator, "dynamodb"))
    with pytest.raises(ClientError) as denied:
        ddb.list_tables()
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert seen == ["ListTables"]


def test_emulators_of_a_process_share_one_moto_dispatcher(emulator: Emulator) -> None:
    other = Emulator()
    assert other.middleware._app is emulator.middleware._app


def test_kms_keys_share_key_material_and_still_sign_and_verify(emulator: Emulator) -> None:
    kms = emulator.connect(_client(emulator, "kms"))
    first = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    second = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert first != second
    assert kms.get_public_key(KeyId=first)["PublicKey"] == kms.get_public_key(KeyId=second)["PublicKey"]
    signature = kms.sign(KeyId=first, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    assert kms.verify(KeyId=second, Message=b"m", Signature=signature, SigningAlgorithm="RSASSA_PSS_SHA_256")[
        "SignatureValid"
    ]
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=symmetric, Plaintext=b"secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
