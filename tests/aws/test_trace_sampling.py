"""The trace header carries the sampling decision (issue 15, finding 4): `Sampled=1` only when asked
for, `Sampled=0` on every other request, so no probe is left to X-Ray's sampling rules."""

from __future__ import annotations

from botocore.credentials import Credentials

from tests.helpers.cli import header_listener
from verify.aws.http import SignedHttp, sampling_decision, trace_header


def test_a_request_asked_to_be_sampled_says_sampled_1_and_every_other_says_0() -> None:
    http = SignedHttp(Credentials("testing", "testing"), "us-east-1")
    with header_listener() as server:
        http.request("POST", f"{server.base}/dev/ingest", json_body={"a": 1}, sampled=True)
        http.request("POST", f"{server.base}/dev/ingest", json_body={"a": 1}, sign=False)
        http.request("GET", f"{server.base}/dev/health")
    decisions = [sampling_decision(seen["x-amzn-trace-id"]) for seen in server.seen]
    assert decisions == ["1", "0", "0"]
    assert all(seen["x-amzn-trace-id"].startswith("Root=1-") for seen in server.seen)


def test_a_callers_own_trace_header_is_sent_as_it_is() -> None:
    http = SignedHttp(Credentials("testing", "testing"), "us-east-1")
    mine = "Root=1-5f84c7a1-abcdefabcdefabcdefabcdef"
    with header_listener() as server:
        answer = http.request("GET", f"{server.base}/x", headers={"X-Amzn-Trace-Id": mine}, sampled=True)
    assert server.seen[0]["x-amzn-trace-id"] == mine
    assert answer.trace_id == "1-5f84c7a1-abcdefabcdefabcdefabcdef"


def test_the_header_and_its_decision_read_back() -> None:
    assert trace_header("1-a-b", sampled=True) == "Root=1-a-b;Sampled=1"
    assert sampling_decision("Root=1-a-b;Parent=c;Sampled=0") == "0"
    assert sampling_decision("Root=1-a-b") is None
