"""Links to the AWS console for a resource, so a reader goes from a failed check to the thing itself.

Plain strings in, a URL out (or None when the console has no page for it): the report writers and
the plugin call this without knowing about inventories or boto3.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit


def _q(text: str) -> str:
    return quote(text, safe="")


def _api_id(url: str | None, name: str) -> str | None:
    host = urlsplit(url or name).hostname or ""
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
    pages: dict[str, str | None] = {
        "dynamodb_table": f"{base}/dynamodbv2/home?region={r}#table?name={_q(name)}",
        "sqs_queue": f"{base}/sqs/v3/home?region={r}#/queues/{_q(url or value)}",
        "sns_topic": f"{base}/sns/v3/home?region={r}#/topic/{_q(arn or value)}",
        "kinesis_stream": f"{base}/kinesis/home?region={r}#/streams/details/{_q(name)}/monitoring",
        "rds_instance": f"{base}/rds/home?region={r}#database:id={_q(name)};is-cluster=false",
        "rds_cluster": f"{base}/rds/home?region={r}#database:id={_q(name)};is-cluster=true",
        "lambda_function": f"{base}/lambda/home?region={r}#/functions/{_q(name)}",
        # The logs console double-encodes the group name inside its fragment.
        "log_group": f"{base}/cloudwatch/home?region={r}#logsV2:log-groups/log-group/"
        + _q(name).replace("%", "$25"),
        "secret": f"{base}/secretsmanager/secret?name={_q(name)}&region={r}",
        "ssm_parameter": f"{base}/systems-manager/parameters/{_q(name.lstrip('/'))}/description?region={r}",
        "s3_bucket": f"https://s3.console.aws.amazon.com/s3/buckets/{_q(name)}?region={r}",
        "ecs_cluster": f"{base}/ecs/v2/clusters/{_q(name)}?region={r}",
        "elasticache": f"{base}/elasticache/home?region={r}#/redis/{_q(name)}",
        "efs_filesystem": f"{base}/efs/home?region={r}#/file-systems/{_q(name)}",
        "vpc": f"{base}/vpcconsole/home?region={r}#VpcDetails:VpcId={_q(name)}",
        "subnet": f"{base}/vpcconsole/home?region={r}#SubnetDetails:subnetId={_q(name)}",
        "security_group": f"{base}/ec2/home?region={r}#SecurityGroup:groupId={_q(name)}",
        "kms_key": f"{base}/kms/home?region={r}#/kms/keys/{_q(name)}",
        "alarm": f"{base}/cloudwatch/home?region={r}#alarmsV2:alarm/{_q(name)}",
        "state_machine": f"{base}/states/home?region={r}#/statemachines/view/{_q(arn or value)}",
        "event_bus": f"{base}/events/home?region={r}#/eventbus/{_q(name)}",
        "iam_role": f"https://console.aws.amazon.com/iam/home#/roles/details/{_q(name)}",
    }
    if kind == "api":
        api_id = _api_id(url or value, name)
        return f"{base}/apigateway/main/apis/{api_id}/resources?api={api_id}&region={r}" if api_id else None
    return pages.get(kind)


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
