"""Intent declared on a resource of its own that belongs to another: attached where it belongs.

A rotation schedule belongs to its secret, a log group's retention to its function (the group named
`/aws/lambda/<function>`, by reference or by name, or the one the function's `LoggingConfig` names),
method settings to their stage, an event-invoke config's failure destination to its function, a
Terraform redrive policy resource to its queue. Each attached property keeps its own origin: the
file and the id that declared it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from verify.intent.forms import Raw, at, declared_property
from verify.intent.model import DeclaredProperty, DeclaredResource
from verify.intent.rules import integer, number, schedule_days, text
from verify.stack.kinds import Kind


def _targets(
    raw: Raw, prop: str, resources: dict[str, DeclaredResource], kinds: tuple[str, ...]
) -> list[str]:
    return [
        t
        for t in raw.refers(prop)
        if t in resources and resources[t].kind in kinds and resources[t].part is None
    ]


def _attach(
    resources: dict[str, DeclaredResource], targets: list[str], props: list[DeclaredProperty]
) -> None:
    for target in targets:
        for prop in props:
            resources[target] = resources[target].with_property(prop)


def _rotation(raw: Raw, resources: dict[str, DeclaredResource], by_id: dict[str, Raw]) -> None:
    cfn = raw.type.startswith("AWS::")
    secret = "SecretId" if cfn else "secret_id"
    props = [
        p
        for p in (
            declared_property(
                raw,
                "rotation_days",
                "RotationRules.AutomaticallyAfterDays" if cfn else "rotation_rules.automatically_after_days",
                integer,
            ),
            declared_property(
                raw,
                "rotation_days",
                "RotationRules.ScheduleExpression" if cfn else "rotation_rules.schedule_expression",
                schedule_days,
            ),
            declared_property(
                raw,
                "rotation_schedule",
                "RotationRules.ScheduleExpression" if cfn else "rotation_rules.schedule_expression",
                text,
            ),
            declared_property(
                raw, "rotation_function", "RotationLambdaARN" if cfn else "rotation_lambda_arn", text
            ),
        )
        if p is not None
    ]
    if cfn and isinstance(raw.written.get("HostedRotationLambda"), dict):
        hosted = raw.written["HostedRotationLambda"]
        props.append(
            DeclaredProperty(
                "rotation_function",
                f"hosted: {hosted.get('RotationType', 'rotation')}",
                "HostedRotationLambda",
                hosted,
                raw.origin,
            )
        )
    _attach(resources, _targets(raw, secret, resources, (Kind.SECRET,)), props)


def _invoke_config(raw: Raw, resources: dict[str, DeclaredResource], by_id: dict[str, Raw]) -> None:
    cfn = raw.type.startswith("AWS::")
    prop = declared_property(
        raw,
        "on_failure_destination",
        "DestinationConfig.OnFailure.Destination" if cfn else "destination_config.on_failure.destination",
        text,
    )
    targets = _targets(raw, "FunctionName" if cfn else "function_name", resources, (Kind.LAMBDA_FUNCTION,))
    _attach(resources, targets, [prop] if prop else [])


def _method_settings(raw: Raw, resources: dict[str, DeclaredResource], by_id: dict[str, Raw]) -> None:
    """Terraform's `aws_api_gateway_method_settings` for `*/*`: the stage's throttling."""
    if raw.values.get("method_path") not in ("*/*", None):
        return
    props = [
        p
        for p in (
            declared_property(raw, "throttling_rate_limit", "settings.throttling_rate_limit", number),
            declared_property(raw, "throttling_burst_limit", "settings.throttling_burst_limit", integer),
        )
        if p is not None
    ]
    stages = [t for t in raw.refers("stage_name") if t in resources and resources[t].part == "stage"]
    if not stages:
        name = raw.values.get("stage_name")
        apis = raw.refers("rest_api_id")
        stages = [
            r.logical_id
            for r in resources.values()
            if r.part == "stage" and r.value("stage_name") == name and (not apis or r.parent in apis)
        ]
    _attach(resources, stages, props)


def _queue_redrive(raw: Raw, resources: dict[str, DeclaredResource], by_id: dict[str, Raw]) -> None:
    props = [
        p
        for p in (
            declared_property(raw, "redrive_target", "redrive_policy.deadLetterTargetArn", text),
            declared_property(raw, "max_receive_count", "redrive_policy.maxReceiveCount", integer),
        )
        if p is not None
    ]
    _attach(resources, _targets(raw, "queue_url", resources, (Kind.SQS_QUEUE,)), props)


LINKERS: dict[str, Callable[[Raw, dict[str, DeclaredResource], dict[str, Raw]], None]] = {
    "AWS::SecretsManager::RotationSchedule": _rotation,
    "aws_secretsmanager_secret_rotation": _rotation,
    "AWS::Lambda::EventInvokeConfig": _invoke_config,
    "aws_lambda_function_event_invoke_config": _invoke_config,
    "aws_api_gateway_method_settings": _method_settings,
    "aws_sqs_queue_redrive_policy": _queue_redrive,
    # Read for their parts' paths (`_resource_path`), not resources of their own.
    "AWS::ApiGateway::Resource": lambda *_: None,
    "aws_api_gateway_resource": lambda *_: None,
}


def link_log_groups(resources: dict[str, DeclaredResource], by_id: dict[str, Raw]) -> None:
    """A function's log retention: the log group named after it (`/aws/lambda/<function>`, by
    reference or by name) or the one its `LoggingConfig` names."""
    functions = [r for r in resources.values() if r.kind == Kind.LAMBDA_FUNCTION]
    for group in [r for r in resources.values() if r.kind == Kind.LOG_GROUP]:
        retention = group.get("retention_days")
        if retention is None:
            continue
        raw = by_id[group.logical_id]
        name_prop = "LogGroupName" if raw.type[0].isupper() else "name"
        # Only a group named like a function's own log group (`/aws/lambda/...`) is linked through
        # a reference in its name: an access log named after a function is not its log.
        lambda_log = "/aws/lambda/" in json.dumps(at(raw.written, name_prop, default=None))
        referenced = set(raw.refers(name_prop)) if lambda_log else set()
        for function in functions:
            fn_raw = by_id[function.logical_id]
            config = (
                "LoggingConfig.LogGroup" if fn_raw.type.startswith("AWS::") else "logging_config.log_group"
            )
            named = (
                isinstance(function.physical_name, str)
                and group.physical_name == f"/aws/lambda/{function.physical_name}"
            )
            if function.logical_id in referenced or named or group.logical_id in fn_raw.refers(config):
                resources[function.logical_id] = resources[function.logical_id].with_property(
                    replace(retention, name="log_retention_days")
                )
