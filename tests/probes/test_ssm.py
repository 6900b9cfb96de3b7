"""SSM probe against moto: readable parameters, and a SecureString's value never in the facts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from verify.errors import CheckFailed
from verify.probes import ssm


@pytest.fixture
def client(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("ssm")


def test_string_parameter_value_is_evidence(client: Any) -> None:
    client.put_parameter(Name="/iot-pipeline/dev/alert-threshold-celsius", Value="30", Type="String")
    facts = ssm.check_readable(client, "/iot-pipeline/dev/alert-threshold-celsius")
    assert facts == {"type": "String", "version": 1, "value": "30"}


def test_secure_string_value_never_leaves_the_probe(client: Any) -> None:
    client.put_parameter(Name="/iot-pipeline/dev/token", Value="s3cr3t-token-value", Type="SecureString")
    facts = ssm.check_readable(client, "/iot-pipeline/dev/token")
    assert facts == {"type": "SecureString", "version": 1}
    assert "s3cr3t" not in repr(facts)


def test_sensitive_string_value_stays_out(client: Any) -> None:
    client.put_parameter(Name="/app/api-key", Value="plain-but-secret", Type="String")
    assert "value" not in ssm.check_readable(client, "/app/api-key", sensitive=True)


def test_missing_parameter_is_not_found(client: Any) -> None:
    with pytest.raises(CheckFailed) as failed:
        ssm.check_readable(client, "/iot-pipeline/dev/alert-threshold-celsius")
    assert str(failed.value) == (
        "SSM parameter `/iot-pipeline/dev/alert-threshold-celsius`: expected it to exist, got not found "
        "(GetParameter)"
    )


def _count_calls(client: Any) -> list[str]:
    seen: list[str] = []
    client.meta.events.register("before-call.ssm.*", lambda model, **_: seen.append(model.name))
    return seen


def test_a_batch_reads_its_parameter_with_one_get_parameters(client: Any) -> None:
    names = [f"/site/{n:02d}/threshold" for n in range(12)]
    for name in names:
        client.put_parameter(Name=name, Value=name[-12:], Type="String")
    calls = _count_calls(client)
    facts = ssm.check_readable(client, names[11], batch=names)
    assert facts == {"type": "String", "version": 1, "value": names[11][-12:]}
    assert calls == ["GetParameters"]


def test_a_batch_missing_its_parameter_still_says_not_found(client: Any) -> None:
    client.put_parameter(Name="/site/present", Value="1", Type="String")
    with pytest.raises(CheckFailed, match="expected it to exist, got not found"):
        ssm.check_readable(client, "/site/absent", batch=["/site/present", "/site/absent"])


def test_a_batch_the_caller_may_not_read_falls_back_to_the_parameter_alone(client: Any) -> None:
    from botocore.exceptions import ClientError

    client.put_parameter(Name="/site/mine", Value="7", Type="String")

    def deny(model: Any, **_: Any) -> None:
        if model.name == "GetParameters":
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetParameters")

    client.meta.events.register("before-call.ssm.GetParameters", deny)
    assert ssm.check_readable(client, "/site/mine", batch=["/site/mine", "/site/theirs"])["value"] == "7"
