"""A template document → an `Intent`: every resource of a known kind with its normalised properties.

Each form is first brought to the same shape -- one `_Raw` per resource: its id (logical id or
Terraform address), type, the properties as written and as evaluated (`verify.intent.evaluate`), and how
to find what one of its properties refers to -- then one routine builds the model from the rule tables
(`verify.intent.rules`). Some intent is declared on a resource of its own and belongs to another:
a rotation schedule to its secret, a log group's retention to its function, method settings to their
stage, an event-invoke config's failure destination to its function. Those are attached to the
resource they configure, each property keeping its own origin (the file and the id that declared it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from verify.intent.documents import Document
from verify.intent.evaluate import Names, cfn_refs, cfn_value, tf_refs, tf_value
from verify.intent.model import (
    CDK,
    CDKTF,
    CLOUDFORMATION,
    TERRAFORM_PLAN,
    DeclaredProperty,
    DeclaredResource,
    Intent,
    Origin,
    TemplateError,
    TemplateOutput,
    Unknown,
)
from verify.intent.rules import (
    CFN_TYPES,
    TF_TYPES,
    TF_UNSET,
    Convert,
    TypeRule,
    integer,
    number,
    schedule_days,
    text,
)
from verify.stack.kinds import Kind

_MISSING = object()


@dataclass(frozen=True)
class _Raw:
    id: str
    type: str
    written: dict[str, Any]  # as the template wrote it (JSON-encoded strings decoded)
    values: dict[str, Any]  # evaluated
    origin: Origin
    refers: Callable[[str], list[str]]  # property name → ids it refers to


def read_intent(document: Document, names: Names | None = None, stack: str | None = None) -> Intent:
    """Everything `document` declares that verify reads, resolved with what `names` knows."""
    names = names or Names()
    if document.form in (CDK, CLOUDFORMATION):
        raws, outputs = _cloudformation(document, names)
        rules = CFN_TYPES
    elif document.form == CDKTF:
        raws, outputs = _cdktf(document, names)
        rules = TF_TYPES
    else:
        raws, outputs = _terraform_values(document)
        rules = TF_TYPES
    by_id = {raw.id: raw for raw in raws}
    resources: dict[str, DeclaredResource] = {}
    ignored: Counter[str] = Counter()
    for raw in raws:
        rule = rules.get(raw.type)
        if rule is None:
            if raw.type not in _LINKERS:
                ignored[raw.type] += 1
            continue
        resources[raw.id] = _declared(raw, rule, by_id)
    for raw in raws:
        link = _LINKERS.get(raw.type)
        if link is not None:
            link(raw, resources, by_id)
    _link_log_groups(resources, by_id)
    for logical_id, resource in resources.items():
        told = _told_name(resource, rules, names)
        if told is not None:
            resources[logical_id] = replace(resource, physical_name=told)
    return Intent(
        form=document.form,
        source=document.source,
        stack=stack,
        resources=tuple(resources.values()),
        outputs=tuple(outputs),
        ignored=tuple(sorted(ignored.items())),
    )


# ---------------------------------------------------------------- the forms, brought to one shape


def _cloudformation(document: Document, names: Names) -> tuple[list[_Raw], list[TemplateOutput]]:
    data = document.data
    resources = data.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateError(f"Template {document.source} has a `Resources` section that is not an object.")
    parameters = data.get("Parameters") if isinstance(data.get("Parameters"), dict) else {}
    names = replace(names, parameters=frozenset(parameters or {}), resources=frozenset(resources))
    raws: list[_Raw] = []
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            raise TemplateError(
                f"Template {document.source}: resource {logical_id!r} has no `Type`, so it is no CloudFormation resource."
            )
        properties = body.get("Properties") or {}
        if not isinstance(properties, dict):
            raise TemplateError(
                f"Template {document.source}: resource {logical_id!r} has `Properties` that are not an object."
            )
        written = _decoded(properties)
        raws.append(
            _Raw(
                id=str(logical_id),
                type=body["Type"],
                written=written,
                values=cfn_value(written, names),
                origin=Origin(document.source, str(logical_id)),
                refers=_refs_in(written, cfn_refs),
            )
        )
    outputs: list[TemplateOutput] = []
    for key, entry in (data.get("Outputs") or {}).items():
        value = entry.get("Value") if isinstance(entry, dict) else None
        if isinstance(value, dict) and isinstance(value.get("Ref"), str):
            outputs.append(TemplateOutput(str(key), value["Ref"]))
        elif isinstance(value, dict) and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            target = target.split(".", 1) if isinstance(target, str) else target
            if isinstance(target, list) and len(target) == 2 and all(isinstance(t, str) for t in target):
                outputs.append(TemplateOutput(str(key), target[0], target[1]))
        else:
            for target in dict.fromkeys(cfn_refs(value)):
                if target in resources:
                    outputs.append(TemplateOutput(str(key), target, composite=True))
    return raws, outputs


def _cdktf(document: Document, names: Names) -> tuple[list[_Raw], list[TemplateOutput]]:
    data = document.data
    blocks = data.get("resource") or {}
    if not isinstance(blocks, dict):
        raise TemplateError(f"Template {document.source} has a `resource` block that is not an object.")
    raws: list[_Raw] = []
    literal: dict[tuple[str, str], Any] = {}
    for type_name, instances in blocks.items():
        if not isinstance(instances, dict):
            raise TemplateError(
                f"Template {document.source}: `resource.{type_name}` is not an object of named resources."
            )
        for name, body in instances.items():
            if not isinstance(body, dict):
                raise TemplateError(
                    f"Template {document.source}: resource {type_name}.{name} is not an object."
                )
            for attribute, value in body.items():
                if isinstance(value, str | int | float | bool) and "${" not in str(value):
                    literal[(f"{type_name}.{name}", attribute)] = value
    names = replace(names, attrs={**literal, **names.attrs})
    for type_name, instances in blocks.items():
        for name, body in instances.items():
            address = f"{type_name}.{name}"
            written = _decoded({k: v for k, v in body.items() if k != "//"})
            raws.append(
                _Raw(
                    id=address,
                    type=type_name,
                    written=written,
                    values=tf_value(written, names),
                    origin=Origin(document.source, address),
                    refers=_refs_in(written, tf_refs),
                )
            )
    outputs: list[TemplateOutput] = []
    for key, entry in (data.get("output") or {}).items():
        value = entry.get("value") if isinstance(entry, dict) else None
        reference = _single_reference(value)
        if reference is not None:
            outputs.append(TemplateOutput(str(key), *reference))
            continue
        for target in dict.fromkeys(tf_refs(value)):
            outputs.append(TemplateOutput(str(key), target, composite=True))
    return raws, outputs


def _refs_in(written: dict[str, Any], refs: Callable[[Any], Iterator[str]]) -> Callable[[str], list[str]]:
    def refers(prop: str) -> list[str]:
        return list(refs(_at(written, prop, default=None)))

    return refers


def _single_reference(value: Any) -> tuple[str, str] | None:
    if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
        return None
    parts = value[2:-1].strip().split(".")
    if len(parts) < 3 or not all(p.replace("-", "_").replace("_", "a").isalnum() for p in parts):
        return None
    return ".".join(parts[:-1]), parts[-1]


def _terraform_values(document: Document) -> tuple[list[_Raw], list[TemplateOutput]]:
    data = document.data
    plan = document.form == TERRAFORM_PLAN
    root = (data.get("planned_values") if plan else data.get("values")) or {}
    root_module = root.get("root_module") if isinstance(root, dict) else None
    if not isinstance(root_module, dict):
        raise TemplateError(
            f"Template {document.source} is `terraform show -json` output with no "
            f"`{'planned_values' if plan else 'values'}.root_module`: nothing was planned or applied."
        )
    unknown_after = {
        change.get("address"): (change.get("change") or {}).get("after_unknown")
        for change in data.get("resource_changes") or []
        if isinstance(change, dict)
    }
    references = _configuration_references(data.get("configuration") or {})
    entries = list(_module_resources(root_module, document.source))
    identities: dict[str, set[str]] = {}
    raws: list[_Raw] = []
    for entry in entries:
        address = str(entry["address"])
        values = entry.get("values") or {}
        values = _decoded(_mark_unknown(values, unknown_after.get(address), references.get(address, {})))
        identities[address] = {
            v for k in ("arn", "id", "name", "url") if isinstance(v := values.get(k), str) and v
        }
        raws.append(
            _Raw(
                id=address,
                type=str(entry.get("type", "")),
                written=values,
                values=values,
                origin=Origin(document.source, address),
                refers=_plan_refers(address, values, references, identities),
            )
        )
    outputs: list[TemplateOutput] = []
    for key, entry in ((data.get("configuration") or {}).get("root_module") or {}).get("outputs", {}).items():
        for reference in ((entry or {}).get("expression") or {}).get("references") or []:
            parts = str(reference).split(".")
            if len(parts) >= 3:
                outputs.append(TemplateOutput(str(key), ".".join(parts[:-1]), parts[-1]))
                break
    return raws, outputs


def _module_resources(module: dict[str, Any], source: str) -> Iterator[dict[str, Any]]:
    for entry in module.get("resources") or []:
        if not isinstance(entry, dict) or "address" not in entry:
            raise TemplateError(f"Template {source} lists a resource without an `address`.")
        if entry.get("mode", "managed") == "managed":
            yield entry
    for child in module.get("child_modules") or []:
        if isinstance(child, dict):
            yield from _module_resources(child, source)


def _mark_unknown(
    values: Any, unknown: Any, references: dict[str, list[str]], refers_to: str | None = None
) -> Any:
    """Plan values with what Terraform knows only after apply (`after_unknown`) marked `Unknown`,
    pointing at the resource the configuration's expression refers to (`redrive_policy` → the DLQ)."""
    if unknown is True:
        return Unknown("known only after terraform apply", refers_to)
    if isinstance(unknown, dict):
        base = dict(values) if isinstance(values, dict) else {}
        for key, mark in unknown.items():
            if mark is True or isinstance(mark, dict | list):
                target = refers_to or next(
                    (r.rsplit(".", 1)[0] for r in references.get(key, ()) if r.count(".") >= 2), None
                )
                base[key] = _mark_unknown(base.get(key), mark, {}, target)
        return base
    if isinstance(unknown, list) and isinstance(values, list):
        return [
            _mark_unknown(v, unknown[i] if i < len(unknown) else None, {}, refers_to)
            for i, v in enumerate(values)
        ]
    return values


