"""SSM parameters: readable. A SecureString is never decrypted, and its value never leaves here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from verify.aws import aws_errors
from verify.errors import CheckFailed

# Longer String values are cut in evidence: a report is not a config dump.
MAX_VALUE_CHARS = 200


@contextmanager
def _found(operation: str, name: str) -> Iterator[None]:
    """`aws_errors`, with "not found" phrased as what was expected and what was seen."""
    try:
        with aws_errors("ssm", operation, name):
            yield
    except CheckFailed as missing:
        raise CheckFailed(
            f"SSM parameter `{name}`: expected it to exist, got not found ({operation})",
            resource=name,
            expected="exists",
            actual="not found",
        ) from missing


def check_readable(client: Any, name: str, *, sensitive: bool = False) -> dict[str, Any]:
    """GetParameter (WithDecryption=False); the facts worth reporting, without any secret value.

    `sensitive`: the outputs marked the parameter secret, so even a String's value stays out.
    """
    __tracebackhide__ = True
    with _found("GetParameter", name):
        parameter = client.get_parameter(Name=name, WithDecryption=False)["Parameter"]
    kind = str(parameter.get("Type", ""))
    facts: dict[str, Any] = {"type": kind, "version": parameter.get("Version")}
    if kind != "SecureString" and not sensitive:
        value = str(parameter.get("Value", ""))
        facts["value"] = value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 3] + "..."
    return facts
