"""Smoke probes: the freshness verdicts of a bounded scan, and the API answer rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed, VerifyError
from verify.probes import smoke

NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def ddb(moto_client: Callable[[str], Any]) -> Any:
    client = moto_client("dynamodb")
    client.create_table(
        TableName="processed",
        KeySchema=[{"AttributeName": "sensorId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sensorId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _put(client: Any, sensor: str, **attributes: dict[str, str]) -> None:
    client.put_item(TableName="processed", Item={"sensorId": {"S": sensor}, **attributes})


def test_parse_time_reads_iso_and_epoch_values() -> None:
    assert smoke.parse_time({"S": "2025-06-10T11:59:00Z"}) == NOW - dt.timedelta(minutes=1)
    assert smoke.parse_time({"N": str(int(NOW.timestamp() * 1000))}) == NOW
    assert smoke.parse_time({"N": str(int(NOW.timestamp()))}) == NOW
    assert smoke.parse_time({"N": "21.5"}) is None and smoke.parse_time({"S": "hot"}) is None


def test_recent_record_passes_and_old_whole_table_fails(ddb: Any) -> None:
    _put(ddb, "a", processedAt={"S": (NOW - dt.timedelta(seconds=30)).isoformat()})
    _put(ddb, "b", processedAt={"S": (NOW - dt.timedelta(days=2)).isoformat()})
    sample = smoke.sample_newest(ddb, "processed")
    assert sample.exhaustive and sample.items == 2
    assert smoke.check_fresh(sample, "processed", 3600, now=NOW)["age_s"] == 30
    with pytest.raises(
        CheckFailed, match=r"expected a processed record younger than 10 s .* got newest 30 s old"
    ):
        smoke.check_fresh(sample, "processed", 10, now=NOW)


def test_empty_table_fails_and_timeless_items_cannot_be_judged(ddb: Any) -> None:
    with pytest.raises(CheckFailed, match="got none: the table is empty"):
        smoke.check_fresh(smoke.sample_newest(ddb, "processed"), "processed", 3600, now=NOW)
    _put(ddb, "a", temperature={"N": "21.5"})
    with pytest.raises(VerifyError, match="carries a time attribute"):
        smoke.check_fresh(smoke.sample_newest(ddb, "processed"), "processed", 3600, now=NOW)


def test_an_old_sample_of_a_larger_table_is_never_a_verdict(ddb: Any) -> None:
    for n in range(5):
        _put(ddb, f"s{n}", timestamp={"N": str(int((NOW - dt.timedelta(days=1)).timestamp()))})
    sample = smoke.sample_newest(ddb, "processed", page_size=1, max_pages=2)
    assert not sample.exhaustive and sample.items == 2
    with pytest.raises(VerifyError, match="holds more than the sample") as caught:
        smoke.check_fresh(sample, "processed", 3600, now=NOW)
    assert not isinstance(caught.value, CheckFailed)


class _Http:
    def __init__(self, status: int) -> None:
        self.status = status
        self.signed: list[bool] = []

    def request(self, method: str, url: str, sign: bool = True) -> Any:
        from verify.aws.http import HttpResult

        self.signed.append(sign)
        return HttpResult(method, url, self.status, {}, b"{}", "{}", 0.01, None, None, False)


@pytest.mark.parametrize(
    ("status", "answers"), [(200, True), (400, True), (404, True), (403, False), (502, False)]
)
def test_a_signed_get_is_answered_unless_refused_or_broken(status: int, answers: bool) -> None:
    http: Any = _Http(status)
    if answers:
        assert smoke.check_answers(http, "https://api/dev/query")["status"] == status
    else:
        with pytest.raises(CheckFailed, match=f"expected an answer to a signed call .* got HTTP {status}"):
            smoke.check_answers(http, "https://api/dev/query")
    assert http.signed == [True]


def test_an_unsigned_get_must_be_refused() -> None:
    refused: Any = _Http(403)
    assert smoke.check_unsigned_rejected(refused, "https://api/dev/query").status == 403
    assert refused.signed == [False]
    with pytest.raises(CheckFailed, match="unsigned: expected 403, got HTTP 200"):
        smoke.check_unsigned_rejected(_Http(200), "https://api/dev/query")  # type: ignore[arg-type]


def test_get_paths_keeps_literal_get_resources() -> None:
    methods = [
        {"path": "/query", "method": "GET"},
        {"path": "/ingest", "method": "POST"},
        {"path": "/devices/{id}", "method": "GET"},
    ]
    assert smoke.get_paths(methods) == {"query"}
    assert smoke.api_url("http://h:1/dev", "/query") == "http://h:1/dev/query"


def test_verifys_own_records_are_never_the_newest(ddb: Any) -> None:
    # Issue 16, finding 5: a reading an interrupted run left behind turned a stale stack's smoke green.
    _put(ddb, "device-7", processedAt={"S": (NOW - dt.timedelta(days=2)).isoformat()})
    _put(ddb, "vfy-20260101T000000-abcdef12", processedAt={"S": (NOW - dt.timedelta(seconds=5)).isoformat()})
    sample = smoke.sample_newest(ddb, "processed")
    assert sample.items == 1 and sample.own == 1
    with pytest.raises(CheckFailed, match="got newest 172800 s old"):
        smoke.check_fresh(sample, "processed", 3600, now=NOW)


def test_a_table_holding_only_verifys_records_is_empty(ddb: Any) -> None:
    _put(ddb, "vfy-x-abcdef12", processedAt={"S": (NOW - dt.timedelta(seconds=5)).isoformat()})
    with pytest.raises(CheckFailed, match="the table is empty but for 1 of verify's own"):
        smoke.check_fresh(smoke.sample_newest(ddb, "processed"), "processed", 3600, now=NOW)


def test_verifys_records_behind_a_single_table_prefix_are_its_own_too(ddb: Any) -> None:
    # A single-table design keys verify's reading `DEVICE#vfy-...`: still verify's, never the newest.
    _put(ddb, "DEVICE#dev-7", processedAt={"S": (NOW - dt.timedelta(days=2)).isoformat()})
    _put(
        ddb,
        "DEVICE#vfy-20260101T000000-abcdef12",
        processedAt={"S": (NOW - dt.timedelta(seconds=5)).isoformat()},
    )
    sample = smoke.sample_newest(ddb, "processed")
    assert sample.items == 1 and sample.own == 1
    with pytest.raises(CheckFailed, match="got newest 172800 s old"):
        smoke.check_fresh(sample, "processed", 3600, now=NOW)