def _configuration_references(configuration: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """address → attribute → the addresses its expression refers to (the plan's `configuration`)."""
    found: dict[str, dict[str, list[str]]] = {}

    def walk(module: dict[str, Any], prefix: str) -> None:
        for resource in module.get("resources") or []:
            address = prefix + str(resource.get("address", ""))
            for attribute, expression in (resource.get("expressions") or {}).items():
                refs = expression.get("references") if isinstance(expression, dict) else None
                if refs:
                    found.setdefault(address, {})[attribute] = [prefix + str(r) for r in refs]
        for name, call in (module.get("module_calls") or {}).items():
            walk((call or {}).get("module") or {}, f"{prefix}module.{name}.")

    walk(configuration.get("root_module") or {}, "")
    return found


def _plan_refers(
    address: str,
    values: dict[str, Any],
    references: dict[str, dict[str, list[str]]],
    identities: dict[str, set[str]],
) -> Callable[[str], list[str]]:
    def refers(prop: str) -> list[str]:
        head = prop.split(".", 1)[0]
        configured = references.get(address, {}).get(head)
        if configured:
            return [r.rsplit(".", 1)[0] if r.count(".") >= 2 else r for r in configured]
        value = _at(values, prop, default=None)
        if isinstance(value, str):  # state, or a plan with the value known: by identity
            return [other for other, known in identities.items() if value in known and other != address]
        return []

    return refers


def _told_name(resource: DeclaredResource, rules: dict[str, TypeRule], names: Names) -> str | None:
    """The deployed name of a resource whose declared name is unresolved (or that declares none),
    when an output or the live stack says it: what `Ref` returns (CloudFormation types whose `Ref`
    is their name) or the name attribute (Terraform)."""
    if isinstance(resource.physical_name, str) or resource.part is not None:
        return None
    rule = rules[resource.type]
    if rule.name is None:
        return None
    if resource.type.startswith("AWS::") or resource.type.startswith("Custom::"):
        told = names.refs.get(resource.logical_id) if rule.ref_is == "name" else None
    else:
        told = names.attrs.get((resource.logical_id, rule.name))
    return told if isinstance(told, str) and told else None


# ---------------------------------------------------------------- one resource


def _declared(raw: _Raw, rule: TypeRule, by_id: dict[str, _Raw]) -> DeclaredResource:
    name: str | Unknown | None = None
    if rule.name is not None:
        value = _at(raw.values, rule.name)
        if value is not _MISSING:
            name = text(value)
    arn = raw.values.get("arn")
    resource = DeclaredResource(
        logical_id=raw.id,
        type=raw.type,
        kind=str(rule.kind),
        origin=raw.origin,
        physical_name=name,
        part=rule.part,
        arn=arn if isinstance(arn, str) and arn.startswith("arn:") else None,
    )
    for prop_name, path, convert in rule.properties:
        prop = _property(raw, prop_name, path, convert)
        if prop is not None:
            resource = resource.with_property(prop)
    if raw.type == "AWS::DynamoDB::Table" and isinstance(raw.written.get("StreamSpecification"), dict):
        resource = resource.with_property(
            DeclaredProperty(
                "stream_enabled", True, "StreamSpecification", raw.written["StreamSpecification"], raw.origin
            )
        )
    if raw.type == "AWS::ApiGateway::Stage":
        resource = _stage_method_settings(
            resource, raw, raw.values.get("MethodSettings"), raw.written.get("MethodSettings")
        )
    if rule.part is not None:
        parent_key = "RestApiId" if raw.type.startswith("AWS::ApiGateway::") else "ApiId"
        if raw.type.startswith("aws_"):
            parent_key = "rest_api_id" if raw.type.startswith("aws_api_gateway_") else "api_id"
        parents = raw.refers(parent_key)
        resource = replace(
            resource, parent=parents[0] if parents else None, label=_label(resource, raw, by_id)
        )
    return resource


def _property(
    raw: _Raw, name: str, path: str, convert: Convert, origin: Origin | None = None
) -> DeclaredProperty | None:
    written = _at(raw.written, path)
    if written is _MISSING or written is None or written == "":
        return None  # a plan writes null, a state "", for what was not declared
    leaf = path.rsplit(".", 1)[-1]
    if raw.type.startswith("aws_") and leaf in TF_UNSET and written == TF_UNSET[leaf]:
        return None
    value = _at(raw.values, path)
    converted = convert(None if value is _MISSING else value)
    if converted is None:
        return None
    return DeclaredProperty(
        name, converted, path, written, origin or raw.origin, whole_path=raw.type.startswith("aws_")
    )


def _stage_method_settings(
    resource: DeclaredResource, raw: _Raw, values: Any, written: Any
) -> DeclaredResource:
    """The stage-wide entry (`HttpMethod: "*"`, `ResourcePath: "/*"`) of a REST API stage's MethodSettings."""
    if not isinstance(values, list) or not isinstance(written, list):
        return resource
    for value, as_written in zip(values, written, strict=False):
        if isinstance(value, dict) and value.get("HttpMethod") == "*" and value.get("ResourcePath") == "/*":
            for name, field, convert in (
                ("throttling_rate_limit", "ThrottlingRateLimit", number),
                ("throttling_burst_limit", "ThrottlingBurstLimit", integer),
            ):
                if field in as_written:
                    resource = resource.with_property(
                        DeclaredProperty(
                            name,
                            convert(value.get(field)),
                            f"MethodSettings.{field}",
                            as_written[field],
                            raw.origin,
                        )
                    )
    return resource


def _label(resource: DeclaredResource, raw: _Raw, by_id: dict[str, _Raw]) -> str | None:
    if resource.part == "stage":
        stage = resource.value("stage_name")
        return stage if isinstance(stage, str) else None
    route = resource.value("route")
    if isinstance(route, str):
        return route
    method = resource.value("http_method")
    path = _resource_path(raw, by_id)
    return f"{method} {path}" if isinstance(method, str) and path is not None else None


def _resource_path(raw: _Raw, by_id: dict[str, _Raw]) -> str | None:
    """A REST API method's path, from its resource's `PathPart`s up to the API's root."""
    key = "ResourceId" if raw.type.startswith("AWS::") else "resource_id"
    parent_key = "ParentId" if raw.type.startswith("AWS::") else "parent_id"
    part_key = "PathPart" if raw.type.startswith("AWS::") else "path_part"
    parts: list[str] = []
    current = raw
    for _ in range(64):  # an API deeper than this is no API; a cycle is a broken template
        targets = [
            t
            for t in current.refers(key)
            if t in by_id and by_id[t].type.endswith(("::Resource", "_resource"))
        ]
        if not targets:
            return "/" + "/".join(reversed(parts))
        current = by_id[targets[0]]
        part = current.values.get(part_key)
        if not isinstance(part, str):
            return None
        parts.append(part)
        key = parent_key
    return None


# ---------------------------------------------------------------- intent declared on another resource


def _targets(
    raw: _Raw, prop: str, resources: dict[str, DeclaredResource], kinds: tuple[str, ...]
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


def _rotation(raw: _Raw, resources: dict[str, DeclaredResource], by_id: dict[str, _Raw]) -> None:
    cfn = raw.type.startswith("AWS::")
    secret = "SecretId" if cfn else "secret_id"
    props = [
        p
        for p in (
            _property(
                raw,
                "rotation_days",
                "RotationRules.AutomaticallyAfterDays" if cfn else "rotation_rules.automatically_after_days",
                integer,
            ),
            _property(
                raw,
                "rotation_days",
                "RotationRules.ScheduleExpression" if cfn else "rotation_rules.schedule_expression",
                schedule_days,
            ),
            _property(
                raw,
                "rotation_schedule",
                "RotationRules.ScheduleExpression" if cfn else "rotation_rules.schedule_expression",
                text,
            ),
            _property(raw, "rotation_function", "RotationLambdaARN" if cfn else "rotation_lambda_arn", text),
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


def _invoke_config(raw: _Raw, resources: dict[str, DeclaredResource], by_id: dict[str, _Raw]) -> None:
    cfn = raw.type.startswith("AWS::")
    prop = _property(
        raw,
        "on_failure_destination",
        "DestinationConfig.OnFailure.Destination" if cfn else "destination_config.on_failure.destination",
        text,
    )
    targets = _targets(raw, "FunctionName" if cfn else "function_name", resources, (Kind.LAMBDA_FUNCTION,))
    _attach(resources, targets, [prop] if prop else [])


def _method_settings(raw: _Raw, resources: dict[str, DeclaredResource], by_id: dict[str, _Raw]) -> None:
    """Terraform's `aws_api_gateway_method_settings` for `*/*`: the stage's throttling."""
    if raw.values.get("method_path") not in ("*/*", None):
        return
    props = [
        p
        for p in (
            _property(raw, "throttling_rate_limit", "settings.throttling_rate_limit", number),
            _property(raw, "throttling_burst_limit", "settings.throttling_burst_limit", integer),
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


def _queue_redrive(raw: _Raw, resources: dict[str, DeclaredResource], by_id: dict[str, _Raw]) -> None:
    props = [
        p
        for p in (
            _property(raw, "redrive_target", "redrive_policy.deadLetterTargetArn", text),
            _property(raw, "max_receive_count", "redrive_policy.maxReceiveCount", integer),
        )
        if p is not None
    ]
    _attach(resources, _targets(raw, "queue_url", resources, (Kind.SQS_QUEUE,)), props)


_LINKERS: dict[str, Callable[[_Raw, dict[str, DeclaredResource], dict[str, _Raw]], None]] = {
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


def _link_log_groups(resources: dict[str, DeclaredResource], by_id: dict[str, _Raw]) -> None:
    """A function's log retention: the log group named after it (`/aws/lambda/<function>`, by
    reference or by name) or the one its `LoggingConfig` names."""
    functions = [r for r in resources.values() if r.kind == Kind.LAMBDA_FUNCTION]
    for group in [r for r in resources.values() if r.kind == Kind.LOG_GROUP]:
        retention = group.get("retention_days")
        if retention is None:
            continue
        raw = by_id[group.logical_id]
        name_prop = "LogGroupName" if raw.type[0].isupper() else "name"
        referenced = set(raw.refers(name_prop))
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


# ---------------------------------------------------------------- paths


def _at(value: Any, path: str, default: Any = _MISSING) -> Any:
    """The value at a dotted path; a one-element list on the way is Terraform's block: stepped into."""
    for step in path.split("."):
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, Unknown):
            return value
        if not isinstance(value, dict) or step not in value:
            return default
        value = value[step]
    return value


def _decoded(value: Any) -> Any:
    """JSON written as a string (`RedrivePolicy`, Terraform's `redrive_policy`) read as the object it is."""
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value
