"""The tagged reading is sampled (issue 15, finding 4): its request says `Sampled=1`, and the flow's
other requests (unsigned, wrong secret, malformed, the query) say `Sampled=0`, so under X-Ray's default
rule (the first request each second, then 5 %) none of them takes the reading's sample."""

from __future__ import annotations

import boto3
import pytest
from botocore.credentials import Credentials

from tests.helpers.cli import create_flow_tables, header_listener
from tests.helpers.moto import MOTO_REGION
from verify.aws.client import Aws
from verify.aws.http import SignedHttp, sampling_decision
from verify.config.settings import Config
from verify.errors import CheckFailed, VerifyError
from verify.scenario.flow import Flow
from verify.stack.inventory import build_inventory
from verify.stack.outputs import parse_outputs


def _ingest_api() -> str:
    client = boto3.client("apigateway", region_name=MOTO_REGION)
    api_id = str(client.create_rest_api(name="pipeline-api")["id"])
    root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    ingest = client.create_resource(restApiId=api_id, parentId=root, pathPart="ingest")["id"]
    client.put_method(restApiId=api_id, resourceId=ingest, httpMethod="POST", authorizationType="AWS_IAM")
    return api_id


def test_only_the_reading_takes_a_sample(aws_mock: None) -> None:
    create_flow_tables(MOTO_REGION, "raw-data", "processed-data")
    api_id = _ingest_api()
    with header_listener() as server:  # answers 200 {} to everything: the negatives fail, no matter
        outputs = parse_outputs(
            {
                "ApiEndpoint": f"{server.base}/dev/",
                "ApiId": api_id,
                "RawSensorTableName": "raw-data",
                "ProcessedDataTableName": "processed-data",
            },
            "test.json",
        )
        flow = Flow(
            aws=Aws(MOTO_REGION),
            http=SignedHttp(Credentials("testing", "testing"), MOTO_REGION),
            inventory=build_inventory(outputs),
            config=Config(),
            run_id="vfy-test-sampling",
            timeout=0.5,
        )
        flow.ingest()
        for how in ("unsigned", "wrong_secret"):
            with pytest.raises(CheckFailed):
                flow.rejects(how)
        with pytest.raises(CheckFailed):
            flow.malformed_not_stored()
        flow.passed["processed"] = True  # let the query ask (once; nothing will be found)
        with pytest.raises((CheckFailed, VerifyError)):
            flow.query()
    decisions = [sampling_decision(seen.get("x-amzn-trace-id")) for seen in server.seen]
    assert decisions[0] == "1", "the tagged reading's request must carry Sampled=1"
    assert len(decisions) >= 5
    assert set(decisions[1:]) == {"0"}, decisions
    assert "authorization" not in server.seen[1]  # the unsigned probe, in the order sent
