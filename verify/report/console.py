"""Links to the AWS console for a resource, so a reader goes from a failed check to the thing itself.

Plain strings in, a URL out (or None when the console has no page for it): the report writers and
the plugin call this without knowing about inventories or boto3.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit


def _q(text: str) -> str:
    return quote(text, safe="")


def _api_id(url: str | None, name: str) -> str | None:
    try:
        host = urlsplit(url or name).hostname or ""
    except ValueError:  # an output value that only looks like a URL (`https://[x/`): no API id in it
        host = ""
    match = re.match(r"^([a-z0-9]{10})\.execute-api\.", host)
    if match:
        return match.group(1)
    return name if re.fullmatch(r"[a-z0-9]{10}", name) else None


def console_url(
    kind: str,
    name: str,
    region: str | None,
    *,
    value: str = "",
    arn: str | None = None,
    url: str | None = None,
) -> str | None:
    """The console page of one resource, or None when there is no single page for it."""
    if not name and not value:
        return None
    r = region or "us-east-1"
    base = f"https://{r}.console.aws.amazon.com"
    if kind == "api":
        api_id = _api_id(url or value, name)
        return f"{base}/apigateway/main/apis/{api_id}/resources?api={api_id}&region={r}" if api_id else None
    page = _PAGES.get(kind)
    return page(base, r, _Subject(name, value, arn, url)) if page else None


@dataclass(frozen=True)
class _Subject:
    name: str
    value: str
    arn: str | None
    url: str | None


# Per kind, built only when asked: every check of a run asks for one link (939 at 200 resources), and
# building every kind's page to pick one cost ~15 000 quote() calls.
_PAGES: dict[str, Callable[[str, str, _Subject], str]] = {
    "dynamodb_table": lambda b, r, s: f"{b}/dynamodbv2/home?region={r}#table?name={_q(s.name)}",
    "sqs_queue": lambda b, r, s: f"{b}/sqs/v3/home?region={r}#/queues/{_q(s.url or s.value)}",
    "sns_topic": lambda b, r, s: f"{b}/sns/v3/home?region={r}#/topic/{_q(s.arn or s.value)}",
    "kinesis_stream": lambda b, r, s: f"{b}/kinesis/home?region={r}#/streams/details/{_q(s.name)}/monitoring",
    "rds_instance": lambda b, r, s: f"{b}/rds/home?region={r}#database:id={_q(s.name)};is-cluster=false",
    "rds_cluster": lambda b, r, s: f"{b}/rds/home?region={r}#database:id={_q(s.name)};is-cluster=true",
    "lambda_function": lambda b, r, s: f"{b}/lambda/home?region={r}#/functions/{_q(s.name)}",
    # The logs console double-encodes the group name inside its fragment.
    "log_group": lambda b, r, s: (
        f"{b}/cloudwatch/home?region={r}#logsV2:log-groups/log-group/" + _q(s.name).replace("%", "$25")
    ),
    "secret": lambda b, r, s: f"{b}/secretsmanager/secret?name={_q(s.name)}&region={r}",
    "ssm_parameter": lambda b, r, s: (
        f"{b}/systems-manager/parameters/{_q(s.name.lstrip('/'))}/description?region={r}"
    ),
    "s3_bucket": lambda b, r, s: f"https://s3.console.aws.amazon.com/s3/buckets/{_q(s.name)}?region={r}",
    "ecs_cluster": lambda b, r, s: f"{b}/ecs/v2/clusters/{_q(s.name)}?region={r}",
    "elasticache": lambda b, r, s: f"{b}/elasticache/home?region={r}#/redis/{_q(s.name)}",
    "efs_filesystem": lambda b, r, s: f"{b}/efs/home?region={r}#/file-systems/{_q(s.name)}",
    "vpc": lambda b, r, s: f"{b}/vpcconsole/home?region={r}#VpcDetails:VpcId={_q(s.name)}",
    "subnet": lambda b, r, s: f"{b}/vpcconsole/home?region={r}#SubnetDetails:subnetId={_q(s.name)}",
    "security_group": lambda b, r, s: f"{b}/ec2/home?region={r}#SecurityGroup:groupId={_q(s.name)}",
    "kms_key": lambda b, r, s: f"{b}/kms/home?region={r}#/kms/keys/{_q(s.name)}",
    "alarm": lambda b, r, s: f"{b}/cloudwatch/home?region={r}#alarmsV2:alarm/{_q(s.name)}",
    "state_machine": lambda b, r, s: f"{b}/states/home?region={r}#/statemachines/view/{_q(s.arn or s.value)}",
    "event_bus": lambda b, r, s: f"{b}/events/home?region={r}#/eventbus/{_q(s.name)}",
    "iam_role": lambda b, r, s: f"https://console.aws.amazon.com/iam/home#/roles/details/{_q(s.name)}",
}


def trace_url(trace_id: str, region: str | None) -> str:
    r = region or "us-east-1"
    return f"https://{r}.console.aws.amazon.com/cloudwatch/home?region={r}#xray:traces/{_q(trace_id)}"


def check_links(subject: Any, evidence: dict[str, Any], region: str | None) -> list[tuple[str, str]]:
    """A check's (name, url) links: the console page of the resource it was about (never for a
    sensitive output) and the X-Ray trace its evidence names. One rule for both report paths."""
    found: list[tuple[str, str]] = []
    if subject is not None and hasattr(subject, "kind") and not getattr(subject, "sensitive", False):
        url = console_url(
            subject.kind,
            subject.name,
            subject.region or region,
            value=subject.value,
            arn=subject.arn,
            url=subject.url,
        )
        if url:
            found.append((f"AWS console: {subject.key}", url))
    trace = evidence.get("trace_id")
    if isinstance(trace, str) and trace:
        found.append(("X-Ray trace", trace_url(trace, region)))
    return found
