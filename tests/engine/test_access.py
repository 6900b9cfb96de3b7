"""The access check before the checks (engine/access.py): it stops a run only when no call answers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from verify.engine.access import check_access
from verify.errors import AwsAccessError


class _Aws:
    def __init__(self) -> None:
        self.calls = 0

    def call_count(self) -> int:
        return self.calls


def _session(*kinds: str, aws: Any = None) -> Any:
    resources = [SimpleNamespace(kind=kind) for kind in kinds]
    made = aws or _Aws()

    def get_aws() -> Any:
        if isinstance(made, Exception):
            raise made
        return made

    return SimpleNamespace(aws=get_aws, inventory=lambda: SimpleNamespace(resources=resources))


def test_no_call_answering_stops_the_run_with_the_first_cause_and_what_was_asked() -> None:
    def ask(aws: _Aws, service: str, method: str, params: dict[str, Any]) -> str | None:
        aws.calls += 1
        return f"no AWS credentials found ({service})"

    access = check_access(_session("dynamodb_table", "sqs_queue", "dynamodb_table", "scalar"), ask=ask)
    assert access.none and access.calls == 3
    # One identity call, then one read per service (the second table asks nothing more).
    assert list(access.failures) == ["sts:GetCallerIdentity", "dynamodb:ListTables", "sqs:ListQueues"]
    assert access.sentence().startswith("nothing could be verified: no AWS credentials found (sts)")
    assert "sts:GetCallerIdentity, dynamodb:ListTables, sqs:ListQueues" in access.sentence()


def test_one_service_answering_lets_the_checks_run() -> None:
    def ask(aws: _Aws, service: str, method: str, params: dict[str, Any]) -> str | None:
        return None if service == "sqs" else "could not reach http://x: check the network"

    access = check_access(_session("dynamodb_table", "sqs_queue"), ask=ask)
    assert not access.none and access.failures["sqs:ListQueues"] is None


def test_no_region_is_nothing_answering_before_any_call() -> None:
    access = check_access(
        _session("dynamodb_table", aws=AwsAccessError("no AWS region configured: pass --region"))
    )
    assert access.none and access.calls == 0
    assert "no AWS region configured" in access.sentence()


def test_the_real_calls_answer_on_a_mocked_account(moto_client: Any) -> None:
    from verify.aws.client import Aws
    from verify.engine.access import _ask

    aws = Aws("us-east-1", read_only=True)
    assert _ask(aws, "sts", "get_caller_identity", {}) is None
    assert _ask(aws, "dynamodb", "list_tables", {"Limit": 1}) is None
