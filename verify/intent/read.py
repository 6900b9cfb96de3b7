"""A template document → an `Intent`: every resource of a known kind with its normalised properties.

The form's resources (`verify.intent.forms`) are read through the rule tables (`verify.intent.rules`)
into declared resources; an API's stages and methods become parts of their API (a method labelled
with its path, walked up to the API's root); intent declared on another resource is attached where it
belongs (`verify.intent.links`); a declared name left to deploy time is taken from what the deployed
stack says, when it says it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from verify.intent.documents import Document
from verify.intent.evaluate import Names
from verify.intent.forms import (
    MISSING,
    Raw,
    at,
    cdktf_resources,
    cloudformation_resources,
    declared_property,
    terraform_resources,
)
from verify.intent.links import LINKERS, link_log_groups
from verify.intent.model import (
    CDK,
    CDKTF,
    CLOUDFORMATION,
    DeclaredProperty,
    DeclaredResource,
    Intent,
    Unknown,
)
from verify.intent.rules import CFN_TYPES, TF_TYPES, TypeRule, integer, number, text


def read_intent(document: Document, names: Names | None = None, stack: str | None = None) -> Intent:
    """Everything `document` declares that verify reads, resolved with what `names` knows."""
    names = names or Names()
    if document.form in (CDK, CLOUDFORMATION):
        raws, outputs = cloudformation_resources(document, names)
        rules = CFN_TYPES
    elif document.form == CDKTF:
        raws, outputs = cdktf_resources(document, names)
        rules = TF_TYPES
    else:
        raws, outputs = terraform_resources(document)
        rules = TF_TYPES
    by_id = {raw.id: raw for raw in raws}
    resources: dict[str, DeclaredResource] = {}
    ignored: Counter[str] = Counter()
    for raw in raws:
        rule = rules.get(raw.type)
        if rule is None:
            if raw.type not in LINKERS:
                ignored[raw.type] += 1
            continue
        resource = _declared(raw, rule, by_id, names.pseudo.get("AWS::Region"))
        told = _told_name(resource, rules, names)  # before linking: a log group is linked by name too
        resources[raw.id] = resource if told is None else replace(resource, physical_name=told)
    for raw in raws:
        link = LINKERS.get(raw.type)
        if link is not None:
            link(raw, resources, by_id)
    link_log_groups(resources, by_id)
    return Intent(
        form=document.form,
        source=document.source,
        stack=stack,
        resources=tuple(resources.values()),
        outputs=tuple(outputs),
        ignored=tuple(sorted(ignored.items())),
    )


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


def _declared(raw: Raw, rule: TypeRule, by_id: dict[str, Raw], region: str | None) -> DeclaredResource:
    if raw.type == "AWS::DynamoDB::GlobalTable":
        raw = _with_own_replica(raw, region)
    name: str | Unknown | None = None
    if rule.name is not None:
        value = at(raw.values, rule.name)
        if value is not MISSING:
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
        condition=raw.condition,
    )
    for prop_name, path, convert in rule.properties:
        prop = declared_property(raw, prop_name, path, convert)
        if prop is not None:
            resource = resource.with_property(prop)
    if raw.type.startswith("AWS::DynamoDB::") and isinstance(raw.written.get("StreamSpecification"), dict):
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


def _with_own_replica(raw: Raw, region: str | None) -> Raw:
    """A global table with the replica in the stack's own region under `Replica`: the one whose
    `Region` is `Ref: AWS::Region` (as CDK writes it), or names the region the outputs show, or the
    only one. With several and none of these, no replica's settings are taken: never a guess."""
    written, values = raw.written.get("Replicas"), raw.values.get("Replicas")
    if not isinstance(written, list) or not isinstance(values, list) or len(written) != len(values):
        return raw
    own = [
        i
        for i, (w, v) in enumerate(zip(written, values, strict=True))
        if isinstance(w, dict)
        and isinstance(v, dict)
        and (w.get("Region") == {"Ref": "AWS::Region"} or (region is not None and v.get("Region") == region))
    ]
    index = own[0] if len(own) == 1 else 0 if len(written) == 1 else None
    if index is None:
        return raw
    return replace(
        raw,
        written={**raw.written, "Replica": written[index]},
        values={**raw.values, "Replica": values[index]},
    )


def _stage_method_settings(
    resource: DeclaredResource, raw: Raw, values: Any, written: Any
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


def _label(resource: DeclaredResource, raw: Raw, by_id: dict[str, Raw]) -> str | None:
    if resource.part == "stage":
        stage = resource.value("stage_name")
        return stage if isinstance(stage, str) else None
    route = resource.value("route")
    if isinstance(route, str):
        return route
    method = resource.value("http_method")
    path = _resource_path(raw, by_id)
    return f"{method} {path}" if isinstance(method, str) and path is not None else None


def _resource_path(raw: Raw, by_id: dict[str, Raw]) -> str | None:
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
