"""SSM parameters: readable. A SecureString is never decrypted, and its value never leaves here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verify.aws.errors import aws_errors
from verify.errors import AwsAccessError
from verify.probes.batching import batch_with

# Longer String values are cut in evidence: a report is not a config dump.
MAX_VALUE_CHARS = 200
# GetParameters takes up to 10 names.
PARAMETERS_PER_CALL = 10


def _batched(client: Any, name: str, batch: Sequence[str]) -> dict[str, Any] | None:
    """The parameter from one GetParameters call for its batch; None means: ask for it alone."""
    names = batch_with(name, batch, PARAMETERS_PER_CALL)
    try:
        with aws_errors("ssm", "GetParameters", name):
            answer = client.get_parameters(Names=names, WithDecryption=False)
    except AwsAccessError:
        return None
    for parameter in answer.get("Parameters", []):
        if name in (parameter.get("Name"), parameter.get("ARN")):
            return dict(parameter)
    return None  # not in the answer: GetParameter says why, in its own words


def check_readable(
    client: Any, name: str, *, sensitive: bool = False, batch: Sequence[str] = ()
) -> dict[str, Any]:
    """GetParameter (WithDecryption=False); the facts worth reporting, without any secret value.

    `sensitive`: the outputs marked the parameter secret, so even a String's value stays out.
    `batch`: the other parameter names this run asks about, read together with GetParameters (10 a
    call; the run's snapshot answers the other checks from it). A batch the caller may not read
    whole (resource-level IAM is common on parameters) falls back to GetParameter for `name` alone.
    """
    __tracebackhide__ = True
    parameter = _batched(client, name, batch) if batch else None
    if parameter is None:
        with aws_errors("ssm", "GetParameter", name, subject=f"SSM parameter `{name}`"):
            parameter = client.get_parameter(Name=name, WithDecryption=False)["Parameter"]
    kind = str(parameter.get("Type", ""))
    facts: dict[str, Any] = {"type": kind, "version": parameter.get("Version")}
    if kind != "SecureString" and not sensitive:
        value = str(parameter.get("Value", ""))
        facts["value"] = value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 3] + "..."
    return facts
