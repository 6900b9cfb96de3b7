"""Checks on the outputs themselves: present, not a placeholder, well-formed for their kind."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from verify.errors import CheckFailed
from verify.stack.inventory import Resource
from verify.stack.outputs import Output

_ID_SHAPES: dict[str, re.Pattern[str]] = {
    "vpc": re.compile(r"^vpc-[0-9a-f]{8,17}$"),
    "subnet": re.compile(r"^subnet-[0-9a-f]{8,17}$"),
    "security_group": re.compile(r"^sg-[0-9a-f]{8,17}$"),
    "efs_filesystem": re.compile(r"^(fs-[0-9a-f]{8,17}|arn:aws[\w-]*:elasticfilesystem:.+)$"),
}
_ARN = re.compile(r"^arn:aws[\w-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")
# AWS names: no spaces, no control characters; lengths per the strictest common service (SQS: 80).
_NAME = re.compile(r"^[^\s\x00-\x1f]{1,1024}$")


def check_present(output: Output) -> None:
    __tracebackhide__ = True
    if output.missing:
        # A sensitive output's "placeholder" may be its real value (a password set to "changeme").
        shown = "its value hidden: sensitive" if output.sensitive else repr(output.value)
        raise CheckFailed(
            f"output `{output.key}`: expected a value, got a placeholder ({shown}); "
            "the deploy did not produce it, so nothing it names can be verified",
            resource=output.key,
            expected="a value",
            actual=None if output.sensitive else output.value,
        )


def check_well_formed(resource: Resource) -> None:
    """The value has the shape its kind requires (an ARN parses, a URL has a host, an id its prefix)."""
    __tracebackhide__ = True
    value = resource.value
    problem: str | None = None
    if resource.sensitive:
        return  # its shape is not ours to print, and a secret has no public form to check
    if value.startswith("arn:") and not _ARN.match(value):
        problem = "a malformed ARN"
    elif (
        resource.kind in _ID_SHAPES
        and not value.startswith("arn:")
        and not _ID_SHAPES[resource.kind].match(value)
    ):
        problem = f"not a {resource.kind} id"
    elif resource.kind in ("api", "sqs_queue") and value.startswith(("http://", "https://")):
        parsed = urlparse(value)
        if not parsed.hostname:
            problem = "a URL without a host"
    elif (
        resource.kind == "sqs_queue"
        and not value.startswith(("http://", "https://", "arn:"))
        and not _NAME.match(value)
    ):
        problem = "not a queue URL, ARN or name"
    elif resource.kind not in ("scalar", "unknown") and not _NAME.match(value):
        problem = "not an AWS resource name (it has spaces or control characters)"
    if problem:
        raise CheckFailed(
            f"output `{resource.key}` ({resource.kind}): expected a well-formed value, got {problem}: {value!r}",
            resource=resource.key,
            expected=f"a {resource.kind} identifier",
            actual=value,
        )
